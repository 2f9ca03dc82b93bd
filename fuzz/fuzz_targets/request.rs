//! HTTP/1 requests as sidecache's routing sees them: a head parsed (httparse, as hyper does) into
//! an `http::Request`, then what the server does before it asks `App` (`fuzzing::front`:
//! `awsapi::recognise`, the route table, `auth::Proofs`, the token or signature, the query, path
//! or JSON body), with every refusal rendered as its listener and API render it.
//!
//! The input is one byte (listener and what the target plants) and the request (head, then the
//! body after the blank line). The target plants secrets in the request: the token header
//! (right or wrong), or a session token in `X-Amz-Security-Token` for signed requests; the
//! credentials' secret key is never sent.
//!
//! Properties: no answer, refusals included, holds a planted secret in its status, headers or
//! body; `authorized_now` never accepts what `authorize` refuses; answers are 4xx or 5xx (or
//! `/ping`'s 200) and JSON where their dialect is JSON.

#![no_main]
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sidecache::auth::{authorized_now, Proofs};
use sidecache::fuzzing::*;

const TOKEN: &str = "sc-fuzz-token-7a3f9c2e5b1d4086";
const WRONG: &str = "sc-fuzz-wrong-4c8e1a6f0d2b9375";
const SESSION: &str = "sc-fuzz-session-e91b3d7c2a5f4068";
const SECRET: &str = "sc-fuzz-secret-58d2a0c7f3e1b946";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, raw)) = data.split_first() else {
        return;
    };
    // A secret that the request carries of itself is not ours to keep out of an answer.
    let secrets = [TOKEN, WRONG, SESSION, SECRET];
    if secrets
        .iter()
        .any(|s| raw.windows(s.len()).any(|w| w == s.as_bytes()))
    {
        return;
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = parsed.parse(raw) else {
        return;
    };
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return;
    };
    let mut builder = http::Request::builder().method(method).uri(path);
    // Planted first: the first value of a header is the one that counts.
    match mode & 3 {
        0 => builder = builder.header(TOKEN_HEADER, TOKEN),
        1 => builder = builder.header(TOKEN_HEADER, WRONG),
        2 => builder = builder.header("x-amz-security-token", SESSION),
        _ => {}
    }
    for header in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return; // hyper answers 400 itself
        };
        builder = builder.header(name, value);
    }
    let Ok(request) = builder.body(Bytes::copy_from_slice(&raw[head_len..])) else {
        return;
    };
    let door = match (mode >> 2) % 3 {
        0 => Listener::Main,
        1 => Listener::CloudExtensions,
        _ => Listener::Agent,
    };
    let auth = auth(
        TOKEN.as_bytes(),
        Credentials {
            access_key_id: "AKIDFUZZEXAMPLE".into(),
            secret_access_key: SECRET.into(),
            session_token: Some(SESSION.into()),
        },
    );

    if let Ok(proofs) = Proofs::of(request.headers()) {
        if let Some(Ok(signature)) = proofs.signature() {
            assert_eq!(signature.signature.len(), 64);
        }
    } else {
        assert!(request.headers().contains_key("x-forwarded-for"));
    }
    if authorized_now(&auth.token, request.headers()) {
        assert!(request.headers().get(TOKEN_HEADER).is_some());
        assert!(
            authorize(&auth, &request, "").is_ok(),
            "authorized_now accepts what authorize refuses"
        );
    }

    let Some(reply) = front(&auth, door, &request) else {
        return;
    };
    let answer = rendered(reply);
    for secret in secrets {
        assert!(
            !answer.contains(secret.as_bytes()),
            "the answer ({}) holds a secret of the request: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    let is_json = answer.headers.iter().any(|(name, value)| {
        name == "content-type"
            && (value.starts_with(b"application/json")
                || value.starts_with(b"application/x-amz-json"))
    });
    if answer.status == 200 {
        assert_eq!(request.uri().path(), "/ping");
    } else {
        assert!((400..600).contains(&answer.status), "{}", answer.status);
    }
    if is_json && !answer.body.is_empty() {
        let body: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("a JSON answer is JSON");
        if answer.status >= 400 {
            assert!(body["message"].is_string() || body["__type"].is_string());
        }
    }
});
