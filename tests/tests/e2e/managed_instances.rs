//! Lambda Managed Instances (`AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances`): INVOKE
//! subscriptions are refused (sidecache subscribes to SHUTDOWN alone), the environment is
//! never frozen, many invocations run at once (Python as separate worker processes sharing
//! `/tmp`), and SHUTDOWN comes after the runtime's 600 ms of the 2 s.

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;
use sidecache_tests::util::{unique, workspace_root};
use sidecache_tests::{moto, FakeLambda, Fault, FaultProxy, Sidecar};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::param;
use super::s3_support::{new_bucket, put};

const WORKERS: usize = 16;
const CONNECTIONS: usize = 300;
const WAIT: Duration = Duration::from_secs(20);
/// The S3 object's two versions: all `a`, then all `b` (sizes tell them apart too).
const SIZE_A: usize = 300_000;
const SIZE_B: usize = 450_000;

/// One GET on a new connection (`Connection: close`); the status line and body.
async fn get_once(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Aws-Parameters-Secrets-Token: test-token\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn many_readers_many_processes_one_upstream_call_whole_files() {
    let name = format!("/{}/p", unique("lmi"));
    moto::put_parameter(&name, "lmi-value", ParameterType::String).await;
    let secret = unique("lmi-secret");
    moto::create_secret(&secret, "lmi-secret-value").await;
    let bucket = new_bucket("lmi").await;
    put(&bucket, "config.bin", vec![b'a'; SIZE_A], None).await;

    let proxy = FaultProxy::start().await;
    let builder = Sidecar::builder(&proxy)
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances")
        .env("SIDECACHE_S3_TTL", "1");
    let fake = FakeLambda::start_managed_instances(builder.port()).await;
    let mut sc = builder.lambda(&fake).spawn().await;
    let registration = fake.wait_registered(WAIT).await.expect("registered");
    assert_eq!(registration.events, ["SHUTDOWN"]);

    // Hundreds of concurrent first reads of one value: one upstream call.
    proxy.set_fault(Fault::Latency(Duration::from_millis(300)));
    let path = param(&name, "");
    let readers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (port, path) = (sc.port(), path.clone());
            tokio::spawn(async move { get_once(port, &path).await })
        })
        .collect();
    for reader in readers {
        let answer = reader.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("lmi-value"), "{answer}");
    }
    assert_eq!(proxy.count("GetParameter"), 1, "{:?}", proxy.log());
    proxy.set_fault(Fault::None);

    // Version A cached, then B uploaded: the workers' forced revalidations replace the file
    // while other workers hold version A's open.
    let first = get_once(
        sc.port(),
        &format!("/s3/get?bucket={bucket}&key=config.bin"),
    )
    .await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    put(&bucket, "config.bin", vec![b'b'; SIZE_B], None).await;

    // Sixteen Python worker processes read at once.
    let worker = workspace_root().join("tests/support/lambda_worker.py");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            tokio::process::Command::new(moto::python())
                .arg(&worker)
                .args([
                    &sc.port().to_string(),
                    "test-token",
                    &name,
                    &secret,
                    &bucket,
                ])
                .args(["config.bin", "12", &SIZE_A.to_string(), &SIZE_B.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("start a Python worker")
        })
        .collect();
    let mut sizes_seen = std::collections::BTreeSet::new();
    for worker in workers {
        let out = tokio::time::timeout(Duration::from_secs(120), worker.wait_with_output())
            .await
            .expect("worker finished")
            .expect("worker output");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("worker JSON");
        assert_eq!(report["errors"], Value::Array(vec![]), "{report}");
        assert_eq!(report["reads"], 36, "{report}");
        sizes_seen.extend(report["sizes"].as_object().unwrap().keys().cloned());
    }
    assert!(
        sizes_seen.contains(&SIZE_B.to_string()),
        "the new version was never served: {sizes_seen:?}"
    );
    // Still one GetParameter: every worker's parameter read was a hit.
    assert_eq!(proxy.count("GetParameter"), 1);

    // Managed Instances' shutdown: SHUTDOWN 600 ms in, the deadline at 2 s.
    let deadline = fake.shutdown_managed();
    let status = sc.wait_exit(deadline).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}; logs:\n{}",
        sc.logs()
    );
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
