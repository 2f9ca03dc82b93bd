//! A TLS endpoint in front of moto (or a fault proxy): AWS is reached over TLS in production,
//! so the tests must exercise rustls, the CA-bundle handling and, under qemu, ring on aarch64.
//!
//! Runs `scripts/tls_proxy.py` (the same proxy `make bench` uses) with the moto venv's Python.
//! It writes a throw-away CA to a private directory; a sidecar trusts it through
//! `AWS_CA_BUNDLE` or `SSL_CERT_FILE`. Like moto, the proxy exits when the pipe to its stdin
//! closes, so it never outlives the test process.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::moto::python;
use crate::util::workspace_root;

pub struct TlsProxy {
    port: u16,
    dir: PathBuf,
    child: Child,
    // Held open: the proxy exits when it closes.
    _stdin: ChildStdin,
}

impl TlsProxy {
    /// Starts a proxy that terminates TLS and forwards to `upstream` (`http://host:port`).
    pub fn start(upstream: &str) -> TlsProxy {
        let dir = std::env::temp_dir().join(format!(
            "sidecache-tls-{}-{}",
            std::process::id(),
            crate::util::unique("ca")
        ));
        let python = python();
        let mut child = Command::new(&python)
            .arg(workspace_root().join("scripts/tls_proxy.py"))
            .args(["--upstream", upstream, "--stdin-lifetime", "--dir"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}): run `make venv`", python.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stderr = child.stderr.take().expect("piped stderr");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read tls proxy stdout");
        let Some(port) = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse::<u16>().ok())
        else {
            let mut err = String::new();
            let _ = stderr.read_to_string(&mut err);
            panic!("tls proxy did not start (got {line:?}):\n{err}");
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        TlsProxy {
            port,
            dir,
            child,
            _stdin: stdin,
        }
    }

    /// `https://127.0.0.1:<port>`: an endpoint for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the CA that signed the proxy's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
