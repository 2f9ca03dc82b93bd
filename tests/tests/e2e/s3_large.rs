//! A 50 MB object: streamed to disk and back out with `format=raw`, byte-exact, while the
//! sidecar's peak resident memory stays far below the object's size.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use sidecache_tests::check::num;

use super::s3_support::{new_bucket, obj, path_of, pattern, put, sha256_hex, start_s3};

const SIZE: usize = 50 * 1024 * 1024;
/// Peak RSS allowed for the whole sidecar process (debug build) after serving the object.
const MAX_PEAK_RSS_KIB: u64 = 40 * 1024;

/// `VmHWM` (peak resident set size) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status:\n{status}"))
}

fn file_sha256(path: &Path) -> (u64, String) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    (total, sha256_hex_of(hasher))
}

#[tokio::test]
async fn fifty_megabyte_object_streams_in_bounded_memory() {
    let bucket = new_bucket("s3-large").await;
    let key = "models/large.bin";
    let digest = {
        let data = pattern(50, SIZE);
        let digest = sha256_hex(&data);
        // The upload takes the buffer: the test holds the object at most once.
        put(&bucket, key, data, Some("application/x-e2e-model")).await;
        digest
    };
    let env = start_s3(|b| b).await;
    let pid = env.sc.pid();
    let at_start = peak_rss_kib(pid);

    let resp = env.sc.get(&obj(&bucket, key, "")).await;
    let doc = resp.ok_json();
    assert_eq!(num(&doc, "/size"), SIZE as u64, "{doc}");
    let path = path_of(&resp);
    let after_download = peak_rss_kib(pid);
    let (len, file_digest) = file_sha256(&path);
    assert_eq!(len, SIZE as u64, "file size");
    assert_eq!(file_digest, digest, "the file's SHA-256");

    let mut resp = env
        .sc
        .get_streaming(&obj(&bucket, key, "&format=raw"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-e2e-model")
    );
    assert_eq!(resp.content_length(), Some(SIZE as u64));
    let mut hasher = Sha256::new();
    let mut streamed = 0u64;
    while let Some(chunk) = resp.chunk().await.expect("format=raw body") {
        streamed += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!(streamed, SIZE as u64, "format=raw length");
    assert_eq!(sha256_hex_of(hasher), digest, "format=raw bytes' SHA-256");
    let after_raw = peak_rss_kib(pid);

    eprintln!(
        "sidecar peak RSS (VmHWM): {at_start} KiB at start, {after_download} KiB after the \
         50 MB download, {after_raw} KiB after streaming it back"
    );
    assert!(
        after_raw < MAX_PEAK_RSS_KIB,
        "peak RSS {after_raw} KiB >= {MAX_PEAK_RSS_KIB} KiB: the object is buffered in memory?"
    );
    assert_eq!(env.proxy.count("GetObject"), 1, "{:?}", env.proxy.log());
}

fn sha256_hex_of(hasher: Sha256) -> String {
    hasher
        .finalize()
        .as_slice()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
