//! One moto server per test process, plus SDK clients that talk to it directly for seeding.
//!
//! moto is started lazily by the first test that needs it, from `tests/support/moto_runner.py`.
//! The runner exits when its stdin reaches EOF; the pipe's write end lives in a static here, so
//! moto dies with the test process however that process ends.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use aws_smithy_http_client::Builder as HttpClientBuilder;

use crate::util::workspace_root;

/// The default region of every sidecar and seeding client.
pub const REGION: &str = "us-east-1";

struct Moto {
    port: u16,
    // Never read: kept so the runner's stdin stays open for the life of the process.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The moto venv's Python (`MOTO_PYTHON` overrides it); other Python helpers run with it too.
pub fn python() -> PathBuf {
    match std::env::var_os("MOTO_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv/bin/python"),
    }
}

fn start() -> Moto {
    let python = python();
    let runner = workspace_root().join("tests/support/moto_runner.py");
    let mut child = Command::new(&python)
        .arg(&runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); set MOTO_PYTHON or create the venv: \
                 python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'",
                python.display()
            )
        });
    let stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut stderr = child.stderr.take().expect("piped stderr");

    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read moto runner stdout");
    let Some(port) = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse::<u16>().ok())
    else {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        panic!(
            "moto runner did not report READY (got {line:?}); is moto[server] installed for {}?\n{err}",
            python.display()
        );
    };
    // Keep draining both pipes so moto never blocks on a full pipe buffer.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    Moto {
        port,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    }
}

/// moto's port (started on first use).
pub fn port() -> u16 {
    MOTO.get_or_init(start).port
}

/// moto's base URL, e.g. `http://127.0.0.1:41234`.
pub fn endpoint() -> String {
    format!("http://127.0.0.1:{}", port())
}

// One explicit plain-HTTP client per seeding client (see the notes): no TLS stack, no proxy
// discovery, and its connection tasks belong to the calling test's runtime.
fn http_client() -> aws_sdk_ssm::config::SharedHttpClient {
    HttpClientBuilder::new().build_http()
}

// The same `Credentials` type is re-exported by every SDK crate.
fn credentials() -> aws_sdk_ssm::config::Credentials {
    aws_sdk_ssm::config::Credentials::new("testing", "testing", None, None, "e2e-static")
}

/// SSM client for moto in the default region.
pub fn ssm() -> aws_sdk_ssm::Client {
    ssm_in(REGION)
}

/// SSM client for moto in `region` (moto keeps one backend per region).
pub fn ssm_in(region: &str) -> aws_sdk_ssm::Client {
    use aws_sdk_ssm::config::{BehaviorVersion, Region};
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials())
        .endpoint_url(endpoint())
        .http_client(http_client())
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

/// Secrets Manager client for moto in the default region.
pub fn secrets() -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Region};
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .endpoint_url(endpoint())
        .http_client(http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// S3 client for moto, path-style (virtual hosts like `bucket.127.0.0.1` do not resolve).
pub fn s3() -> aws_sdk_s3::Client {
    s3_at(&endpoint())
}

/// S3 client for another endpoint in front of moto (e.g. a fault proxy); moto rejects
/// unsigned S3 reads, so raw HTTP clients cannot stand in for this.
pub fn s3_at(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Region};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(http_client())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates (or overwrites) a parameter in the default region and returns its new version.
pub async fn put_parameter(
    name: &str,
    value: &str,
    kind: aws_sdk_ssm::types::ParameterType,
) -> i64 {
    put_parameter_in(REGION, name, value, kind).await
}

/// Creates (or overwrites) a parameter in `region` and returns its new version.
pub async fn put_parameter_in(
    region: &str,
    name: &str,
    value: &str,
    kind: aws_sdk_ssm::types::ParameterType,
) -> i64 {
    ssm_in(region)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed parameter {name} in {region}: {e:?}"))
        .version()
}

/// Creates a string secret; returns (ARN, VersionId).
pub async fn create_secret(name: &str, value: &str) -> (String, String) {
    let out = secrets()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("seed secret {name}: {e:?}"));
    (
        out.arn().expect("ARN").to_owned(),
        out.version_id().expect("VersionId").to_owned(),
    )
}
