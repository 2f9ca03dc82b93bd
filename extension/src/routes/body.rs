//! The body of every response: cached bytes as they are, or anything axum builds.
//!
//! A hit sends `Entry` bytes; wrapping them in `axum::body::Body` would box them (one
//! allocation and a dynamic call per frame). Errors, `/stats` and S3 file streams are rare
//! enough to keep axum's body.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

pub enum ReplyBody {
    /// The whole body in one buffer; `None` once sent.
    Full(Option<Bytes>),
    Axum(axum::body::Body),
}

pub type Reply = http::Response<ReplyBody>;

impl ReplyBody {
    pub fn full(bytes: Bytes) -> Self {
        ReplyBody::Full(Some(bytes))
    }
}

impl From<axum::response::Response> for ReplyBody {
    fn from(response: axum::response::Response) -> Self {
        ReplyBody::Axum(response.into_body())
    }
}

/// An axum response (errors, JSON documents) as a `Reply`.
pub fn from_axum(response: axum::response::Response) -> Reply {
    response.map(ReplyBody::Axum)
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.get_mut() {
            ReplyBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ReplyBody::Axum(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReplyBody::Full(bytes) => bytes.is_none(),
            ReplyBody::Axum(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReplyBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len()) as u64)
            }
            ReplyBody::Axum(body) => body.size_hint(),
        }
    }
}
