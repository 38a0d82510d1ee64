//! `hashFiles(patterns...)` as the runner computes it (`src/Misc/expressionFunc/hashFiles`): the
//! patterns are globs relative to `GITHUB_WORKSPACE` (`!` excludes), files outside the workspace
//! and directories are skipped, and the result is the SHA-256 of the concatenated binary
//! SHA-256 digests of the files, in hex; `''` when no file matches.
//!
//! The runner takes the files in the order its glob walks the disk (directory order); Slipway
//! takes them sorted by path, which is the same on every machine.

use std::io::Read as _;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The hash of the files under `workspace` that `patterns` match, or a message.
pub(crate) fn hash_files(workspace: &Path, patterns: &[String]) -> Result<String, String> {
    let patterns: Vec<String> = patterns.iter().flat_map(|pattern| pattern.lines().map(str::to_owned)).collect();
    let files = slipway_tasks::glob::find_match(workspace, &patterns);
    let mut result = Sha256::new();
    let mut count = 0;
    for file in files {
        if !file.starts_with(workspace) || file == workspace || !file.is_file() {
            continue;
        }
        let mut hash = Sha256::new();
        let mut input = std::fs::File::open(&file)
            .map_err(|error| format!("hashFiles could not read {}: {error}", file.display()))?;
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let read = input
                .read(&mut buffer)
                .map_err(|error| format!("hashFiles could not read {}: {error}", file.display()))?;
            if read == 0 {
                break;
            }
            hash.update(&buffer[..read]);
        }
        result.update(hash.finalize());
        count += 1;
    }
    if count == 0 {
        return Ok(String::new());
    }
    Ok(result.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn hashes_the_digests_of_the_matching_files_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("sub/deeper"))?;
        std::fs::write(dir.path().join("a.lock"), "one")?;
        std::fs::write(dir.path().join("sub/deeper/b.lock"), "two")?;
        std::fs::write(dir.path().join("sub/c.txt"), "three")?;
        let mut expected = Sha256::new();
        expected.update(Sha256::digest(b"one"));
        expected.update(Sha256::digest(b"two"));
        let expected = hex(&expected.finalize());
        assert_eq!(hash_files(dir.path(), &["**/*.lock".to_owned()])?, expected);
        assert_eq!(hash_files(dir.path(), &["a.lock".to_owned(), "sub/**/b.lock".to_owned()])?, expected);
        assert_eq!(hash_files(dir.path(), &["**/*.lock\n!sub/**".to_owned()])?, {
            let mut one = Sha256::new();
            one.update(Sha256::digest(b"one"));
            hex(&one.finalize())
        });
        assert_eq!(hash_files(dir.path(), &["**/*.none".to_owned()])?, "");
        assert_eq!(hash_files(dir.path(), &["sub".to_owned()])?, "", "directories are skipped");
        Ok(())
    }
}
