//! A fully read HTTP answer from the sidecar, with accessors for the headers the contract
//! defines (`X-Cache`, `Age`) and a JSON view that reports the body when it is not what the
//! test expected.

use serde_json::Value;

/// An HTTP answer from the sidecar, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The body as JSON, asserting status 200 first (the message shows the error body).
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, body: {}", self.text());
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("200 body is not JSON ({e}): {}", self.text()))
    }

    /// `X-Cache` (hit, miss, refresh, stale), if present.
    pub fn x_cache(&self) -> Option<String> {
        self.header("x-cache")
    }

    /// `Age` in seconds; panics when present but not a whole number.
    pub fn age(&self) -> Option<u64> {
        self.header("age").map(|a| {
            a.parse()
                .unwrap_or_else(|_| panic!("Age header {a:?} is not whole seconds"))
        })
    }
}
