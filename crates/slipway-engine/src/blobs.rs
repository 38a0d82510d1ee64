//! The server's content-addressed blob store: the files of pipeline artifacts, kept once each
//! under `blobs/sha256/<first two hex digits>/<hex digest>` in the data directory (the layout of
//! the runtime's own artifact store).
//!
//! A blob is written to a temporary file beside its place (a hard link to the source when the
//! file system allows, else a copy), its digest checked, then renamed into place: a blob that
//! exists is always whole. Blobs are never changed once written. Storing a blob that exists
//! refreshes its modification time, which the cleanup reads: it never deletes a blob younger than
//! [`crate::retention::BLOB_GRACE`], so a blob stored for an artifact that is not recorded yet
//! survives. Writers take [`BlobStore::writing`] and the cleanup [`BlobStore::sweeping`], so that
//! a blob is not deleted between being stored and being recorded.
//!
//! Every function here does blocking file I/O: call it from a blocking thread.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

/// Writers and the cleanup of every blob store of the process.
static LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A blob store rooted at `DATA_DIR/blobs`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

/// A digest's hex text, if it is a well-formed `sha256:<64 lower-case hex digits>`.
#[must_use]
pub fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))).then_some(hex)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The `sha256:` digest and size of a file.
///
/// # Errors
/// When the file cannot be read.
pub fn digest_of_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut size = 0_u64;
    loop {
        let count = file.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
        size += count as u64;
    }
    Ok((format!("sha256:{}", hex(&hasher.finalize())), size))
}

impl BlobStore {
    /// The blob store of a data directory.
    #[must_use]
    pub fn new(data_dir: &Path) -> Self {
        Self { root: data_dir.join("blobs") }
    }

    /// Its root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Taken while storing blobs and recording the artifacts that use them.
    pub async fn writing() -> tokio::sync::RwLockReadGuard<'static, ()> {
        LOCK.read().await
    }

    /// Taken by the cleanup while it deletes blobs.
    pub async fn sweeping() -> tokio::sync::RwLockWriteGuard<'static, ()> {
        LOCK.write().await
    }

    /// Where a blob is (or would be); `None` for a malformed digest.
    #[must_use]
    pub fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest_hex(digest)?;
        Some(self.root.join("sha256").join(&hex[..2]).join(hex))
    }

    /// Whether the blob is stored.
    #[must_use]
    pub fn contains(&self, digest: &str) -> bool {
        self.path(digest).is_some_and(|path| path.is_file())
    }

    /// Stores the file at `source` and gives its digest and size. With `expected`, the source is
    /// itself a content-addressed blob that is never changed (the runtime's artifact store): it
    /// is hard-linked rather than copied when it can be, and its digest is checked.
    ///
    /// # Errors
    /// When the file cannot be read or stored, or its content does not have the digest expected.
    pub fn put_file(&self, source: &Path, expected: Option<&str>) -> io::Result<(String, u64)> {
        if let Some(expected) = expected {
            let target = self.path(expected).ok_or_else(|| io::Error::other("a malformed digest"))?;
            if target.is_file() {
                touch(&target);
                return Ok((expected.to_owned(), fs::metadata(&target)?.len()));
            }
        }
        let temporary = self.temporary()?;
        let linked = expected.is_some() && fs::hard_link(source, &temporary).is_ok();
        let copied = if linked { digest_of_file(&temporary) } else { copy_hashing(source, &temporary) };
        let (digest, size) = match copied {
            Ok(found) => found,
            Err(error) => {
                let _ = fs::remove_file(&temporary);
                return Err(error);
            }
        };
        if expected.is_some_and(|expected| expected != digest) {
            let _ = fs::remove_file(&temporary);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} does not have the digest {}", source.display(), expected.unwrap_or_default()),
            ));
        }
        let Some(target) = self.path(&digest) else {
            let _ = fs::remove_file(&temporary);
            return Err(io::Error::other("a malformed digest"));
        };
        let placed = target.parent().map_or(Ok(()), fs::create_dir_all).and_then(|()| {
            if target.is_file() {
                touch(&target);
                fs::remove_file(&temporary)
            } else {
                fs::rename(&temporary, &target)
            }
        });
        if let Err(error) = placed {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        Ok((digest, size))
    }

    /// A new temporary file name in the store (on its file system, so that it can be renamed
    /// into place).
    fn temporary(&self) -> io::Result<PathBuf> {
        let directory = self.root.join("sha256");
        fs::create_dir_all(&directory)?;
        Ok(directory.join(format!(".tmp-{}-{}", std::process::id(), crate::random_hex(8).map_err(io::Error::other)?)))
    }

    /// Opens a blob for reading.
    ///
    /// # Errors
    /// When the digest is malformed or the blob is missing.
    pub fn open(&self, digest: &str) -> io::Result<fs::File> {
        let path = self.path(digest).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "a malformed digest"))?;
        fs::File::open(path)
    }

    /// Copies a blob to `destination` (replacing it), executable or not.
    ///
    /// # Errors
    /// When the blob is missing or the file cannot be written.
    pub fn copy_to(&self, digest: &str, destination: &Path, executable: bool) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let mut input = self.open(digest)?;
        let mut output = fs::File::create(destination)?;
        io::copy(&mut input, &mut output)?;
        output.flush()?;
        let mode = if executable { 0o755 } else { 0o644 };
        fs::set_permissions(destination, fs::Permissions::from_mode(mode))
    }

    /// Deletes a blob; whether it was there.
    ///
    /// # Errors
    /// When it cannot be deleted.
    pub fn remove(&self, digest: &str) -> io::Result<bool> {
        let Some(path) = self.path(digest) else { return Ok(false) };
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// When a blob was last stored; `None` when it is missing.
    #[must_use]
    pub fn stored_at(&self, digest: &str) -> Option<SystemTime> {
        self.path(digest).and_then(|path| fs::metadata(path).ok()).and_then(|metadata| metadata.modified().ok())
    }

    /// Every stored blob's digest (temporary files left by a crash are not blobs).
    #[must_use]
    pub fn list(&self) -> Vec<String> {
        let mut digests = Vec::new();
        let Ok(prefixes) = fs::read_dir(self.root.join("sha256")) else { return digests };
        for prefix in prefixes.flatten().filter(|entry| entry.path().is_dir()) {
            let Ok(entries) = fs::read_dir(prefix.path()) else { continue };
            for entry in entries.flatten() {
                let digest = format!("sha256:{}", entry.file_name().to_string_lossy());
                if digest_hex(&digest).is_some() {
                    digests.push(digest);
                }
            }
        }
        digests.sort();
        digests
    }

    /// Temporary files older than `age` (left by a process that died while storing a blob).
    #[must_use]
    pub fn stale_temporaries(&self, age: std::time::Duration) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.root.join("sha256")) else { return Vec::new() };
        entries
            .flatten()
            .filter(|entry| {
                entry.file_name().to_string_lossy().starts_with(".tmp-")
                    && entry
                        .metadata()
                        .and_then(|metadata| metadata.modified())
                        .ok()
                        .and_then(|modified| modified.elapsed().ok())
                        .is_some_and(|elapsed| elapsed > age)
            })
            .map(|entry| entry.path())
            .collect()
    }
}

/// Copies `source` to `target`, synced, and gives the digest and size of what was copied.
fn copy_hashing(source: &Path, target: &Path) -> io::Result<(String, u64)> {
    let mut input = fs::File::open(source)?;
    let mut output = fs::File::create(target)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut size = 0_u64;
    loop {
        let count = input.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
        output.write_all(&buffer[..count])?;
        size += count as u64;
    }
    output.sync_all()?;
    Ok((format!("sha256:{}", hex(&hasher.finalize())), size))
}

/// Sets a file's modification time to now (best effort).
fn touch(path: &Path) {
    if let Ok(file) = fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_stored_once_under_their_digest() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let blobs = BlobStore::new(directory.path());
        let source = directory.path().join("a.txt");
        fs::write(&source, "hello")?;
        let (digest, size) = blobs.put_file(&source, None)?;
        assert_eq!(digest, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(size, 5);
        let path = blobs.path(&digest).ok_or("no path")?;
        assert!(path.ends_with("blobs/sha256/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        assert_eq!(blobs.put_file(&source, Some(&digest))?.0, digest);
        assert_eq!(blobs.list(), std::slice::from_ref(&digest));
        let wrong = format!("sha256:{}", "0".repeat(64));
        assert!(blobs.put_file(&source, Some(&wrong)).is_err());
        assert_eq!(blobs.list().len(), 1, "nothing is left behind by a failed store");
        let copy = directory.path().join("copy");
        blobs.copy_to(&digest, &copy, true)?;
        assert_eq!(fs::read_to_string(&copy)?, "hello");
        assert!(blobs.remove(&digest)?);
        assert!(!blobs.remove(&digest)?);
        assert!(blobs.path("sha256:../../etc").is_none());
        assert!(blobs.path("md5:abc").is_none());
        Ok(())
    }
}
