//! What a scan reads, at the crate's edge: the files of a working tree (`.gitignore` respected,
//! through the `ignore` crate), the entries of archives in them (zip, tar, gzip) to a set depth,
//! and `git`'s patches (through `slipway-git`): the lines a diff adds, or every commit's.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::detect::CommitInfo;

/// A file or archive entry that was not searched, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Its path (`archive.zip!entry` inside an archive).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The files under `root` that git would not ignore, as (path on disk, path relative to
/// `root`, with `/`), in a stable order; `root` may be a single file. Walk errors are skipped
/// entries.
pub(crate) fn tree_files(root: &Path, skipped: &mut Vec<Skipped>) -> Vec<(PathBuf, String)> {
    if root.is_file() {
        let name = root.file_name().map_or_else(|| root.display().to_string(), |name| name.to_string_lossy().into());
        return vec![(root.to_path_buf(), name)];
    }
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .sort_by_file_name(std::cmp::Ord::cmp)
        .build();
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_some_and(|kind| kind.is_file()) => {
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
                let relative = relative.to_string_lossy().replace('\\', "/");
                files.push((entry.path().to_path_buf(), relative));
            }
            Ok(_) => {}
            Err(error) => skipped.push(Skipped { path: root.display().to_string(), reason: error.to_string() }),
        }
    }
    files
}

/// The kinds of archives read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Archive {
    Zip,
    Tar,
    TarGz,
    Gz,
}

impl Archive {
    /// The kind of archive `path` names, by its extension.
    pub(crate) fn of(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        let ends = |suffixes: &[&str]| suffixes.iter().any(|suffix| lower.ends_with(suffix));
        if ends(&[".zip", ".jar", ".war", ".ear", ".whl", ".nupkg", ".apk", ".aar", ".vsix", ".xpi"]) {
            Some(Self::Zip)
        } else if ends(&[".tar.gz", ".tgz", ".crate"]) {
            Some(Self::TarGz)
        } else if ends(&[".tar"]) {
            Some(Self::Tar)
        } else if ends(&[".gz"]) {
            Some(Self::Gz)
        } else {
            None
        }
    }

    /// The entries of the archive `bytes` (name, content), each at most `limit` bytes (larger
    /// ones are skipped, as are entries that cannot be read).
    pub(crate) fn entries(
        self,
        name: &str,
        bytes: &[u8],
        limit: u64,
        skipped: &mut Vec<Skipped>,
    ) -> Vec<(String, Vec<u8>)> {
        let mut entries = Vec::new();
        let mut skip = |entry: &str, reason: String| skipped.push(Skipped { path: format!("{name}!{entry}"), reason });
        match self {
            Self::Zip => {
                let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
                    Ok(archive) => archive,
                    Err(error) => {
                        skip("", format!("not a readable zip archive: {error}"));
                        return entries;
                    }
                };
                for index in 0..archive.len() {
                    let Ok(mut file) = archive.by_index(index) else {
                        skip(&format!("#{index}"), "entry cannot be read".to_owned());
                        continue;
                    };
                    if !file.is_file() {
                        continue;
                    }
                    let entry = file.name().to_owned();
                    if file.size() > limit {
                        skip(&entry, format!("larger than {limit} bytes"));
                        continue;
                    }
                    let mut content = Vec::new();
                    match (&mut file).take(limit + 1).read_to_end(&mut content) {
                        Ok(_) if content.len() as u64 > limit => skip(&entry, format!("larger than {limit} bytes")),
                        Ok(_) => entries.push((entry, content)),
                        Err(error) => skip(&entry, error.to_string()),
                    }
                }
            }
            Self::Tar => read_tar(bytes, limit, &mut entries, &mut skip),
            Self::TarGz => read_tar(flate2::read::GzDecoder::new(bytes), limit, &mut entries, &mut skip),
            Self::Gz => {
                let inner = name.rsplit('/').next().unwrap_or(name);
                let inner = inner.get(..inner.len().saturating_sub(3)).unwrap_or(inner).to_owned();
                let mut content = Vec::new();
                match flate2::read::GzDecoder::new(bytes).take(limit + 1).read_to_end(&mut content) {
                    Ok(_) if content.len() as u64 > limit => skip(&inner, format!("larger than {limit} bytes")),
                    Ok(_) => entries.push((inner, content)),
                    Err(error) => skip(&inner, format!("not readable gzip: {error}")),
                }
            }
        }
        entries
    }
}

fn read_tar(
    reader: impl std::io::Read,
    limit: u64,
    entries: &mut Vec<(String, Vec<u8>)>,
    skip: &mut impl FnMut(&str, String),
) {
    let mut archive = tar::Archive::new(reader);
    let Ok(iterator) = archive.entries() else {
        skip("", "not a readable tar archive".to_owned());
        return;
    };
    for entry in iterator {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                skip("", format!("not a readable tar archive: {error}"));
                return;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map(|path| path.to_string_lossy().into_owned()).unwrap_or_default();
        if entry.size() > limit {
            skip(&name, format!("larger than {limit} bytes"));
            continue;
        }
        let mut content = Vec::new();
        match (&mut entry).take(limit + 1).read_to_end(&mut content) {
            Ok(_) => entries.push((name, content)),
            Err(error) => skip(&name, error.to_string()),
        }
    }
}

/// Whether `content` looks binary (a NUL byte in its first 8,000 bytes, as git decides).
pub(crate) fn is_binary(content: &[u8]) -> bool {
    content.iter().take(8000).any(|byte| *byte == 0)
}

/// The lines one commit (or a diff) added to one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Added {
    pub(crate) path: String,
    pub(crate) content: Vec<u8>,
    /// The file's line number of each line of `content`.
    pub(crate) line_numbers: Vec<usize>,
}

/// A commit's added lines, file by file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommitPatch {
    pub(crate) commit: Option<CommitInfo>,
    pub(crate) files: Vec<Added>,
}

/// The record and field separators of the log format below.
const RECORD: u8 = 0x1e;
const FIELD: u8 = 0x1f;

/// `git diff`'s and `git log -p`'s options that make patches of exactly what was added.
const PATCH_OPTIONS: &[&str] =
    &["-p", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", "--no-prefix"];

/// The lines added between `base` and `head` (from their merge base, as a pull request adds).
pub(crate) fn diff(repository: &Path, base: &str, head: &str) -> Result<CommitPatch, slipway_git::GitError> {
    let range = format!("{base}...{head}");
    let mut arguments = vec!["-c", "core.quotePath=false", "diff"];
    arguments.extend_from_slice(PATCH_OPTIONS);
    arguments.extend_from_slice(&[range.as_str(), "--"]);
    let output = slipway_git::output(Some(repository), "diff", &arguments)?;
    Ok(CommitPatch { commit: None, files: parse_patch(&output) })
}

/// Every commit's added lines: all of history (every ref), or the commits after `since` up to
/// `HEAD`.
pub(crate) fn history(repository: &Path, since: Option<&str>) -> Result<Vec<CommitPatch>, slipway_git::GitError> {
    let range = since.map(|since| format!("{since}..HEAD"));
    let mut arguments = vec!["-c", "core.quotePath=false", "log", "--full-history"];
    arguments.extend_from_slice(PATCH_OPTIONS);
    arguments.push("--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%B%x1f");
    match &range {
        Some(range) => arguments.push(range),
        None => arguments.push("--all"),
    }
    arguments.push("--");
    let output = slipway_git::output(Some(repository), "log", &arguments)?;
    Ok(parse_log(&output))
}

/// Reads `git log` output in the format above.
pub(crate) fn parse_log(output: &[u8]) -> Vec<CommitPatch> {
    output
        .split(|byte| *byte == RECORD)
        .filter(|record| !record.is_empty())
        .filter_map(|record| {
            let mut fields = record.splitn(6, |byte| *byte == FIELD);
            let mut text = || fields.next().map(|field| String::from_utf8_lossy(field).trim().to_owned());
            let commit = CommitInfo { sha: text()?, author: text()?, email: text()?, date: text()?, message: text()? };
            let patch = fields.next().unwrap_or_default();
            Some(CommitPatch { commit: Some(commit), files: parse_patch(patch) })
        })
        .collect()
}

/// The added lines of a unified patch made with `--unified=0 --no-prefix`, file by file.
pub(crate) fn parse_patch(patch: &[u8]) -> Vec<Added> {
    let mut files: Vec<Added> = Vec::new();
    let mut current: Option<Added> = None;
    let mut next_line = 0usize;
    let mut remaining_new = 0usize;
    for line in patch.split(|byte| *byte == b'\n') {
        if remaining_new > 0 {
            match line.first() {
                Some(b'+') => {
                    if let Some(file) = current.as_mut() {
                        if !file.content.is_empty() || !file.line_numbers.is_empty() {
                            file.content.push(b'\n');
                        }
                        file.content.extend_from_slice(&line[1..]);
                        file.line_numbers.push(next_line);
                    }
                    next_line += 1;
                    remaining_new -= 1;
                    continue;
                }
                Some(b' ') => {
                    next_line += 1;
                    remaining_new -= 1;
                    continue;
                }
                Some(b'-' | b'\\') => continue,
                _ => remaining_new = 0,
            }
        }
        if line.starts_with(b"diff --git ") {
            files.extend(current.take().filter(|file| !file.line_numbers.is_empty()));
        } else if let Some(path) = line.strip_prefix(b"+++ ") {
            files.extend(current.take().filter(|file| !file.line_numbers.is_empty()));
            let path = String::from_utf8_lossy(path).into_owned();
            let path = path.strip_prefix('"').and_then(|path| path.strip_suffix('"')).unwrap_or(&path).to_owned();
            current = (path != "/dev/null").then(|| Added { path, ..Added::default() });
        } else if line.starts_with(b"@@ ") {
            // @@ -a,b +c,d @@
            let text = String::from_utf8_lossy(line);
            let new = text.split(' ').find_map(|part| part.strip_prefix('+')).unwrap_or("0");
            let mut numbers = new.split(',');
            next_line = numbers.next().and_then(|start| start.parse().ok()).unwrap_or(0);
            remaining_new = numbers.next().map_or(Some(1), |count| count.parse().ok()).unwrap_or(0);
        }
    }
    files.extend(current.filter(|file| !file.line_numbers.is_empty()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_gives_the_added_lines_with_their_numbers() {
        let patch = b"diff --git a.txt a.txt\nindex 1..2 100644\n--- a.txt\n+++ a.txt\n@@ -3 +3,2 @@\n-old\n+new one\n++++ starts with pluses\n@@ -10,0 +12 @@\n+later\ndiff --git gone.txt gone.txt\n--- gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git \"sp ace.txt\" \"sp ace.txt\"\nnew file mode 100644\n--- /dev/null\n+++ \"sp ace.txt\"\n@@ -0,0 +1 @@\n+hello\n\\ No newline at end of file\n";
        let files = parse_patch(patch);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[0].path, "a.txt");
        assert_eq!(String::from_utf8_lossy(&files[0].content), "new one\n+++ starts with pluses\nlater");
        assert_eq!(files[0].line_numbers, [3, 4, 12]);
        assert_eq!(files[1].path, "sp ace.txt");
        assert_eq!(files[1].line_numbers, [1]);
    }

    #[test]
    fn a_log_gives_each_commit_with_its_author() {
        let log = b"\x1eabc123\x1fAda\x1fada@example.com\x1f2024-01-02T03:04:05+00:00\x1fAdd key\n\nbody\x1f\n\ndiff --git k k\n--- /dev/null\n+++ k\n@@ -0,0 +1 @@\n+key\n\x1edef456\x1fBob\x1fb@example.com\x1f2024-01-03T00:00:00+00:00\x1fEmpty\x1f\n";
        let commits = parse_log(log);
        assert_eq!(commits.len(), 2);
        let first = commits[0].commit.clone().unwrap_or_default();
        assert_eq!(
            (first.sha.as_str(), first.author.as_str(), first.message.as_str()),
            ("abc123", "Ada", "Add key\n\nbody")
        );
        assert_eq!(commits[0].files.len(), 1);
        assert!(commits[1].files.is_empty());
    }

    #[test]
    fn archives_are_read_entry_by_entry() {
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            let mut header = tar::Header::new_gnu();
            header.set_size(5);
            header.set_mode(0o644);
            header.set_cksum();
            assert!(builder.append_data(&mut header, "dir/inner.txt", &b"hello"[..]).is_ok());
            assert!(builder.finish().is_ok());
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        assert!(std::io::Write::write_all(&mut gz, &tar_bytes).is_ok());
        let tgz = gz.finish().unwrap_or_default();
        let mut skipped = Vec::new();
        let entries = Archive::TarGz.entries("a.tgz", &tgz, 1024, &mut skipped);
        assert_eq!(entries, [("dir/inner.txt".to_owned(), b"hello".to_vec())]);
        let entries = Archive::TarGz.entries("a.tgz", &tgz, 2, &mut skipped);
        assert!(entries.is_empty());
        assert_eq!(skipped[0].path, "a.tgz!dir/inner.txt");
        assert_eq!(Archive::of("x/LIB.JAR"), Some(Archive::Zip));
        assert_eq!(Archive::of("x/notes.txt"), None);
    }
}
