//! Assertions on the product's HTTP contract that many tests share, so that every test checks
//! an error body or a timestamp the same (strict) way.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::resp::Resp;

/// Asserts an error answer: the expected status and a JSON body `{"__type": <non-empty string>,
/// "message": <non-empty string>}`. With `code`, `__type` must equal it (used for not-found,
/// where the contract passes the upstream code through). Returns the body for further checks.
pub fn assert_api_error(resp: &Resp, status: u16, code: Option<&str>) -> Value {
    assert_eq!(
        resp.status,
        status,
        "expected HTTP {status}, got {} with body {}",
        resp.status,
        resp.text()
    );
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or_else(|e| {
        panic!(
            "error body (HTTP {}) is not JSON ({e}): {:?}",
            resp.status,
            resp.text()
        )
    });
    let kind = body["__type"].as_str().unwrap_or_default();
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!kind.is_empty(), "`__type` missing or empty in {body}");
    assert!(!message.is_empty(), "`message` missing or empty in {body}");
    if let Some(code) = code {
        assert_eq!(kind, code, "`__type` in {body}");
    }
    body
}

/// Asserts that a JSON value is an RFC 3339 timestamp in UTC (`Z` or `+00:00`).
pub fn assert_rfc3339_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} should be an RFC 3339 string, got {value}"));
    let parsed = OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|e| panic!("{what} = {text:?} is not RFC 3339: {e}"));
    assert!(parsed.offset().is_utc(), "{what} = {text:?} is not UTC");
    // A timestamp of a value created moments ago: catches seconds-vs-millis confusions.
    let age = OffsetDateTime::now_utc() - parsed;
    assert!(
        age.whole_days().abs() < 2,
        "{what} = {text:?} is far from now; unit confusion?"
    );
}

/// Asserts that `object` has exactly these keys (drop-in compatibility: the AWS extension's
/// field names, absent values as `null` rather than missing).
pub fn assert_keys(object: &Value, expected: &[&str], what: &str) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{what} should be a JSON object, got {object}"));
    let mut actual: Vec<&str> = map.keys().map(String::as_str).collect();
    actual.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    assert_eq!(actual, wanted, "field names of {what}: {object}");
}

/// The unsigned integer at a JSON pointer, panicking with the whole document when absent.
pub fn num(doc: &Value, pointer: &str) -> u64 {
    doc.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} should be an unsigned integer in {doc}"))
}

/// Asserts that no byte sequence of `needle` appears in `haystack` (bodies and logs).
pub fn assert_absent(haystack: &str, needle: &str, what: &str) {
    assert!(
        !haystack.contains(needle),
        "{what} must not contain {needle:?}, but it does:\n{haystack}"
    );
}
