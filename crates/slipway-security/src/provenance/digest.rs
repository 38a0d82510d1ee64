//! An artifact's subjects: the SHA-256 digest of a file, or of every file under a directory
//! (named by its path relative to the directory, `/`-separated), sorted by name.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::statement::Subject;

/// Whether an artifact is one file or a directory of files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// One file, named by its file name; it must be one of a statement's subjects.
    File,
    /// A directory; its files must be exactly a statement's subjects.
    Directory,
}

/// An artifact's files with their digests, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactDigests {
    /// A file or a directory.
    pub kind: ArtifactKind,
    /// The files.
    pub subjects: Vec<Subject>,
}

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// A file or directory cannot be read.
    #[error("{path}: cannot be read: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A name that is not UTF-8 cannot be a subject's name.
    #[error("{0}: the name is not UTF-8")]
    NotUtf8(PathBuf),
    /// A symbolic link to a directory is not followed.
    #[error("{0}: a symbolic link to a directory is not followed")]
    LinkedDirectory(PathBuf),
    /// Neither a file nor a directory.
    #[error("{0}: neither a file nor a directory")]
    NotAFile(PathBuf),
}

/// The subjects of the file or directory at `path` (symbolic links to files are followed).
///
/// # Errors
///
/// When something cannot be read or named ([`DigestError`]).
pub fn artifact_digests(path: &Path) -> Result<ArtifactDigests, DigestError> {
    let metadata = std::fs::metadata(path).map_err(|source| DigestError::Read { path: path.to_owned(), source })?;
    if metadata.is_file() {
        let name =
            path.file_name().and_then(|name| name.to_str()).ok_or_else(|| DigestError::NotUtf8(path.to_owned()))?;
        return Ok(ArtifactDigests {
            kind: ArtifactKind::File,
            subjects: vec![Subject { name: name.to_owned(), sha256: file_sha256(path)? }],
        });
    }
    if !metadata.is_dir() {
        return Err(DigestError::NotAFile(path.to_owned()));
    }
    let mut subjects = Vec::new();
    walk(path, "", &mut subjects)?;
    subjects.sort();
    Ok(ArtifactDigests { kind: ArtifactKind::Directory, subjects })
}

/// Adds the files under `directory` (named under `prefix`).
fn walk(directory: &Path, prefix: &str, subjects: &mut Vec<Subject>) -> Result<(), DigestError> {
    let read = |source| DigestError::Read { path: directory.to_owned(), source };
    for entry in std::fs::read_dir(directory).map_err(read)? {
        let entry = entry.map_err(read)?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|_| DigestError::NotUtf8(path.clone()))?;
        let name = format!("{prefix}{name}");
        let is_link = entry.file_type().map_err(read)?.is_symlink();
        let metadata = std::fs::metadata(&path).map_err(|source| DigestError::Read { path: path.clone(), source })?;
        if metadata.is_dir() {
            if is_link {
                return Err(DigestError::LinkedDirectory(path));
            }
            walk(&path, &format!("{name}/"), subjects)?;
        } else if metadata.is_file() {
            subjects.push(Subject { sha256: file_sha256(&path)?, name });
        } else {
            return Err(DigestError::NotAFile(path));
        }
    }
    Ok(())
}

/// The SHA-256 digest of a file's content, in lowercase hex.
fn file_sha256(path: &Path) -> Result<String, DigestError> {
    let read = |source| DigestError::Read { path: path.to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let count = file.read(&mut buffer).map_err(read)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// The SHA-256 digest of bytes, in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_a_directory_in_a_fixed_order() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let root = directory.path().join("drop");
        std::fs::create_dir_all(root.join("bin/sub")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(root.join("z.txt"), "").unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(root.join("bin/app"), "hello world").unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(root.join("bin/sub/a"), "a").unwrap_or_else(|error| panic!("{error}"));

        let file = artifact_digests(&root.join("bin/app")).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(file.kind, ArtifactKind::File);
        assert_eq!(
            file.subjects,
            vec![Subject {
                name: "app".into(),
                sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9".into()
            }]
        );
        let tree = artifact_digests(&root).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(tree.kind, ArtifactKind::Directory);
        let names: Vec<&str> = tree.subjects.iter().map(|subject| subject.name.as_str()).collect();
        assert_eq!(names, ["bin/app", "bin/sub/a", "z.txt"]);
        assert_eq!(tree.subjects[2].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(matches!(artifact_digests(&root.join("missing")), Err(DigestError::Read { .. })));
    }
}
