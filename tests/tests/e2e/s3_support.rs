//! Helpers shared by the S3 test modules: starting a sidecar with a known S3 directory,
//! seeding objects in moto, request paths, directory listings, the documented file name and
//! reproducible object contents.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};
use sidecache_tests::util::{enc, poll_until, unique};
use sidecache_tests::{moto, FaultProxy, Resp, Sidecar, SidecarBuilder};

pub const S3_DIR_VAR: &str = "SIDECACHE_S3_DIR";

/// A proxy, a sidecar using it, and the sidecar's S3 directory (canonical).
pub struct S3Env {
    pub proxy: FaultProxy,
    pub sc: Sidecar,
    pub dir: PathBuf,
}

/// Starts a proxy and a sidecar configured by `configure`; the S3 directory is the one the
/// builder hands the child (its private one unless `configure` set another).
pub async fn start_s3(configure: impl FnOnce(SidecarBuilder) -> SidecarBuilder) -> S3Env {
    let proxy = FaultProxy::start().await;
    let builder = configure(Sidecar::builder(&proxy));
    let dir = PathBuf::from(
        builder
            .env_value(S3_DIR_VAR)
            .expect("the harness always sets SIDECACHE_S3_DIR"),
    );
    let sc = builder.spawn().await;
    let dir = dir.canonicalize().unwrap_or_else(|e| {
        panic!(
            "the sidecar did not create its S3 directory {} ({e}); logs:\n{}",
            dir.display(),
            sc.logs()
        )
    });
    S3Env { proxy, sc, dir }
}

/// A new, uniquely named bucket in moto.
pub async fn new_bucket(tag: &str) -> String {
    let bucket = unique(tag);
    moto::s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    bucket
}

/// Uploads (or overwrites) an object straight to moto; returns its ETag.
pub async fn put(bucket: &str, key: &str, body: Vec<u8>, content_type: Option<&str>) -> String {
    moto::s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .set_content_type(content_type.map(str::to_owned))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put s3://{bucket}/{key:?}: {e:?}"))
        .e_tag()
        .expect("PutObject answers an ETag")
        .to_owned()
}

/// `/s3/get?bucket=<encoded>&key=<encoded><extra>`; `extra` starts with `&`.
pub fn obj(bucket: &str, key: &str, extra: &str) -> String {
    format!("/s3/get?bucket={}&key={}{extra}", enc(bucket), enc(key))
}

/// The `path` of a 200 JSON answer.
pub fn path_of(resp: &Resp) -> PathBuf {
    let doc = resp.ok_json();
    PathBuf::from(
        doc["path"]
            .as_str()
            .unwrap_or_else(|| panic!("`path` should be a string in {doc}")),
    )
}

/// Every name in `dir` (hidden ones included).
pub fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

pub fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(Sha256::digest(data).as_slice())
}

/// The documented file name: the first 32 hex digits of SHA-256 over bucket, key and version
/// id (each followed by NUL), `-`, and the key's last `/` segment with every character outside
/// `[A-Za-z0-9._-]` replaced by `_`, leading dots removed, at most 64 characters. A segment
/// that cleans to nothing (`.`, `..`, a trailing `/`) leaves the bare hash.
pub fn expected_name(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    for part in [bucket, key, version_id.unwrap_or("")] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hex(&hasher.finalize().as_slice()[..16]);
    let segment = key.rsplit('/').next().unwrap_or_default();
    let cleaned: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned: String = cleaned.trim_start_matches('.').chars().take(64).collect();
    if cleaned.is_empty() {
        hash
    } else {
        format!("{hash}-{cleaned}")
    }
}

/// Pseudo-random bytes (xorshift64), distinct per seed: incompressible, and a mix of two
/// contents is detectable anywhere in the file.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn inode(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

/// HTTP statuses of the GetObject requests the proxy answered, in order.
pub fn get_object_statuses(proxy: &FaultProxy) -> Vec<u16> {
    proxy
        .log()
        .into_iter()
        .filter(|(op, _)| op == "GetObject")
        .map(|(_, status)| status)
        .collect()
}

/// Requests `query` until the answer is not a hit (the TTL has passed), max 10 s.
pub async fn first_non_hit(sc: &Sidecar, query: &str) -> Resp {
    poll_until(Duration::from_secs(10), || async {
        let resp = sc.get(query).await;
        (resp.x_cache().as_deref() != Some("hit")).then_some(resp)
    })
    .await
    .expect("the object never expired (SIDECACHE_S3_TTL=1)")
}
