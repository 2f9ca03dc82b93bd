use super::*;
use crate::model::UpstreamError;
use bytes::Bytes;
use std::collections::VecDeque;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sidecache-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Chunks(VecDeque<Bytes>);

#[async_trait::async_trait]
impl ObjectBody for Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        Ok(self.0.pop_front())
    }
}

fn body(chunks: &[&[u8]]) -> Box<dyn ObjectBody> {
    Box::new(Chunks(
        chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect(),
    ))
}

fn meta(length: Option<u64>) -> ObjectMeta {
    ObjectMeta {
        version_id: None,
        etag: Some("\"e\"".into()),
        content_length: length,
        last_modified: None,
        content_type: None,
        presentation: Default::default(),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn crafted_keys_stay_inside_the_directory() {
    let files = ObjectFiles::new(PathBuf::from("/tmp/s3"), 1);
    let long = "k".repeat(1024);
    for key in [
        "../../etc/passwd",
        "/abs/key",
        "a//b///",
        "nul\0byte",
        "ctl\n\r\t",
        &long,
        "ünïcødé/ファイル",
        "..",
        ".",
        "",
    ] {
        let path = files.path_for("bucket/../x", key, Some("../v"));
        assert_eq!(
            path.parent(),
            Some(Path::new("/tmp/s3")),
            "{key:?} -> {path:?}"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(!name.starts_with('.'), "{name}");
        assert!(name.len() <= HASH_HEX + 1 + MAX_SEGMENT);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "{name}"
        );
        assert!(is_ours(name));
    }
    assert!(file_name("b", "dir/model.bin", None).ends_with("-model.bin"));
    assert_ne!(file_name("b", "k", None), file_name("b", "k", Some("v1")));
    assert_ne!(file_name("b", "k", None), file_name("bk", "", None));
}

#[tokio::test]
async fn download_lands_whole_and_replaces_atomically() {
    let dir = scratch("replace");
    let files = ObjectFiles::new(dir.clone(), 1 << 20);
    files.prepare().unwrap();
    let path = files.path_for("b", "k.txt", None);
    let first = files
        .download(&path, &meta(Some(6)), body(&[b"old", b"old"]))
        .await
        .unwrap();
    let mut reader = std::fs::File::open(&path).unwrap();
    let second = files
        .download(&path, &meta(None), body(&[b"new"]))
        .await
        .unwrap();
    // The reader that opened the old file still reads all of it.
    let mut old = String::new();
    std::io::Read::read_to_string(&mut reader, &mut old).unwrap();
    assert_eq!(
        (
            old.as_str(),
            std::fs::read_to_string(&path).unwrap().as_str()
        ),
        ("oldold", "new")
    );
    // The old entry's removal must not delete the new file.
    assert!(!first.exists());
    first.remove_if_current();
    assert!(second.exists());
    assert_eq!(listing(&dir).len(), 1);
    second.remove_if_current();
    assert!(listing(&dir).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn too_large_objects_leave_nothing_behind() {
    let dir = scratch("large");
    let files = ObjectFiles::new(dir.clone(), 4);
    files.prepare().unwrap();
    let path = files.path_for("b", "k", None);
    let declared = files
        .download(&path, &meta(Some(5)), body(&[b"12345"]))
        .await
        .unwrap_err();
    assert_eq!(declared, AppError::ObjectTooLarge { limit: 4 });
    // Content-Length absent: the stream is cut at the limit.
    let streamed = files
        .download(&path, &meta(None), body(&[b"123", b"45"]))
        .await
        .unwrap_err();
    assert_eq!(streamed, AppError::ObjectTooLarge { limit: 4 });
    assert!(listing(&dir).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn prepare_removes_only_our_leftovers() {
    let dir = scratch("prepare");
    std::fs::create_dir_all(&dir).unwrap();
    let ours = file_name("b", "k.json", None);
    for name in [ours.as_str(), ".tmp-1-2", "user-notes.txt"] {
        std::fs::write(dir.join(name), "x").unwrap();
    }
    let files = ObjectFiles::new(dir.clone(), 1);
    assert_eq!(files.prepare().unwrap(), 2);
    assert_eq!(listing(&dir), ["user-notes.txt"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Found by fuzzing (fuzz/, s3 target): parts were hashed with a NUL after each, so a NUL
/// moved from one part to the next named another object with the same file.
#[test]
fn two_objects_never_share_a_file() {
    let pairs = [
        (("\0\0", "", None), ("", "", Some("\0\0"))),
        (("a\0", "b", None), ("a", "\0b", None)),
        (("b", "k\0", Some("v")), ("b", "k", Some("\0v"))),
        (("b", "k", None), ("b", "k\0", None)),
    ];
    for (a, b) in pairs {
        assert_ne!(
            file_name(a.0, a.1, a.2),
            file_name(b.0, b.1, b.2),
            "{a:?} {b:?}"
        );
    }
}
