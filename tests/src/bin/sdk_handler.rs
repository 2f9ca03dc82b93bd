//! `sdk-handler`: a stand-in for a Lambda handler's own code, reading values with the stock AWS
//! SDK for Rust configured from its environment and nothing else, as a function configured for
//! sidecache would be (`AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
//! `AWS_ENDPOINT_URL_S3`). The e2e tests (`e2e::sdk_rust`) run it as a child process with
//! that environment, so the SDK resolves its endpoints exactly as in a function.
//!
//! Usage: `sdk-handler '<JSON list of calls>'`, e.g.
//! `[{"op":"get_parameter","name":"/app/db","decrypt":true}]`; prints a JSON list of results,
//! one per call: `{"ok": <what the SDK returned>}` or `{"error": {"code", "status", "modeled"}}`.
//!
//! The only code a function would not have: the explicit plain-HTTP client (the workspace builds
//! the SDK without its default TLS stack) and `force_path_style` for S3 (which sidecache needs,
//! as docs/sdk.md says).

use aws_config::BehaviorVersion;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::Builder as HttpClientBuilder;
use serde_json::{json, Value};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(calls) = std::env::args()
        .nth(1)
        .and_then(|a| serde_json::from_str::<Vec<Value>>(&a).ok())
    else {
        eprintln!("usage: sdk-handler '<JSON list of calls>'");
        return ExitCode::from(2);
    };
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(HttpClientBuilder::new().build_http())
        .load()
        .await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let mut results = Vec::new();
    for call in &calls {
        let s = |field: &str| call[field].as_str().unwrap_or_default().to_owned();
        let result = match call["op"].as_str().unwrap_or_default() {
            "get_parameter" => ssm
                .get_parameter()
                .name(s("name"))
                .with_decryption(call["decrypt"].as_bool().unwrap_or(false))
                .send()
                .await
                .map(|o| {
                    let p = o.parameter().expect("Parameter");
                    json!({
                        "name": p.name(), "value": p.value(), "version": p.version(),
                        "type": p.r#type().map(|t| t.as_str()), "selector": p.selector(),
                        "last_modified": p.last_modified_date().map(|d| d.secs()),
                        "arn": p.arn(),
                    })
                })
                .map_err(error),
            "get_parameters" => ssm
                .get_parameters()
                .set_names(serde_json::from_value(call["names"].clone()).ok())
                .with_decryption(call["decrypt"].as_bool().unwrap_or(false))
                .send()
                .await
                .map(|o| {
                    json!({
                        "values": o.parameters().iter().map(|p| json!([p.name(), p.value()])).collect::<Vec<_>>(),
                        "invalid": o.invalid_parameters(),
                    })
                })
                .map_err(error),
            "by_path" => {
                // The SDK's own paginator, as a handler reading a whole tree would use it.
                let mut pages = ssm
                    .get_parameters_by_path()
                    .path(s("path"))
                    .recursive(call["recursive"].as_bool().unwrap_or(false))
                    .max_results(call["page"].as_i64().unwrap_or(10) as i32)
                    .into_paginator()
                    .send();
                let (mut names, mut count) = (Vec::new(), 0);
                let mut failed = None;
                while let Some(page) = pages.next().await {
                    match page {
                        Ok(page) => {
                            count += 1;
                            names.extend(page.parameters().iter().map(|p| p.name().map(str::to_owned)));
                        }
                        Err(e) => {
                            failed = Some(error(e));
                            break;
                        }
                    }
                }
                match failed {
                    Some(e) => Err(e),
                    None => Ok(json!({"pages": count, "names": names})),
                }
            }
            "put_parameter" => ssm
                .put_parameter()
                .name(s("name"))
                .value(s("value"))
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(call["overwrite"].as_bool().unwrap_or(true))
                .send()
                .await
                .map(|o| json!({"version": o.version()}))
                .map_err(error),
            "get_secret" => secrets
                .get_secret_value()
                .secret_id(s("id"))
                .send()
                .await
                .map(|o| {
                    json!({
                        "name": o.name(), "string": o.secret_string(),
                        "binary": o.secret_binary().map(|b| b.as_ref().to_vec()),
                        "version_id": o.version_id(), "stages": o.version_stages(),
                        "created": o.created_date().map(|d| d.secs()),
                    })
                })
                .map_err(error),
            "batch_secrets" => secrets
                .batch_get_secret_value()
                .set_secret_id_list(serde_json::from_value(call["ids"].clone()).ok())
                .send()
                .await
                .map(|o| {
                    json!({
                        "values": o.secret_values().iter().map(|v| json!([v.name(), v.secret_string()])).collect::<Vec<_>>(),
                        "errors": o.errors().iter().map(|e| json!([e.secret_id(), e.error_code()])).collect::<Vec<_>>(),
                    })
                })
                .map_err(error),
            "get_object" => {
                let mut get = s3.get_object().bucket(s("bucket")).key(s("key"));
                if let Some(range) = call["range"].as_str() {
                    get = get.range(range);
                }
                match get.send().await {
                    Ok(o) => {
                        let (etag, length, range) = (
                            o.e_tag().map(str::to_owned),
                            o.content_length(),
                            o.content_range().map(str::to_owned),
                        );
                        let bytes = o.body.collect().await.map(|b| b.into_bytes().to_vec());
                        Ok(json!({"etag": etag, "length": length, "range": range,
                                  "bytes": bytes.map_err(|e| e.to_string()).ok()}))
                    }
                    Err(e) => Err(error(e)),
                }
            }
            "put_object" => s3
                .put_object()
                .bucket(s("bucket"))
                .key(s("key"))
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .map(|_| json!({}))
                .map_err(error),
            other => Err(json!({"code": "BadCall", "message": other})),
        };
        results.push(match result {
            Ok(ok) => json!({ "ok": ok }),
            Err(error) => json!({ "error": error }),
        });
    }
    println!("{}", Value::Array(results));
    ExitCode::SUCCESS
}

/// What a handler sees of an SDK error: the modeled error's code and the HTTP status.
fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E, HttpResponse>,
) -> Value {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e
        .as_service_error()
        .and_then(|s| s.code().map(str::to_owned));
    json!({"code": code, "status": status, "kind": format!("{e}")})
}
