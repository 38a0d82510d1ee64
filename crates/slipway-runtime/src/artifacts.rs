//! A local, content-addressed store for pipeline artifacts.
//!
//! Files are stored once under `blobs/sha256/<first two hex digits>/<digest>`; an artifact is a
//! manifest (`artifacts/<name>.json`) listing its files' relative paths, digests, sizes and
//! whether they are executable. Publishing the same content twice stores it once; downloading
//! copies the blobs back out into a directory.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
pub use slipway_events::{ArtifactFile, ArtifactManifest};

/// An error of the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading or writing files failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// Publishing under a name that is taken.
    #[error("an artifact named '{0}' was already published in this run")]
    Exists(String),
    /// Downloading an artifact that does not exist.
    #[error("no artifact named '{0}' was published in this run")]
    NotFound(String),
    /// A bad artifact name.
    #[error("'{0}' is not a valid artifact name")]
    BadName(String),
    /// A manifest could not be read.
    #[error("the manifest of artifact '{0}' is damaged")]
    Damaged(String),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ArtifactError {
    let path = path.display().to_string();
    move |source| ArtifactError::Io { action, path, source }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The store of one run.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    /// A store kept under `root` (created on first use).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn manifest_path(&self, name: &str) -> Result<PathBuf, ArtifactError> {
        let valid = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\\', '\0'])
            && !name.starts_with('.');
        if !valid {
            return Err(ArtifactError::BadName(name.to_owned()));
        }
        Ok(self.root.join("artifacts").join(format!("{name}.json")))
    }

    /// Where the blob with this digest (`sha256:<hex>`) is kept: `blobs/sha256/<first two hex
    /// digits>/<hex>` under the store's root.
    #[must_use]
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.root.join("blobs").join("sha256").join(hex.get(..2).unwrap_or("00")).join(hex)
    }

    /// Publishes a file or directory as a new artifact.
    ///
    /// # Errors
    /// When the name is taken or invalid, or files cannot be read or stored.
    pub fn publish(&self, name: &str, source: &Path) -> Result<ArtifactManifest, ArtifactError> {
        let manifest_path = self.manifest_path(name)?;
        if manifest_path.exists() {
            return Err(ArtifactError::Exists(name.to_owned()));
        }
        let mut manifest = ArtifactManifest { name: name.to_owned(), files: Vec::new() };
        self.add_tree(&mut manifest, source, "")?;
        self.write_manifest(&manifest_path, &mut manifest)?;
        Ok(manifest)
    }

    /// Adds a file or directory to an artifact under `folder`, creating the artifact if needed
    /// (`##vso[artifact.upload]`).
    ///
    /// # Errors
    /// When the name is invalid, or files cannot be read or stored.
    pub fn upload(&self, name: &str, folder: Option<&str>, source: &Path) -> Result<ArtifactManifest, ArtifactError> {
        let manifest_path = self.manifest_path(name)?;
        let mut manifest = if manifest_path.exists() {
            self.manifest(name)?
        } else {
            ArtifactManifest { name: name.to_owned(), files: Vec::new() }
        };
        let mut prefix = folder.unwrap_or("").trim_matches('/').to_owned();
        if source.is_file() {
            let file_name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            prefix = if prefix.is_empty() { file_name } else { format!("{prefix}/{file_name}") };
        }
        self.add_tree(&mut manifest, source, &prefix)?;
        self.write_manifest(&manifest_path, &mut manifest)?;
        Ok(manifest)
    }

    fn write_manifest(&self, path: &Path, manifest: &mut ArtifactManifest) -> Result<(), ArtifactError> {
        manifest.files.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.files.dedup_by(|later, earlier| {
            if later.path == earlier.path {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        let parent = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
        let text = serde_json::to_vec_pretty(manifest).unwrap_or_default();
        let temporary = path.with_extension("json.tmp");
        fs::write(&temporary, text).map_err(io_error("writing", &temporary))?;
        fs::rename(&temporary, path).map_err(io_error("writing", path))
    }

    fn add_tree(&self, manifest: &mut ArtifactManifest, source: &Path, prefix: &str) -> Result<(), ArtifactError> {
        let metadata = fs::metadata(source).map_err(io_error("reading", source))?;
        if metadata.is_file() {
            let path = if prefix.is_empty() {
                source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            } else {
                prefix.to_owned()
            };
            let (digest, size) = self.store_blob(source)?;
            manifest.files.push(ArtifactFile {
                path,
                digest,
                size,
                executable: metadata.permissions().mode() & 0o111 != 0,
            });
            return Ok(());
        }
        let mut entries: Vec<_> =
            fs::read_dir(source).map_err(io_error("reading", source))?.filter_map(Result::ok).collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let file_type = entry.file_type().map_err(io_error("reading", &entry.path()))?;
            if file_type.is_dir() || (file_type.is_symlink() && entry.path().is_dir()) {
                self.add_tree(manifest, &entry.path(), &child)?;
            } else {
                let metadata = fs::metadata(entry.path()).map_err(io_error("reading", &entry.path()))?;
                let (digest, size) = self.store_blob(&entry.path())?;
                manifest.files.push(ArtifactFile {
                    path: child,
                    digest,
                    size,
                    executable: metadata.permissions().mode() & 0o111 != 0,
                });
            }
        }
        Ok(())
    }

    fn store_blob(&self, source: &Path) -> Result<(String, u64), ArtifactError> {
        let mut file = fs::File::open(source).map_err(io_error("reading", source))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 64 * 1024];
        let mut size = 0_u64;
        loop {
            let count = file.read(&mut buffer).map_err(io_error("reading", source))?;
            if count == 0 {
                break;
            }
            hasher.update(&buffer[..count]);
            size += count as u64;
        }
        let digest = format!("sha256:{}", hex(&hasher.finalize()));
        let blob = self.blob_path(&digest);
        if !blob.exists() {
            let parent = blob.parent().unwrap_or(&self.root);
            fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
            let temporary = blob.with_extension(format!("tmp{}", std::process::id()));
            fs::copy(source, &temporary).map_err(io_error("storing", source))?;
            fs::rename(&temporary, &blob).map_err(io_error("storing", &blob))?;
        }
        Ok((digest, size))
    }

    /// Whether `digest` is a well-formed blob digest: `sha256:` and 64 lowercase hex digits.
    #[must_use]
    pub fn is_digest(digest: &str) -> bool {
        digest
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')))
    }

    /// The file of a blob, if the store has it (`None` too for a malformed digest).
    #[must_use]
    pub fn existing_blob(&self, digest: &str) -> Option<PathBuf> {
        let path = self.blob_path(digest);
        (Self::is_digest(digest) && path.is_file()).then_some(path)
    }

    /// Stores a blob read from `content` under its digest, checking that the content has that
    /// digest; a blob already there is left as it is. Returns its size.
    ///
    /// # Errors
    /// [`ArtifactError::BadName`] for a malformed digest or content of another digest; I/O errors.
    pub fn import_blob(&self, digest: &str, content: &mut dyn Read) -> Result<u64, ArtifactError> {
        if !Self::is_digest(digest) {
            return Err(ArtifactError::BadName(digest.to_owned()));
        }
        let blob = self.blob_path(digest);
        let parent = blob.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(io_error("creating", &parent))?;
        let mut random = [0_u8; 8];
        let _ = fs::File::open("/dev/urandom").and_then(|mut source| source.read_exact(&mut random));
        let temporary = blob.with_extension(format!("tmp{}-{}", std::process::id(), hex(&random)));
        let stored = (|| {
            let mut output = fs::File::create(&temporary).map_err(io_error("writing", &temporary))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0_u8; 64 * 1024];
            let mut size = 0_u64;
            loop {
                let count = content.read(&mut buffer).map_err(io_error("reading", &temporary))?;
                if count == 0 {
                    break;
                }
                hasher.update(&buffer[..count]);
                output.write_all(&buffer[..count]).map_err(io_error("writing", &temporary))?;
                size += count as u64;
            }
            output.sync_all().map_err(io_error("writing", &temporary))?;
            if format!("sha256:{}", hex(&hasher.finalize())) != digest {
                return Err(ArtifactError::BadName(format!("{digest} (the content has another digest)")));
            }
            fs::rename(&temporary, &blob).map_err(io_error("storing", &blob))?;
            Ok(size)
        })();
        if stored.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        stored
    }

    /// Writes an artifact's manifest as it is (replacing one of the same name), such as one
    /// published elsewhere whose blobs were imported. Paths with `..` or a leading `/` and
    /// malformed digests are refused.
    ///
    /// # Errors
    /// [`ArtifactError::BadName`] for a bad name, path or digest; I/O errors.
    pub fn install_manifest(&self, manifest: &ArtifactManifest) -> Result<(), ArtifactError> {
        let path = self.manifest_path(&manifest.name)?;
        for file in &manifest.files {
            let bad_path = file.path.is_empty()
                || file.path.starts_with('/')
                || file.path.contains('\\')
                || file.path.contains('\0')
                || file.path.split('/').any(|part| part == ".." || part.is_empty());
            if bad_path || !Self::is_digest(&file.digest) {
                return Err(ArtifactError::BadName(format!("{}: {}", manifest.name, file.path)));
            }
        }
        let mut manifest = manifest.clone();
        self.write_manifest(&path, &mut manifest)
    }

    /// Reads an artifact's manifest.
    ///
    /// # Errors
    /// When there is no such artifact.
    pub fn manifest(&self, name: &str) -> Result<ArtifactManifest, ArtifactError> {
        let path = self.manifest_path(name)?;
        let text = fs::read(&path).map_err(|_| ArtifactError::NotFound(name.to_owned()))?;
        serde_json::from_slice(&text).map_err(|_| ArtifactError::Damaged(name.to_owned()))
    }

    /// The names of every published artifact, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join("artifacts"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|entry| entry.file_name().to_string_lossy().strip_suffix(".json").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Copies an artifact's files (those matching `patterns`, if given) into `target`.
    ///
    /// # Errors
    /// When there is no such artifact or files cannot be written.
    pub fn download(&self, name: &str, target: &Path, patterns: &[String]) -> Result<ArtifactManifest, ArtifactError> {
        self.download_filtered(name, target, &|path| patterns.is_empty() || matches_any(patterns, path))
    }

    /// Copies the files of an artifact for which `keep` (given the file's path inside the
    /// artifact) is true into `target`.
    ///
    /// # Errors
    /// When there is no such artifact or files cannot be written.
    pub fn download_filtered(
        &self,
        name: &str,
        target: &Path,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<ArtifactManifest, ArtifactError> {
        let manifest = self.manifest(name)?;
        fs::create_dir_all(target).map_err(io_error("creating", target))?;
        for file in &manifest.files {
            if !keep(&file.path) {
                continue;
            }
            if file.path.split('/').any(|part| part == "..") {
                continue;
            }
            let destination = target.join(&file.path);
            if let Some(parent) = destination.parent() {
                fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
            }
            let blob = self.blob_path(&file.digest);
            let mut input = fs::File::open(&blob).map_err(io_error("reading", &blob))?;
            let mut output = fs::File::create(&destination).map_err(io_error("writing", &destination))?;
            io::copy(&mut input, &mut output).map_err(io_error("writing", &destination))?;
            output.flush().map_err(io_error("writing", &destination))?;
            if file.executable {
                let _ = fs::set_permissions(&destination, fs::Permissions::from_mode(0o755));
            }
        }
        Ok(manifest)
    }
}

/// Whether `path` is kept by a list of minimatch patterns, as the artifact tasks apply them: the
/// patterns in order, a `!` pattern removing what the earlier ones kept. Matching is the task
/// library's (`dot: true`, `**` across directories).
#[must_use]
pub fn matches_any(patterns: &[String], path: &str) -> bool {
    let mut included = false;
    for pattern in patterns {
        let pattern = pattern.trim();
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        if let Some(negated) = pattern.strip_prefix('!') {
            if included && slipway_tasks::glob::Pattern::new(negated).matches(path) {
                included = false;
            }
        } else if !included && slipway_tasks::glob::Pattern::new(pattern).matches(path) {
            included = true;
        }
    }
    included
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_and_downloads_a_directory_storing_content_once() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let source = temp.path().join("src");
        fs::create_dir_all(source.join("sub"))?;
        fs::write(source.join("a.txt"), "same")?;
        fs::write(source.join("sub/b.txt"), "same")?;
        fs::write(source.join("run.sh"), "#!/bin/sh")?;
        fs::set_permissions(source.join("run.sh"), fs::Permissions::from_mode(0o755))?;
        let store = ArtifactStore::new(temp.path().join("store"));
        let manifest = store.publish("drop", &source)?;
        assert_eq!(
            manifest.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["a.txt", "run.sh", "sub/b.txt"]
        );
        assert_eq!(fs::read_dir(temp.path().join("store/blobs/sha256"))?.count(), 2);
        assert!(matches!(store.publish("drop", &source), Err(ArtifactError::Exists(_))));
        let target = temp.path().join("out");
        store.download("drop", &target, &[])?;
        assert_eq!(fs::read_to_string(target.join("sub/b.txt"))?, "same");
        assert!(fs::metadata(target.join("run.sh"))?.permissions().mode() & 0o100 != 0);
        assert_eq!(store.names(), ["drop"]);
        Ok(())
    }

    #[test]
    fn uploads_add_files_and_patterns_filter_downloads() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        fs::write(temp.path().join("one.log"), "1")?;
        fs::write(temp.path().join("two.txt"), "2")?;
        let store = ArtifactStore::new(temp.path().join("store"));
        store.upload("logs", Some("x"), &temp.path().join("one.log"))?;
        let manifest = store.upload("logs", None, &temp.path().join("two.txt"))?;
        assert_eq!(manifest.files.len(), 2);
        let target = temp.path().join("out");
        store.download("logs", &target, &["**/*.log".to_owned()])?;
        assert!(target.join("x/one.log").exists());
        assert!(!target.join("two.txt").exists());
        assert!(matches!(store.download("none", &target, &[]), Err(ArtifactError::NotFound(_))));
        assert!(matches!(store.publish("../evil", temp.path()), Err(ArtifactError::BadName(_))));
        Ok(())
    }

    #[test]
    fn globs_match_like_minimatch() {
        let one = |pattern: &str, path: &str| matches_any(&[pattern.to_owned()], path);
        assert!(one("**/*.txt", "a/b/c.txt"));
        assert!(one("**/*.txt", "c.txt"));
        assert!(!one("*.txt", "a/c.txt"));
        assert!(one("a/?.txt", "a/c.txt"));
        assert!(one("**", ".hidden/x"));
        assert!(matches_any(&["**".into(), "!**/*.tmp".into()], "x/y.txt"));
        assert!(!matches_any(&["**".into(), "!**/*.tmp".into()], "x/y.tmp"));
    }
}
