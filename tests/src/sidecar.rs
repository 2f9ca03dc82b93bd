//! Runs the real `sidecache` binary as a child process with a controlled environment, and
//! talks to it over HTTP like a Lambda handler would.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_lambda::FakeLambda;
use crate::fault_proxy::FaultProxy;
use crate::resp::Resp;
use crate::util::{free_port, workspace_root};

pub const PORT_VAR: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";
const DEFAULT_TOKEN: &str = "test-token";

/// Names the binary under test (default: `<workspace>/target/debug/sidecache`).
pub const BIN_VAR: &str = "SIDECACHE_BIN";
/// A command the binary is run through, split at whitespace: `qemu-aarch64-static` runs an
/// aarch64 build on this x86_64 machine (binfmt_misc is not mounted, so it cannot be exec'd
/// directly). Unset or empty: the binary is exec'd itself.
pub const RUNNER_VAR: &str = "SIDECACHE_TEST_RUNNER";

/// The binary under test: `$SIDECACHE_BIN`, else `<workspace>/target/debug/sidecache`.
pub fn binary() -> PathBuf {
    let path = match std::env::var_os(BIN_VAR) {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target/debug/sidecache"),
    };
    assert!(
        path.is_file(),
        "sidecache binary not found at {}: run `cargo build -p sidecache` (or `make test`) first, \
         or point SIDECACHE_BIN at it",
        path.display()
    );
    path
}

/// A command that runs the binary under test, through `$SIDECACHE_TEST_RUNNER` when set. Every
/// place that starts sidecache goes through here, so one variable moves the whole suite to
/// another build or architecture.
pub fn command() -> Command {
    let runner = std::env::var(RUNNER_VAR).unwrap_or_default();
    let mut runner = runner.split_whitespace();
    match runner.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(runner).arg(binary());
            cmd
        }
        None => Command::new(binary()),
    }
}

/// A private directory (the child's HOME, so no `~/.aws` is read; and its S3 cache dir).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sidecache-e2e-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Environment and client settings for one sidecar process.
pub struct SidecarBuilder {
    env: BTreeMap<String, String>,
    port: u16,
    token: Option<String>,
    home: TempDir,
    stdout_reader_gone: bool,
}

impl SidecarBuilder {
    /// Defaults: a free port, us-east-1, static test credentials, token `test-token`, and
    /// every AWS call sent to `endpoint` (normally the test's fault proxy).
    pub fn new(endpoint: &str) -> Self {
        let port = free_port();
        let home = TempDir::new();
        let mut env = BTreeMap::new();
        for (key, value) in [
            (PORT_VAR, port.to_string()),
            ("AWS_REGION", crate::moto::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("SIDECACHE_TOKEN", DEFAULT_TOKEN.to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            // Parallel sidecars must not share the default /tmp/sidecache/s3.
            ("SIDECACHE_S3_DIR", home.0.join("s3").display().to_string()),
        ] {
            env.insert(key.to_owned(), value);
        }
        SidecarBuilder {
            env,
            port,
            token: Some(DEFAULT_TOKEN.to_owned()),
            home,
            stdout_reader_gone: false,
        }
    }

    /// The port the sidecar is told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The private HOME directory of the child (e.g. to place a token file).
    pub fn home(&self) -> &Path {
        &self.home.0
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// The value the child will get for `key`, if set (e.g. `SIDECACHE_S3_DIR`).
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// The token the test client sends (None: send no token header).
    pub fn client_token(mut self, token: Option<&str>) -> Self {
        self.token = token.map(str::to_owned);
        self
    }

    /// Closes the reading end of the child's stdout as soon as it runs: every later log line
    /// is written into a pipe without a reader (`logs` then holds stderr only).
    pub fn stdout_reader_gone(mut self) -> Self {
        self.stdout_reader_gone = true;
        self
    }

    /// Runs in Lambda mode against `fake`.
    pub fn lambda(self, fake: &FakeLambda) -> Self {
        let api = fake.runtime_api();
        self.env("AWS_LAMBDA_RUNTIME_API", api)
    }

    fn launch(self) -> Sidecar {
        let port = self
            .env
            .get(PORT_VAR)
            .and_then(|p| p.parse().ok())
            .unwrap_or(self.port);
        let mut cmd = command();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home.0)
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // If the test process dies without running destructors, take the sidecar with it.
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn sidecache");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut readers = vec![capture(child.stderr.take().expect("stderr"), logs.clone())];
        let stdout = child.stdout.take().expect("stdout");
        if !self.stdout_reader_gone {
            readers.push(capture(stdout, logs.clone()));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("reqwest client");
        Sidecar {
            child,
            port,
            token: self.token,
            logs,
            readers,
            http,
            _home: self.home,
        }
    }

    /// Starts the sidecar and waits (max 10 s) until `GET /ping` answers 200.
    pub async fn spawn(self) -> Sidecar {
        let mut sidecar = self.launch();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = sidecar.child.try_wait() {
                let logs = sidecar.finish_logs();
                panic!("sidecache exited during start-up with {status}; logs:\n{logs}");
            }
            let ping = sidecar
                .http
                .get(sidecar.url("/ping"))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if matches!(&ping, Ok(r) if r.status() == 200) {
                return sidecar;
            }
            if Instant::now() >= deadline {
                panic!(
                    "sidecache did not answer GET /ping with 200 within 10 s (last: {ping:?}); logs:\n{}",
                    sidecar.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the sidecar expecting it to exit by itself within 10 s (start-up failures);
    /// returns its exit status and everything it logged.
    pub async fn spawn_expect_exit(self) -> (ExitStatus, String) {
        let mut sidecar = self.launch();
        match sidecar
            .wait_exit(Instant::now() + Duration::from_secs(10))
            .await
        {
            Some(status) => (status, sidecar.finish_logs()),
            None => panic!(
                "sidecache was expected to exit but is still running after 10 s; logs:\n{}",
                sidecar.logs()
            ),
        }
    }
}

fn capture(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A running sidecar; killed when dropped.
pub struct Sidecar {
    child: Child,
    port: u16,
    token: Option<String>,
    logs: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
    http: reqwest::Client,
    _home: TempDir,
}

impl Sidecar {
    /// A builder whose AWS endpoint is `proxy`.
    pub fn builder(proxy: &FaultProxy) -> SidecarBuilder {
        SidecarBuilder::new(&proxy.url())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.port)
    }

    /// Everything written to stdout and stderr so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// GET with the token header.
    pub async fn get(&self, path_and_query: &str) -> Resp {
        self.get_with_headers(path_and_query, &[]).await
    }

    /// GET with extra headers; the token header is added unless `headers` sets it.
    pub async fn get_with_headers(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(self.url(path_and_query));
        let has_token = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(TOKEN_HEADER));
        if let (false, Some(token)) = (has_token, &self.token) {
            req = req.header(TOKEN_HEADER, token);
        }
        for (key, value) in headers {
            req = req.header(*key, *value);
        }
        self.send(req).await
    }

    /// GET with the token header, returned as soon as the head arrives so that a large body
    /// can be consumed chunk by chunk (`get` would hold all of it in memory).
    pub async fn get_streaming(&self, path_and_query: &str) -> reqwest::Response {
        let mut req = self.http.get(self.url(path_and_query));
        if let Some(token) = &self.token {
            req = req.header(TOKEN_HEADER, token);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("request to sidecache failed: {e}; logs:\n{}", self.logs()))
    }

    /// GET without any token header.
    pub async fn get_without_token(&self, path_and_query: &str) -> Resp {
        self.send(self.http.get(self.url(path_and_query))).await
    }

    /// POST (empty body) with the token header.
    pub async fn post(&self, path_and_query: &str) -> Resp {
        let mut req = self.http.post(self.url(path_and_query));
        if let Some(token) = &self.token {
            req = req.header(TOKEN_HEADER, token);
        }
        self.send(req).await
    }

    /// `GET /stats` as JSON (asserting 200).
    pub async fn stats(&self) -> Value {
        self.get("/stats").await.ok_json()
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to sidecache failed: {e}; logs:\n{}", self.logs()));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| {
                panic!("reading sidecache body failed: {e}; logs:\n{}", self.logs())
            })
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Sends a signal (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.child.id());
    }

    /// Polls until the process exits or `deadline` passes (None: still running).
    pub async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGTERM, wait up to 5 s (then SIGKILL), and return the complete logs.
    pub async fn stop(&mut self) -> (Option<ExitStatus>, String) {
        if self.child.try_wait().expect("try_wait").is_none() {
            self.signal(libc::SIGTERM);
        }
        let status = self
            .wait_exit(Instant::now() + Duration::from_secs(5))
            .await;
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        (status, self.finish_logs())
    }

    /// The logs once the output pipes are closed (the process has exited), waiting up to 2 s
    /// for the reader threads to drain them.
    fn finish_logs(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.logs()
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
