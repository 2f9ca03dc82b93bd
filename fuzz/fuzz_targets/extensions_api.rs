//! Lambda Extensions API answers (extensions_api.rs): a `/event/next` body as the extension reads
//! it, and `AWS_LAMBDA_RUNTIME_API` as the root of every call.
//!
//! The input is the runtime API value (first line) and the event body (the rest).
//!
//! Properties: any body is an event or a `Malformed` error, never a panic; a SHUTDOWN written
//! back in Lambda's shape reads back the same; any other event type is an INVOKE; the root is an
//! `http://` URL without a trailing `/` that a request URI can be made of when the value is one.

#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sidecache::fuzzing::*;

fuzz_target!(|data: &[u8]| {
    let (api, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    match next_event(body) {
        Ok(Event::Shutdown {
            reason,
            deadline_ms,
        }) => {
            assert_eq!(reason, reason.to_ascii_lowercase());
            let again = json!({
                "eventType": "SHUTDOWN",
                "deadlineMs": deadline_ms,
                "shutdownReason": reason,
            });
            let again = next_event(&serde_json::to_vec(&again).unwrap()).unwrap();
            assert_eq!(
                again,
                Event::Shutdown {
                    reason,
                    deadline_ms
                }
            );
        }
        Ok(Event::Invoke) => {
            // serde skips unknown members unread (invalid UTF-8 in them included), which a
            // `Value` cannot hold: only checked where the body is a `Value` too.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
                let kind = value
                    .get("eventType")
                    .or_else(|| value.get(0))
                    .and_then(|v| v.as_str());
                assert!(kind.is_some_and(|k| !k.eq_ignore_ascii_case("SHUTDOWN")));
            }
        }
        Err(ApiError::Malformed { .. }) => {}
        Err(other) => panic!("an event body is read or Malformed: {other}"),
    }

    let Ok(api) = std::str::from_utf8(api) else {
        return;
    };
    let root = runtime_api_root(api);
    assert!(root.starts_with("http://"));
    assert!(!root[7..].ends_with('/'), "{root}");
    let plain = api.trim();
    if !plain.is_empty()
        && plain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-'))
    {
        let uri = format!("{root}/2020-01-01/extension/event/next");
        if let Ok(uri) = uri.parse::<http::Uri>() {
            assert_eq!(uri.scheme_str(), Some("http"));
            assert!(
                uri.path().ends_with("/2020-01-01/extension/event/next"),
                "{uri}"
            );
        }
    }
});
