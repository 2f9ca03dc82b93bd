//! S3 objects on disk: where each one lives and how it gets there safely.
//!
//! - A file's name is a hash of bucket, key and version plus the key's last segment cleaned to
//!   `[A-Za-z0-9._-]`, so no bucket or key (`..`, `/`, NUL, 1024 bytes, Unicode) can name a
//!   path outside the directory, and the name still says what the file is.
//! - A download streams into a temporary file in the same directory and is renamed into place:
//!   readers never see a partial file, and a reader holding the old file keeps reading it.
//! - Any failure (too large, disk full, upstream cut off) removes the temporary file.

use crate::error::AppError;
use crate::model::{ObjectBody, ObjectMeta};
use sha2::{Digest, Sha256};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;

const TEMP_PREFIX: &str = ".tmp-";
/// Hex digits of the hash in a file name: 128 bits.
const HASH_HEX: usize = 32;
const MAX_SEGMENT: usize = 64;

/// A downloaded object in place. Identified by inode too, so that removing an evicted entry
/// never removes a newer file renamed over the same path.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: PathBuf,
    pub size: u64,
    inode: u64,
}

impl StoredFile {
    pub fn exists(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.inode)
    }

    /// The file opened for reading, if it is still the one this entry wrote (a refresh may have
    /// renamed a newer version over the path since; an eviction may have deleted it).
    pub fn open_current(&self) -> Option<std::fs::File> {
        let file = std::fs::File::open(&self.path).ok()?;
        let metadata = file.metadata().ok()?;
        (metadata.ino() == self.inode).then_some(file)
    }

    /// Deletes the file if it is still the one this entry wrote.
    pub fn remove_if_current(&self) {
        if self.exists() {
            if let Err(error) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), %error, "could not delete an evicted object file");
            }
        }
    }
}

pub struct ObjectFiles {
    dir: PathBuf,
    max_object_bytes: u64,
    temp_counter: AtomicU64,
}

impl ObjectFiles {
    pub fn new(dir: PathBuf, max_object_bytes: u64) -> Self {
        ObjectFiles {
            dir,
            max_object_bytes,
            temp_counter: AtomicU64::new(0),
        }
    }

    /// Creates the directory (owner-only) and deletes what a previous process left in it: its
    /// files may be partial or stale, and nothing records which version they hold. Files that
    /// do not look like ours are left alone.
    pub fn prepare(&self) -> io::Result<usize> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.file_type()?.is_file() && is_ours(&name) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn path_for(&self, bucket: &str, key: &str, version_id: Option<&str>) -> PathBuf {
        self.dir.join(file_name(bucket, key, version_id))
    }

    /// Streams `body` into `path` via a temporary file.
    pub async fn download(
        &self,
        path: &Path,
        meta: &ObjectMeta,
        mut body: Box<dyn ObjectBody>,
    ) -> Result<StoredFile, AppError> {
        let limit = self.max_object_bytes;
        if meta.content_length.is_some_and(|n| n > limit) {
            return Err(AppError::ObjectTooLarge { limit });
        }
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = TempFile(
            self.dir
                .join(format!("{TEMP_PREFIX}{}-{n}", std::process::id())),
        );
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp.0)
            .await
            .map_err(storage_error)?;
        let mut written: u64 = 0;
        while let Some(chunk) = body
            .next_chunk()
            .await
            .map_err(|e| crate::error::classify(&e))?
        {
            written += chunk.len() as u64;
            // Content-Length may be absent or wrong; the stream is the truth.
            if written > limit {
                return Err(AppError::ObjectTooLarge { limit });
            }
            file.write_all(&chunk).await.map_err(storage_error)?;
        }
        file.flush().await.map_err(storage_error)?;
        let inode = file.metadata().await.map_err(storage_error)?.ino();
        drop(file);
        tokio::fs::rename(&temp.0, path)
            .await
            .map_err(storage_error)?;
        std::mem::forget(temp);
        Ok(StoredFile {
            path: path.to_owned(),
            size: written,
            inode,
        })
    }
}

/// Removes the temporary file on every early return; forgotten once renamed into place.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn storage_error(error: io::Error) -> AppError {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            AppError::StorageFull
        }
        _ => AppError::Storage(error.to_string()),
    }
}

pub fn file_name(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    // Each part after its length: with a separator instead, parts holding that byte named two
    // objects with one file (`("a\0", "b")` and `("a", "\0b")`; found by fuzzing: fuzz/, s3).
    let mut hasher = Sha256::new();
    for part in [bucket, key, version_id.unwrap_or("")] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hash: String = digest
        .iter()
        .take(HASH_HEX / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let last_segment = key.rsplit('/').next().unwrap_or_default();
    let cleaned: String = last_segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_SEGMENT)
        .collect();
    // No leading dot: never `.`, `..` or a hidden file.
    match cleaned.trim_start_matches('.') {
        "" => hash,
        readable => format!("{hash}-{readable}"),
    }
}

fn is_ours(name: &str) -> bool {
    if name.starts_with(TEMP_PREFIX) {
        return true;
    }
    let hash = name.get(..HASH_HEX).unwrap_or_default();
    hash.len() == HASH_HEX
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && (name.len() == HASH_HEX || name.as_bytes()[HASH_HEX] == b'-')
}

#[cfg(test)]
mod tests;
