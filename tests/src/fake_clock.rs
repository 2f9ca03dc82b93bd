//! A SnapStart restore, reproduced on the real binary: libfaketime (Debian's `libfaketime`)
//! interposes the process's wall clock, leaving the monotonic clock alone
//! (`DONT_FAKE_MONOTONIC=1`). Stopping the process, moving its wall clock forward and
//! continuing it is what a restore looks like from inside: the wall clock has jumped, the
//! monotonic clock has not counted the gap.

use std::path::PathBuf;
use std::time::Duration;

use crate::sidecar::{Sidecar, SidecarBuilder};

/// How long the process stays stopped while its clock moves. The offset, not this pause, is
/// what the process sees: libfaketime reads the file at every clock read (`FAKETIME_NO_CACHE`).
const STOPPED: Duration = Duration::from_millis(100);

/// One process's faked wall clock: an offset file libfaketime reads.
pub struct FakeClock {
    offset_file: PathBuf,
}

impl FakeClock {
    /// A clock at the real time (`+0`); `apply` it to a sidecar before it starts.
    pub fn new(tag: &str) -> Self {
        let offset_file = std::env::temp_dir().join(format!(
            "sidecache-faketime-{}-{}",
            crate::util::unique(tag),
            std::process::id()
        ));
        std::fs::write(&offset_file, "+0\n").expect("write the faketime offset file");
        FakeClock { offset_file }
    }

    /// The environment that puts the sidecar's wall clock under this fake.
    pub fn apply(&self, builder: SidecarBuilder) -> SidecarBuilder {
        builder
            .env("LD_PRELOAD", library().display().to_string())
            .env(
                "FAKETIME_TIMESTAMP_FILE",
                self.offset_file.display().to_string(),
            )
            // Read the offset file at every clock read: with a cache (`FAKETIME_CACHE_DURATION`)
            // the new offset was not always seen after the process continued.
            .env("FAKETIME_NO_CACHE", "1")
            .env("DONT_FAKE_MONOTONIC", "1")
    }

    /// A SnapStart restore `offset` (libfaketime's syntax: `+2d`, `+30m`, `-1h`) after the
    /// clock's start: the process is stopped, its wall clock moved, and it is continued a
    /// moment later.
    pub async fn restore(&self, sidecar: &Sidecar, offset: &str) {
        sidecar.signal(libc::SIGSTOP);
        self.set(offset);
        tokio::time::sleep(STOPPED).await;
        sidecar.signal(libc::SIGCONT);
    }

    /// Moves the wall clock without stopping the process (an NTP step).
    pub fn step(&self, offset: &str) {
        self.set(offset);
    }

    fn set(&self, offset: &str) {
        std::fs::write(&self.offset_file, format!("{offset}\n")).expect("write the offset");
    }
}

impl Drop for FakeClock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.offset_file);
    }
}

/// libfaketime's multi-threaded library, wherever Debian put it for this architecture.
fn library() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|dir| dir.path().join("faketime/libfaketimeMT.so.1"))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!("libfaketimeMT.so.1 not found under /usr/lib/*/faketime: install Debian's libfaketime (make test does)")
    })
}
