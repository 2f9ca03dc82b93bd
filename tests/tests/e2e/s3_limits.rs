//! Bounds on the S3 directory: the byte budget deletes least-recently-used files and is never
//! exceeded, the per-object limit writes nothing, and a full disk leaves no partial file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sidecache_tests::check::{assert_api_error, num};
use sidecache_tests::util::poll_until;

use super::s3_support::{
    expected_name, listing, names, new_bucket, obj, path_of, pattern, put, start_s3, S3_DIR_VAR,
};

#[tokio::test]
async fn byte_budget_deletes_the_least_recently_used_file() {
    const SIZE: usize = 100_000;
    let bucket = new_bucket("s3-budget").await;
    for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
        put(&bucket, key, pattern(70 + i as u64, SIZE), None).await;
    }
    // Room for three of the four objects.
    let env = start_s3(|b| b.env("SIDECACHE_S3_MAX_BYTES", "350000")).await;
    let fetch = |key: &'static str| {
        let sc = &env.sc;
        let query = obj(&bucket, key, "");
        async move { path_of(&sc.get(&query).await) }
    };
    let a = fetch("a").await;
    let b = fetch("b").await;
    let c = fetch("c").await;
    for path in [&a, &b, &c] {
        assert!(
            path.is_file(),
            "{} evicted while the budget holds three files; stats: {}",
            path.display(),
            env.sc.stats().await
        );
    }
    let touched = env.sc.get(&obj(&bucket, "a", "")).await;
    assert_eq!(touched.x_cache().as_deref(), Some("hit"));
    let d = fetch("d").await;

    let evicted = poll_until(Duration::from_secs(5), || async {
        (!b.exists()).then_some(())
    })
    .await;
    let stats = env.sc.stats().await;
    assert!(
        evicted.is_some(),
        "B (least recently used) should be deleted; listing {:?}, stats {stats}",
        listing(&env.dir)
    );
    for (name, path) in [("A", &a), ("C", &c), ("D", &d)] {
        assert!(
            path.is_file(),
            "{name} should remain; listing {:?}, stats {stats}",
            listing(&env.dir)
        );
    }
    let file_name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        listing(&env.dir),
        [&a, &c, &d].into_iter().map(file_name).collect()
    );
    assert!(dir_bytes(&env.dir) <= 350_000, "{:?}", listing(&env.dir));
    assert!(num(&stats, "/s3/evictions") >= 1, "{stats}");
    assert_eq!(num(&stats, "/s3/files"), 3, "{stats}");
    assert_eq!(num(&stats, "/s3/maxBytes"), 350_000, "{stats}");
    assert!(num(&stats, "/s3/bytes") <= 350_000, "{stats}");
    assert_eq!(env.proxy.count("GetObject"), 4, "{:?}", env.proxy.log());
}

/// Total size of the files in `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[tokio::test]
async fn files_never_exceed_a_small_byte_budget() {
    const BUDGET: u64 = 50_000;
    let bucket = new_bucket("s3-small-budget").await;
    let keys = ["p", "q", "r", "s"];
    for (i, key) in keys.iter().enumerate() {
        put(&bucket, key, pattern(75 + i as u64, 20_000), None).await;
    }
    let env = start_s3(|b| b.env("SIDECACHE_S3_MAX_BYTES", BUDGET.to_string())).await;
    for key in keys {
        let resp = env.sc.get(&obj(&bucket, key, "")).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        // Eviction runs on the miss path; allow housekeeping a moment all the same.
        let within = poll_until(Duration::from_secs(3), || async {
            (dir_bytes(&env.dir) <= BUDGET).then_some(())
        })
        .await;
        assert!(
            within.is_some(),
            "after fetching {key}: {} bytes of files in a {BUDGET}-byte budget ({:?}); stats {}",
            dir_bytes(&env.dir),
            listing(&env.dir),
            env.sc.stats().await
        );
    }
    let stats = env.sc.stats().await;
    assert!(num(&stats, "/s3/evictions") >= 2, "{stats}");
    assert!(num(&stats, "/s3/bytes") <= BUDGET, "{stats}");
}

#[tokio::test]
async fn object_over_the_per_object_limit_is_refused_and_not_written() {
    let bucket = new_bucket("s3-limit").await;
    put(&bucket, "big.bin", pattern(80, 5000), None).await;
    put(&bucket, "exact.bin", pattern(81, 1000), None).await;
    let env = start_s3(|b| b.env("SIDECACHE_S3_MAX_OBJECT_BYTES", "1000")).await;

    let resp = env.sc.get(&obj(&bucket, "big.bin", "")).await;
    assert_api_error(&resp, 413, Some("ObjectTooLarge"));
    assert!(
        listing(&env.dir).is_empty(),
        "nothing written, no .tmp-*: {:?}",
        listing(&env.dir)
    );
    let raw = env.sc.get(&obj(&bucket, "big.bin", "&format=raw")).await;
    assert_api_error(&raw, 413, Some("ObjectTooLarge"));
    assert!(listing(&env.dir).is_empty(), "{:?}", listing(&env.dir));

    // The limit is inclusive.
    let path = path_of(&env.sc.get(&obj(&bucket, "exact.bin", "")).await);
    assert_eq!(std::fs::read(&path).unwrap(), pattern(81, 1000));
    assert_eq!(
        listing(&env.dir),
        names(&[&expected_name(&bucket, "exact.bin", None)])
    );
    assert_eq!(num(&env.sc.stats().await, "/s3/files"), 1);
}

/// A 1 MiB tmpfs, unmounted (and its mount point removed) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sidecache-e2e-tmpfs-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
            .arg(&dir)
            .output()
            .expect("run mount");
        if !out.status.success() {
            let _ = std::fs::remove_dir(&dir);
            panic!(
                "running as root, but mounting a tmpfs on {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = std::process::Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test]
async fn full_disk_gives_507_and_leaves_no_partial_file() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to mount tmpfs");
        return;
    }
    let bucket = new_bucket("s3-full").await;
    put(&bucket, "big.bin", pattern(90, 2 * 1024 * 1024), None).await;
    put(&bucket, "small.bin", pattern(91, 10_000), None).await;
    // Declared before the sidecar, so it is unmounted after the sidecar is gone.
    let tmpfs = Tmpfs::mount();
    let env = start_s3(|b| b.env(S3_DIR_VAR, tmpfs.0.display().to_string())).await;

    let resp = env.sc.get(&obj(&bucket, "big.bin", "")).await;
    assert_api_error(&resp, 507, Some("InsufficientStorage"));
    assert!(
        listing(&env.dir).is_empty(),
        "no partial or temporary file: {:?}",
        listing(&env.dir)
    );

    // The space came back: a small object is written for real.
    let path = path_of(&env.sc.get(&obj(&bucket, "small.bin", "")).await);
    assert_eq!(path.parent(), Some(env.dir.as_path()));
    assert_eq!(std::fs::read(&path).unwrap(), pattern(91, 10_000));
    assert_eq!(
        listing(&env.dir),
        names(&[&expected_name(&bucket, "small.bin", None)])
    );

    let again = env.sc.get(&obj(&bucket, "big.bin", "")).await;
    assert_api_error(&again, 507, Some("InsufficientStorage"));
    assert_eq!(
        listing(&env.dir),
        names(&[&expected_name(&bucket, "small.bin", None)]),
        "the failed download removed only its own temporary file"
    );
    drop(env);
}
