//! Secret values and the token never reach a log line, even at debug level.

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_absent;
use sidecache_tests::moto;
use sidecache_tests::util::unique;

use super::common::{param, secret, started_with, value_of};

#[tokio::test]
async fn debug_logs_contain_no_secret_values_or_token() {
    let id = unique("logs");
    let parameter_value = format!("param-plaintext-{id}");
    let secret_value = format!("secret-plaintext-{id}");
    let token = format!("token-{id}-c0ffee");
    let name = format!("/{id}/db-password");
    moto::put_parameter(&name, &parameter_value, ParameterType::SecureString).await;
    moto::create_secret(&id, &secret_value).await;

    let (_proxy, mut sc) = started_with(|b| {
        b.env("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "debug")
            .env("SIDECACHE_TOKEN", token.as_str())
            .client_token(Some(&token))
    })
    .await;
    let resp = sc.get(&param(&name, "&withDecryption=true")).await;
    assert_eq!(value_of(&resp), parameter_value);
    // A hit too: the cache path may log differently from the fetch path.
    assert_eq!(
        value_of(&sc.get(&param(&name, "&withDecryption=true")).await),
        parameter_value
    );
    let body = sc.get(&secret(&id, "")).await.ok_json();
    assert_eq!(body["SecretString"], secret_value.as_str());

    // Stop the process so every buffered line has been written before looking.
    let (_status, logs) = sc.stop().await;
    assert!(
        !logs.trim().is_empty(),
        "debug level produced no logs at all"
    );
    assert_absent(&logs, &parameter_value, "logs");
    assert_absent(&logs, &secret_value, "logs");
    assert_absent(&logs, &token, "logs");
}

/// A log line written into a pipe whose reader has gone fails with EPIPE and the extension
/// goes on: SIGPIPE is ignored, as std's own start-up would have it (the binary has its own C
/// `main`, docs/performance.md), and a lost log line is no reason to stop serving.
#[tokio::test]
async fn logging_into_a_pipe_without_a_reader_does_not_end_the_extension() {
    let (_proxy, mut sc) = started_with(|b| {
        b.env("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "debug")
            .stdout_reader_gone()
    })
    .await;
    // Each refusal writes a debug line to stdout.
    for _ in 0..3 {
        let refused = sc
            .get_with_headers(
                &param("/any", ""),
                &[("X-Aws-Parameters-Secrets-Token", "wrong")],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", sc.logs());
    }
    assert_eq!(sc.get("/ping").await.status, 200);
    let ended = sc.wait_exit(std::time::Instant::now()).await;
    assert!(
        ended.is_none(),
        "sidecache ended ({ended:?}); stderr:\n{}",
        sc.logs()
    );
}
