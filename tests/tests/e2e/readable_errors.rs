//! Upstream answers the SDK cannot read (an HTML error page, XML to a JSON API, garbage) give
//! an error message a person can act on: service, operation, HTTP status and the AWS error code
//! when there is one; never the SDK's debug dump (`ServiceError(ServiceError { source:
//! Unhandled(...`). The debug-level log may carry more, but never a value from the answer.

use sidecache_tests::check::{assert_absent, assert_api_error};
use sidecache_tests::{Fault, FaultProxy, Sidecar};

use super::common::{param, secret, started, started_with};

const HTML_500: &str = "<html><head><title>500 Internal Server Error</title></head>\
    <body><h1>Internal Server Error</h1></body></html>";

fn raw(status: u16, content_type: &str, body: &str) -> Fault {
    Fault::Raw {
        status,
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    }
}

/// GETs `path` and asserts a JSON error with `status` whose message contains every one of
/// `expected` and nothing that looks like Rust debug output. Returns the message.
async fn assert_readable(sc: &Sidecar, path: &str, status: u16, expected: &[&str]) -> String {
    let body = assert_api_error(&sc.get(path).await, status, None);
    let message = body["message"].as_str().unwrap().to_owned();
    for part in expected {
        assert!(message.contains(part), "{part:?} missing in {message:?}");
    }
    for debug in [
        "ServiceError",
        "Unhandled",
        "{",
        "}",
        "Some(",
        "source:",
        "raw:",
    ] {
        assert!(
            !message.contains(debug),
            "debug text {debug:?} in {message:?}"
        );
    }
    message
}

#[tokio::test]
async fn html_500_page_names_service_operation_and_status() {
    let (proxy, sc) = started().await;
    proxy.set_fault(raw(500, "text/html", HTML_500));
    let message = assert_readable(
        &sc,
        &param("/readable/html", ""),
        502,
        &["SSM", "GetParameter", "HTTP 500"],
    )
    .await;
    assert_eq!(
        message,
        "SSM GetParameter failed: HTTP 500, the answer could not be read"
    );
    assert!(proxy.count("GetParameter") >= 1);
}

#[tokio::test]
async fn xml_to_a_json_api_is_readable() {
    let (proxy, sc) = started().await;
    let xml = "<?xml version=\"1.0\"?><ErrorResponse><Error><Code>Oops</Code>\
               <Message>x</Message></Error></ErrorResponse>";
    proxy.set_fault(raw(400, "text/xml", xml));
    assert_readable(
        &sc,
        &secret("readable-xml", ""),
        400,
        &["Secrets Manager", "GetSecretValue", "HTTP 400"],
    )
    .await;
}

#[tokio::test]
async fn aws_error_code_and_message_are_passed_on() {
    let (proxy, sc) = started().await;
    proxy.set_fault(Fault::Error {
        status: 400,
        code: "AccessDeniedException".into(),
    });
    let message =
        assert_readable(&sc, &param("/readable/denied", ""), 403, &["GetParameter"]).await;
    assert_eq!(
        message,
        "SSM GetParameter failed: HTTP 400, AccessDeniedException: injected"
    );
}

/// A 200 whose body is not the JSON the operation returns; the value-like text in it must not
/// reach the error body or even the debug log.
#[tokio::test]
async fn garbage_success_answers_are_readable_and_leak_nothing() {
    let (proxy, mut sc) =
        started_with(|b| b.env("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "debug")).await;
    let leak = "value-that-must-not-leak";
    proxy.set_fault(raw(
        200,
        "application/x-amz-json-1.1",
        &format!("{{\"Parameter\": {{\"Value\": \"{leak}\", \"Version\": \"not-a-number\""),
    ));
    let message = assert_readable(
        &sc,
        &param("/readable/garbage", ""),
        502,
        &["SSM", "GetParameter", "HTTP 200"],
    )
    .await;
    assert_absent(&message, leak, "error message");
    proxy.set_fault(raw(200, "application/x-amz-json-1.1", "%%% not json"));
    assert_readable(
        &sc,
        "/systemsmanager/parameters/get-many?names=/readable/a,/readable/b",
        502,
        &["SSM", "GetParameters", "HTTP 200"],
    )
    .await;
    assert_readable(
        &sc,
        "/systemsmanager/parameters/by-path?path=/readable",
        502,
        &["SSM", "GetParametersByPath", "HTTP 200"],
    )
    .await;
    let (_, logs) = sc.stop().await;
    assert!(
        logs.contains("SDK error detail"),
        "debug detail expected in the debug log:\n{logs}"
    );
    assert_absent(&logs, leak, "debug log");
}

#[tokio::test]
async fn s3_html_error_page_is_readable() {
    let proxy = FaultProxy::start().await;
    let sc = Sidecar::builder(&proxy).spawn().await;
    proxy.set_fault(raw(502, "text/html", HTML_500));
    assert_readable(
        &sc,
        "/s3/get?bucket=readable-bucket&key=k.txt",
        502,
        &["S3", "GetObject", "HTTP 502"],
    )
    .await;
}
