//! An artifact's manifest: what a published artifact holds, file by file, content-addressed. The
//! runtime writes it into a run's artifact store, agents send it to the server, the server keeps
//! it in the store's JSON and serves it back; it is one type everywhere.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// One file of an artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactFile {
    /// Its path inside the artifact, `/`-separated.
    pub path: String,
    /// `sha256:<hex>` of its content.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is executable.
    pub executable: bool,
}

/// An artifact's manifest: its files, sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactManifest {
    /// The artifact's name.
    pub name: String,
    /// Its files, sorted by path.
    pub files: Vec<ArtifactFile>,
}

impl ArtifactManifest {
    /// The digest of the manifest itself, which identifies the artifact's content: the same files
    /// with the same content and modes give the same digest, whatever the artifact is called.
    #[must_use]
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for file in &self.files {
            hasher.update(file.path.as_bytes());
            hasher.update([0]);
            hasher.update(file.digest.as_bytes());
            hasher.update([u8::from(file.executable)]);
        }
        let hash: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
        format!("sha256:{hash}")
    }

    /// The total size of the files.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, digest: &str, executable: bool) -> ArtifactFile {
        ArtifactFile { path: path.into(), digest: digest.into(), size: 3, executable }
    }

    #[test]
    fn the_digest_is_the_content_not_the_name() {
        let one = ArtifactManifest { name: "one".into(), files: vec![file("a", "sha256:1", false)] };
        let two = ArtifactManifest { name: "two".into(), ..one.clone() };
        assert_eq!(one.digest(), two.digest());
        let executable = ArtifactManifest { files: vec![file("a", "sha256:1", true)], ..one.clone() };
        assert_ne!(one.digest(), executable.digest());
        assert!(one.digest().starts_with("sha256:") && one.digest().len() == 7 + 64);
        assert_eq!(one.bytes(), 3);
        let json = serde_json::to_value(&one).unwrap_or_default();
        assert_eq!(json["files"][0]["executable"], false, "{json}");
    }
}
