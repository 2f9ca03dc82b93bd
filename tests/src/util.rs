//! Small helpers shared by the harness and the tests: paths, ports, unique names, polling.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The cargo workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent directory")
        .to_path_buf()
}

/// A loopback port that was free a moment ago. The OS hands out ephemeral ports round-robin,
/// so the short window before the sidecar binds it is not a practical race.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

/// A name no other test in this process uses. moto is shared by every test of the process,
/// so every parameter, secret and bucket a test creates carries one of these.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("e2e-{tag}-{}-{n}", std::process::id())
}

/// Percent-encodes a query-string value (`/` becomes `%2F`, as a careful client would send it).
pub fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Polls `probe` every 50 ms until it returns `Some`, or gives up after `timeout` and returns
/// `None`. Tests use this instead of sleeping for a fixed time and hoping.
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Milliseconds since the Unix epoch, the clock the Lambda API uses for `deadlineMs`.
pub fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// `time` as RFC 3339 in UTC (`2026-12-04T13:00:00Z`), as AWS credentials endpoints write it.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let time = time::OffsetDateTime::from(time)
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    time.format(&time::format_description::well_known::Rfc3339)
        .expect("a time after 1970 formats")
}
