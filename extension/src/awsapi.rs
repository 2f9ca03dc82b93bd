//! AWS's own APIs on sidecache's listener, so that a stock AWS SDK in any language is a client
//! with no code change: the function sets `AWS_ENDPOINT_URL_SSM` and
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` to `http://localhost:2773` (docs/sdk.md).
//!
//! A second protocol, not a second application: requests are parsed into the same typed
//! requests the GET endpoints build and answered by the same `App` reads, so a value read one
//! way is a hit the other way, with the same TTLs, single-flight and stale-if-error. Only the
//! shapes differ (`shapes.rs`), and the errors (`errors.rs`).
//!
//! - `json.rs`: AWS JSON 1.1 (`POST /` or `/parameterstore` with `X-Amz-Target`), answered from
//!   the cache for the reads (`ssm.rs`, `secrets.rs`) and forwarded for everything else
//!   (`forward.rs`).
//! - `s3.rs`: S3 GetObject and HeadObject, path style, from the S3 file cache. The signature,
//!   not the path, says a request is for S3, so a bucket named `ping` never meets `/ping`.

pub(crate) mod appconfig;
pub(crate) mod errors;
mod forward;
pub(crate) mod json;
pub(crate) mod s3;
pub(crate) mod secrets;
mod shapes;
pub(crate) mod ssm;

use crate::app::App;
use crate::auth::{Caller, EMPTY_SHA256};
use crate::cache::Outcome;
use crate::error::AppError;
use crate::model::Target;
use crate::routes::{Door, Reply, ReplyBody};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;
use std::time::Duration;

const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
const JSON_11: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.1");
const REQUEST_ID_JSON: HeaderName = HeaderName::from_static("x-amzn-requestid");
const REQUEST_ID_S3: HeaderName = HeaderName::from_static("x-amz-request-id");
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// The largest request body read. SSM and Secrets Manager take at most 64 KiB of value
/// (PutSecretValue, base64 for binary) in far smaller documents than this.
pub const MAX_BODY: usize = 1 << 20;
/// A body must arrive within this long after the headers (which have their own timeout).
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which AWS API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// AWS JSON 1.1: a `POST` naming its operation in `X-Amz-Target`.
    Json,
    /// S3's REST API: any request signed for the `s3` service.
    S3,
}

/// The AWS API a request speaks, if any; `None` leaves it to the GET endpoints.
pub fn recognise<B>(request: &http::Request<B>) -> Option<Api> {
    let headers = request.headers();
    if request.method() == Method::POST && headers.contains_key(X_AMZ_TARGET) {
        return Some(Api::Json);
    }
    // `Credential=<key>/<date>/<region>/s3/aws4_request`
    let authorization = headers.get(header::AUTHORIZATION)?.as_bytes();
    memchr::memmem::find(authorization, b"/s3/aws4_request,").map(|_| Api::S3)
}

/// Answers a request in the API `recognise` found, on the listener `door`.
pub async fn serve<B>(app: &App, door: Door, api: Api, request: http::Request<B>) -> Reply
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match api {
        Api::Json => json::serve(app, door, request).await,
        Api::S3 => s3::serve(app, request).await,
    }
}

/// The whole request body, up to [`MAX_BODY`] and within [`BODY_TIMEOUT`]. A small body has
/// usually arrived with the headers: then it is taken as it is, without a timer or a copy.
/// A body over the limit is refused after what is left of it has been read and dropped
/// ([`drain`]).
async fn read_body<B>(mut body: B) -> Result<Bytes, AppError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = AppError::BodyTooLarge { limit: MAX_BODY };
    if body.size_hint().lower() > MAX_BODY as u64 {
        drain(body).await;
        return Err(too_large);
    }
    let mut whole = bytes::BytesMut::new();
    if let Some(first) = body.frame().now_or_never() {
        let data = match first {
            None => return Ok(Bytes::new()),
            Some(frame) => frame
                .map_err(|e| body_error(e.into()))?
                .into_data()
                .unwrap_or_default(),
        };
        if body.is_end_stream() && data.len() <= MAX_BODY {
            return Ok(data);
        }
        whole.extend_from_slice(&data);
    }
    let ended: Result<bool, AppError> = timed(async {
        while whole.len() <= MAX_BODY {
            match body.frame().await {
                None => return Ok(true),
                Some(frame) => {
                    if let Ok(data) = frame.map_err(|e| body_error(e.into()))?.into_data() {
                        whole.extend_from_slice(&data);
                    }
                }
            }
        }
        Ok(false)
    })
    .await?;
    if !ended? {
        drain(body).await;
        return Err(too_large);
    }
    Ok(whole.freeze())
}

/// How much of a refused body is read and dropped before the answer.
const DRAIN_LIMIT: usize = 8 * MAX_BODY;

/// Reads and drops what is left of a refused body (up to [`DRAIN_LIMIT`], within
/// [`BODY_TIMEOUT`]), so that a client still sending it reads the 413 that follows. Answered
/// at once, with the body unread, the connection closed on unread data: the kernel resets it,
/// and the client's send failed with a broken pipe before it read the answer (boto3's test
/// of a 2 MiB body, now and then).
async fn drain<B>(mut body: B)
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
{
    let mut dropped = 0;
    let _ = timed(async {
        while dropped <= DRAIN_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => dropped += frame.data_ref().map_or(0, Bytes::len),
                _ => return,
            }
        }
    })
    .await;
}

async fn timed<F: std::future::Future>(work: F) -> Result<F::Output, AppError> {
    tokio::time::timeout(BODY_TIMEOUT, work)
        .await
        .map_err(|_| AppError::BodyTimeout {
            seconds: BODY_TIMEOUT.as_secs(),
        })
}

fn body_error(error: Box<dyn std::error::Error + Send + Sync>) -> AppError {
    AppError::Serialization(format!("the request body could not be read: {error}"))
}

/// The hex SHA-256 a signature covers for `body` (none needed without a signature).
pub(crate) fn payload_hash(headers: &http::HeaderMap, body: &[u8]) -> String {
    if !headers.contains_key(header::AUTHORIZATION) {
        return String::new();
    }
    if body.is_empty() {
        return EMPTY_SHA256.to_owned();
    }
    crate::auth::sigv4::sha256_hex(body)
}

/// Where a signed request's values are read: the region its SDK client signed for, unless that
/// is the extension's own (then the GET endpoints' keys, so both ways share entries).
fn target_of(app: &App, caller: &Caller) -> Target {
    Target {
        region: caller
            .signed_region
            .clone()
            .filter(|region| Some(region) != app.region.as_ref()),
        role_arn: None,
    }
}

/// A successful JSON 1.1 answer: cached bytes (or a batch assembled from them) as they are, with
/// a clone of headers made once per outcome (cloning a made map is cheaper than inserting into
/// a new one), its request id and `Age` replaced in place. A batch has no single `Age`.
fn json_reply(body: Bytes, outcome: Outcome, age: Option<Duration>) -> Reply {
    static MADE: LazyLock<[HeaderMap; 4]> = LazyLock::new(|| {
        [
            Outcome::Hit,
            Outcome::Miss,
            Outcome::Refresh,
            Outcome::Stale,
        ]
        .map(|outcome| {
            let mut headers = HeaderMap::with_capacity(5);
            headers.insert(header::CONTENT_TYPE, JSON_11);
            headers.insert(REQUEST_ID_JSON, HeaderValue::from_static(""));
            headers.insert(X_CACHE, HeaderValue::from_static(outcome.as_str()));
            headers.insert(header::AGE, HeaderValue::from_static("0"));
            headers
        })
    });
    let index = match outcome {
        Outcome::Hit => 0,
        Outcome::Miss => 1,
        Outcome::Refresh => 2,
        Outcome::Stale => 3,
    };
    let mut reply = Reply::new(ReplyBody::full(body));
    let headers = reply.headers_mut();
    *headers = MADE[index].clone();
    for (name, value) in headers.iter_mut() {
        if *name == REQUEST_ID_JSON {
            *value = request_id();
        } else if *name == header::AGE {
            if let Some(age) = age {
                *value = crate::routes::age_header(age.as_secs());
            }
        }
    }
    if age.is_none() {
        headers.remove(header::AGE);
    }
    reply
}

/// The random base of request ids.
static REQUEST_ID_BASE: AtomicU64 = AtomicU64::new(0);

/// Draws the base of request ids again; at a SnapStart restore (`restore.rs`), so that copies
/// of one snapshot do not count from the same base.
pub fn draw_request_ids() {
    REQUEST_ID_BASE.store(crate::cache::TtlJitter::random_seed() | 1, Relaxed);
}

/// A request id in AWS's form (a UUID's 8-4-4-4-12 hex digits), unique within the process and
/// between processes: a random base (drawn on first use) plus a counter.
fn request_id() -> HeaderValue {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut base = REQUEST_ID_BASE.load(Relaxed);
    if base == 0 {
        draw_request_ids();
        base = REQUEST_ID_BASE.load(Relaxed);
    }
    let count = COUNT.fetch_add(1, Relaxed);
    let bits = (u128::from(base) << 64) | u128::from(count ^ base.rotate_left(17));
    let mut text = [b'-'; 36];
    let mut shift = 128;
    for (i, byte) in text.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        shift -= 4;
        *byte = DIGITS[((bits >> shift) & 15) as usize];
    }
    HeaderValue::from_bytes(&text).expect("hex digits and dashes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn request(method: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut builder = http::Request::builder().method(method).uri("/x/y");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn the_protocol_is_told_by_target_and_signature() {
        let json = request("POST", &[("x-amz-target", "AmazonSSM.GetParameter")]);
        assert_eq!(recognise(&json), Some(Api::Json));
        let s3 = "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(
            recognise(&request("GET", &[("authorization", s3)])),
            Some(Api::S3)
        );
        let ssm = s3.replace("/s3/", "/ssm/");
        assert_eq!(recognise(&request("GET", &[("authorization", &ssm)])), None);
        // A bucket named like an endpoint is still S3; a GET with a target is not JSON.
        assert_eq!(recognise(&request("GET", &[("x-amz-target", "a.b")])), None);
        assert_eq!(recognise(&request("GET", &[])), None);
    }

    #[test]
    fn request_ids_look_like_aws_and_differ() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        let text = a.to_str().unwrap();
        let parts: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{text}");
    }

    /// A body of `chunks` frames of `size` bytes, counting the frames read from it.
    fn chunked(
        chunks: usize,
        size: usize,
        read: Arc<AtomicUsize>,
    ) -> impl http_body::Body<Data = Bytes, Error = std::convert::Infallible> + Send + Unpin {
        let frames = (0..chunks).map(move |_| {
            read.fetch_add(1, Ordering::SeqCst);
            Ok(http_body::Frame::data(Bytes::from(vec![b'a'; size])))
        });
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_after_it_has_been_read() {
        let read = Arc::new(AtomicUsize::new(0));
        // 3 MiB without a length: refused, and every frame was read (none left on the socket
        // for the kernel to answer with a reset).
        let error = read_body(chunked(48, 64 << 10, read.clone()))
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::BodyTooLarge { .. }), "{error:?}");
        assert_eq!(read.load(Ordering::SeqCst), 48);
        // Exactly the limit is read whole.
        let whole = read_body(chunked(16, 64 << 10, Arc::default()))
            .await
            .unwrap();
        assert_eq!(whole.len(), MAX_BODY);
    }
}
