use super::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One request of AWS's suite, read from its `header-signed-request.txt`.
struct SuiteRequest {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn read_signed_request(text: &str) -> SuiteRequest {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    SuiteRequest {
        method: method.to_owned(),
        path,
        query,
        headers,
        body: body.trim_end_matches('\n').as_bytes().to_vec(),
    }
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth/sigv4/suite")
}

#[test]
fn aws_signing_suite_canonical_requests_and_signatures() {
    let mut checked = 0;
    for case in std::fs::read_dir(suite_dir()).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let read = |f: &str| std::fs::read_to_string(case.join(f)).ok();
        let request = read_signed_request(&read("header-signed-request.txt").unwrap());
        let authorization = request.headers["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let authorization =
            parse_authorization(authorization.trim()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let payload_hash = sha256_hex(&request.body);
        let signed = SignedRequest {
            method: &request.method,
            path: &request.path,
            query: request.query.as_deref(),
            headers: &request.headers,
            payload_hash: &payload_hash,
        };
        let canonical = canonical_request(&signed, &authorization).unwrap();
        let expected = read("header-canonical-request.txt").unwrap();
        assert_eq!(
            String::from_utf8_lossy(&canonical),
            expected.trim_end_matches('\n'),
            "{name}"
        );
        if let (Some(context), Some(expected)) =
            (read("context.json"), read("header-signature.txt"))
        {
            let context: serde_json::Value = serde_json::from_str(&context).unwrap();
            let secret = context["credentials"]["secret_access_key"]
                .as_str()
                .unwrap();
            let key = SigningKey::derive(secret, &authorization.scope);
            let amz_date = request.headers["x-amz-date"].to_str().unwrap();
            let computed = signature(&key, amz_date, &authorization.scope, &canonical);
            assert_eq!(computed, expected.trim(), "{name}");
            assert!(same_signature(&computed, authorization.signature), "{name}");
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} suite cases found");
}

/// A request signed by the SDK's own signer (`aws-sigv4`, what the Rust SDK sends) verifies with
/// ours, for each service's path encoding; any change to a signed part makes it fail.
#[test]
fn the_sdk_signer_and_this_verifier_agree() {
    let credentials = Credentials::new(
        "AKIDTEST",
        "secret/with+chars",
        Some("tok".into()),
        None,
        "t",
    );
    let identity = credentials.into();
    // (service, method, URI, headers besides host, body)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [u8],
    );
    let cases: &[Case] = &[
        (
            "ssm",
            "POST",
            "http://localhost:2773/",
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "AmazonSSM.GetParameter"),
                ("x-custom", "  spaced   out  value "),
            ],
            br#"{"Name":"/app/db","WithDecryption":true}"#,
        ),
        (
            "secretsmanager",
            "POST",
            "http://localhost:2773/parameterstore",
            &[("x-amz-target", "secretsmanager.GetSecretValue")],
            br#"{"SecretId":"prod/db"}"#,
        ),
        (
            "s3",
            "GET",
            "http://localhost:2773/my-bucket/dir/a%20key%2Bplus.txt?versionId=3%2Fx&x-id=GetObject",
            &[("range", "bytes=0-9")],
            b"",
        ),
    ];
    for (service, method, uri, extra, body) in cases {
        let mut settings = SigningSettings::default();
        if *service == "s3" {
            settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
            settings.uri_path_normalization_mode =
                aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind =
                aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name(service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let mut headers = vec![("host", "localhost:2773")];
        headers.extend_from_slice(extra);
        let signable = SignableRequest::new(
            method,
            *uri,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = http::Request::builder().method(*method).uri(*uri);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut request);

        let verify_with = |secret: &str, request: &http::Request<()>, body: &[u8]| -> bool {
            let headers = request.headers();
            let authorization =
                parse_authorization(headers["authorization"].to_str().unwrap()).unwrap();
            let body_hash = sha256_hex(body);
            let payload_hash = headers
                .get("x-amz-content-sha256")
                .map_or(body_hash.as_str(), |v| v.to_str().unwrap());
            let signed = SignedRequest {
                method: request.method().as_str(),
                path: request.uri().path(),
                query: request.uri().query(),
                headers,
                payload_hash,
            };
            let Ok(canonical) = canonical_request(&signed, &authorization) else {
                return false;
            };
            let key = SigningKey::derive(secret, &authorization.scope);
            let amz_date = headers["x-amz-date"].to_str().unwrap();
            let computed = signature(&key, amz_date, &authorization.scope, &canonical);
            same_signature(&computed, authorization.signature)
        };
        let verify = |request: &http::Request<()>, body: &[u8]| {
            verify_with("secret/with+chars", request, body)
        };
        assert!(verify(&request, body), "{service}: the SDK's signature");
        if *service == "s3" {
            // S3 signs the hash the client states; that the body has it is checked apart.
            let mut other = request.clone();
            other.headers_mut().insert(
                "x-amz-content-sha256",
                HeaderValue::from_static(UNSIGNED_PAYLOAD),
            );
            assert!(
                !verify(&other, body),
                "{service}: another stated payload hash"
            );
        } else {
            assert!(!verify(&request, b"{}"), "{service}: another body");
        }
        let mut other = request.clone();
        other.headers_mut().insert(
            "x-amz-target",
            HeaderValue::from_static("AmazonSSM.PutParameter"),
        );
        if extra.iter().any(|(n, _)| *n == "x-amz-target") {
            assert!(!verify(&other, body), "{service}: another target");
        }
        let mut other = request.clone();
        *other.method_mut() = http::Method::DELETE;
        assert!(!verify(&other, body), "{service}: another method");
        assert!(
            !verify_with("another secret", &request, body),
            "{service}: another secret key"
        );
    }
}

#[test]
fn authorization_headers_are_read_strictly() {
    let good = "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, \
                SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let parsed = parse_authorization(good).unwrap();
    assert_eq!(parsed.access_key_id, "AKID");
    assert_eq!(
        parsed.scope,
        Scope {
            date: "20261207",
            region: "us-east-1",
            service: "ssm"
        }
    );
    assert_eq!(parsed.signed_headers, "host;x-amz-date");
    // Components in another order, without spaces, are AWS's too.
    let reordered = "AWS4-HMAC-SHA256 Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef,Credential=AKID/20261207/us-east-1/ssm/aws4_request,SignedHeaders=host";
    assert!(parse_authorization(reordered).is_ok());
    for bad in [
        "",
        "Bearer x",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKID/2026127/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws5_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "AWS4-HMAC-SHA256 Credential=/20261207/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, SignedHeaders=Host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0123",
        "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "AWS4-HMAC-SHA256 Credential=a/20261207/r/s/aws4_request, Credential=a/20261207/r/s/aws4_request, SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        assert!(parse_authorization(bad).is_err(), "accepted {bad:?}");
    }
    assert_eq!(
        parse_authorization("AWS4-ECDSA-P256-SHA256 Credential=x"),
        Err(SigV4Error::UnsupportedAlgorithm)
    );
}

#[test]
fn dates_are_checked_against_the_scope_and_a_five_minute_window() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
    assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
    assert_eq!(parse_amz_date("20000229T235959Z"), Some(951_868_799));
    for bad in [
        "",
        "20150830T123600",
        "2015-08-30T12:36:00Z",
        "20151330T123600Z",
        "2015083OT123600Z",
    ] {
        assert_eq!(parse_amz_date(bad), None, "{bad}");
    }
    let scope = Scope {
        date: "20150830",
        region: "r",
        service: "s",
    };
    let at = 1_440_938_160;
    assert_eq!(check_date("20150830T123600Z", &scope, at + 300), Ok(()));
    assert_eq!(check_date("20150830T123600Z", &scope, at - 300), Ok(()));
    assert_eq!(
        check_date("20150830T123600Z", &scope, at + 301),
        Err(SigV4Error::Expired(-301))
    );
    assert_eq!(
        check_date("20150831T000000Z", &scope, at),
        Err(SigV4Error::ScopeDateMismatch)
    );
    assert!(check_date("20150830T123600Z", &scope, now).is_err());
}
