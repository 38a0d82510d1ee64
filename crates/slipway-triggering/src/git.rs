//! What triggers ask of git: the refs of a repository (`git ls-remote`), and a bare mirror of it
//! per pipeline in the data directory that commits, changed paths and pipeline files are read
//! from without a checkout. Every function blocks: call them from a blocking thread.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use slipway_store::PipelineId;

pub(crate) use slipway_git::GitError;

/// Runs git with `arguments` in `directory`; its standard output on success.
fn run(directory: Option<&Path>, action: &'static str, arguments: &[&str]) -> Result<Vec<u8>, GitError> {
    slipway_git::output(directory, action, arguments)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

/// Checks that a commit id is hexadecimal, so that git cannot read it as an option or a range.
pub(crate) fn is_commit_id(commit: &str) -> bool {
    (4..=64).contains(&commit.len()) && commit.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The branches and tags of a repository, and the branch its `HEAD` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteRefs {
    /// Full ref names (`refs/heads/main`, `refs/tags/v1`) and the commit each points at (an
    /// annotated tag's commit, not the tag object).
    pub refs: BTreeMap<String, String>,
    /// The branch `HEAD` points at (`refs/heads/main`), when the repository says.
    pub head: Option<String>,
}

impl RemoteRefs {
    /// Reads the output of `git ls-remote --symref`.
    #[must_use]
    pub fn parse(output: &str) -> Self {
        let mut refs = BTreeMap::new();
        let mut peeled = BTreeMap::new();
        let mut head = None;
        for line in output.lines() {
            let Some((left, name)) = line.split_once('\t') else { continue };
            if let Some(target) = left.strip_prefix("ref: ") {
                if name == "HEAD" {
                    head = Some(target.trim().to_owned());
                }
                continue;
            }
            let commit = left.trim();
            if !is_commit_id(commit) {
                continue;
            }
            if let Some(tag) = name.strip_suffix("^{}") {
                peeled.insert(tag.to_owned(), commit.to_owned());
            } else if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                refs.insert(name.to_owned(), commit.to_owned());
            }
        }
        for (tag, commit) in peeled {
            if let Some(entry) = refs.get_mut(&tag) {
                *entry = commit;
            }
        }
        Self { refs, head }
    }

    /// The branches only.
    pub fn branches(&self) -> impl Iterator<Item = (&String, &String)> {
        self.refs.iter().filter(|(name, _)| name.starts_with("refs/heads/"))
    }
}

/// The refs of `repository` (a local path or URL), as `git ls-remote` lists them.
///
/// # Errors
/// When git cannot reach the repository.
pub(crate) fn ls_remote(repository: &str) -> Result<RemoteRefs, GitError> {
    if repository.starts_with('-') {
        return Err(GitError { action: "ls-remote", detail: format!("'{repository}' is not a repository") });
    }
    let output = run(None, "ls-remote", &["ls-remote", "--symref", repository])?;
    Ok(RemoteRefs::parse(&String::from_utf8_lossy(&output)))
}

/// A commit's message and author.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommitInfo {
    /// The whole message.
    pub message: String,
    /// Its first line.
    pub subject: String,
    /// The author's name.
    pub author: String,
    /// The author's e-mail.
    pub email: String,
}

/// A bare mirror of a pipeline's repository: `triggers/PIPELINE.git` in the data directory.
#[derive(Clone, Debug)]
pub(crate) struct Mirror {
    directory: PathBuf,
}

impl Mirror {
    /// The mirror of a pipeline, created (empty) when it does not exist yet.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub(crate) fn open(data_dir: &Path, pipeline: PipelineId) -> Result<Self, GitError> {
        Self::at(&data_dir.join("triggers").join(format!("{}.git", pipeline.get())))
    }

    /// A bare repository at `directory`, created (empty) when it does not exist yet.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub(crate) fn at(directory: &Path) -> Result<Self, GitError> {
        let directory = directory.to_path_buf();
        if !directory.join("HEAD").is_file() {
            std::fs::create_dir_all(&directory)
                .map_err(|error| GitError { action: "init", detail: format!("{}: {error}", directory.display()) })?;
            run(Some(&directory), "init", &["init", "--quiet", "--bare"])?;
        }
        Ok(Self { directory })
    }

    fn git(&self, action: &'static str, arguments: &[&str]) -> Result<Vec<u8>, GitError> {
        run(Some(&self.directory), action, arguments)
    }

    /// Fetches every branch and tag of `repository`, replacing what the mirror had.
    ///
    /// # Errors
    /// When git cannot fetch.
    pub(crate) fn fetch(&self, repository: &str) -> Result<(), GitError> {
        self.git(
            "fetch",
            &[
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "--no-write-fetch-head",
                repository,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
        )
        .map(drop)
    }

    /// Fetches the newest commit of one ref of `repository` (no history) under the same name.
    ///
    /// # Errors
    /// When git cannot fetch it.
    pub(crate) fn fetch_shallow(&self, repository: &str, git_ref: &str) -> Result<(), GitError> {
        if !git_ref.starts_with("refs/") {
            return Err(GitError { action: "fetch", detail: format!("'{git_ref}' is not a ref") });
        }
        let refspec = format!("+{git_ref}:{git_ref}");
        self.git(
            "fetch",
            &["fetch", "--quiet", "--no-tags", "--depth", "1", "--no-write-fetch-head", repository, &refspec],
        )
        .map(drop)
    }

    /// Fetches one ref of `repository` into the mirror as `local`.
    ///
    /// # Errors
    /// When git cannot fetch it (such as when the repository has no such ref).
    pub(crate) fn fetch_ref(&self, repository: &str, remote: &str, local: &str) -> Result<(), GitError> {
        if !remote.starts_with("refs/") || !local.starts_with("refs/") {
            return Err(GitError { action: "fetch", detail: format!("'{remote}' is not a ref") });
        }
        let refspec = format!("+{remote}:{local}");
        self.git("fetch", &["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", repository, &refspec]).map(drop)
    }

    /// Whether the mirror has `commit`.
    #[must_use]
    pub(crate) fn has_commit(&self, commit: &str) -> bool {
        is_commit_id(commit) && self.git("cat-file", &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_ok()
    }

    /// The commit a ref of the mirror points at.
    #[must_use]
    pub(crate) fn resolve(&self, git_ref: &str) -> Option<String> {
        if !git_ref.starts_with("refs/") {
            return None;
        }
        let output =
            self.git("rev-parse", &["rev-parse", "--verify", "--quiet", &format!("{git_ref}^{{commit}}")]).ok()?;
        Some(text(&output)).filter(|commit| is_commit_id(commit))
    }

    /// Paths that differ between two commits (a two-dot diff, both sides of a rename).
    ///
    /// # Errors
    /// When a commit is not in the mirror.
    pub(crate) fn changed_paths(&self, old: &str, new: &str) -> Result<Vec<String>, GitError> {
        check(old)?;
        check(new)?;
        let output = self.git("diff", &["diff", "--name-only", "--no-renames", "-z", old, new, "--"])?;
        Ok(split_paths(&output))
    }

    /// How many commits `new` has that `old` has not (`git rev-list --count old..new`).
    ///
    /// # Errors
    /// When a commit is not in the mirror.
    pub(crate) fn count_commits(&self, old: &str, new: &str) -> Result<usize, GitError> {
        check(old)?;
        check(new)?;
        let range = format!("{old}..{new}");
        let output = self.git("count commits", &["rev-list", "--count", &range, "--"])?;
        String::from_utf8_lossy(&output)
            .trim()
            .parse()
            .map_err(|_| GitError { action: "count commits", detail: "git rev-list --count gave no number".to_owned() })
    }

    /// Paths a pull request changes: its source against where it left its target (a three-dot
    /// diff).
    ///
    /// # Errors
    /// When a commit is not in the mirror.
    pub(crate) fn pull_request_paths(&self, target: &str, source: &str) -> Result<Vec<String>, GitError> {
        check(target)?;
        check(source)?;
        let range = format!("{target}...{source}");
        let output = self.git("diff", &["diff", "--name-only", "--no-renames", "-z", &range, "--"])?;
        Ok(split_paths(&output))
    }

    /// Paths changed by the commits of a new branch: those reachable from `new` and from no other
    /// branch of the mirror. A branch made from another one without commits of its own changes
    /// nothing.
    ///
    /// # Errors
    /// When the commit is not in the mirror.
    pub(crate) fn new_branch_paths(&self, new: &str, branch_ref: &str) -> Result<Vec<String>, GitError> {
        check(new)?;
        let heads = self.git("for-each-ref", &["for-each-ref", "--format=%(refname)%00%(objectname)", "refs/heads"])?;
        let others: BTreeSet<String> = String::from_utf8_lossy(&heads)
            .lines()
            .filter_map(|line| line.split_once('\0'))
            .filter(|(name, _)| *name != branch_ref)
            .map(|(_, commit)| commit.to_owned())
            .filter(|commit| is_commit_id(commit))
            .collect();
        let mut arguments = vec!["log", "--format=", "--name-only", "--no-renames", "-z", new];
        if !others.is_empty() {
            arguments.push("--not");
            arguments.extend(others.iter().map(String::as_str));
        }
        arguments.push("--");
        let output = self.git("log", &arguments)?;
        let paths: BTreeSet<String> = split_paths(&output).into_iter().collect();
        Ok(paths.into_iter().collect())
    }

    /// A commit's message and author.
    ///
    /// # Errors
    /// When the commit is not in the mirror.
    pub(crate) fn commit_info(&self, commit: &str) -> Result<CommitInfo, GitError> {
        check(commit)?;
        let output = self.git("log", &["log", "-1", "--format=%an%x00%ae%x00%B", commit, "--"])?;
        let output = String::from_utf8_lossy(&output);
        let mut parts = output.splitn(3, '\0');
        let author = parts.next().unwrap_or_default().to_owned();
        let email = parts.next().unwrap_or_default().to_owned();
        let message = parts.next().unwrap_or_default().trim_end().to_owned();
        let subject = message.lines().next().unwrap_or_default().to_owned();
        Ok(CommitInfo { message, subject, author, email })
    }

    /// A file of a commit, its symbolic links resolved inside the commit's tree as a checkout
    /// of it would resolve them: a link out of the repository is not followed.
    ///
    /// # Errors
    /// When the commit is not in the mirror, the file is not UTF-8, or links loop.
    pub(crate) fn read_file(&self, commit: &str, path: &str) -> Result<TreeFile, GitError> {
        check(commit)?;
        let mut pending: std::collections::VecDeque<String> = path.split('/').map(str::to_owned).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if resolved.pop().is_none() {
                        return Ok(TreeFile::OutsideRepository);
                    }
                    continue;
                }
                _ => resolved.push(part),
            }
            let here = resolved.join("/");
            let Some(entry) = self.tree_entry(commit, &here)? else { return Ok(TreeFile::Missing) };
            match entry.mode.as_str() {
                "120000" => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(GitError {
                            action: "cat-file",
                            detail: format!("{path}: too many symbolic links"),
                        });
                    }
                    let target = String::from_utf8_lossy(&self.git("cat-file", &["cat-file", "blob", &entry.object])?)
                        .into_owned();
                    if target.starts_with('/') {
                        return Ok(TreeFile::OutsideRepository);
                    }
                    resolved.pop();
                    for part in target.split('/').rev() {
                        pending.push_front(part.to_owned());
                    }
                }
                "040000" if !pending.is_empty() => {}
                _ if !pending.is_empty() || entry.kind != "blob" => return Ok(TreeFile::Missing),
                _ => {
                    let bytes = self.git("cat-file", &["cat-file", "blob", &entry.object])?;
                    return String::from_utf8(bytes)
                        .map(TreeFile::Text)
                        .map_err(|_| GitError { action: "cat-file", detail: format!("{path} is not UTF-8 text") });
                }
            }
        }
        Ok(TreeFile::Missing)
    }

    /// The entry of a commit's tree at `path` (no links followed), `None` when there is none.
    fn tree_entry(&self, commit: &str, path: &str) -> Result<Option<TreeEntry>, GitError> {
        let output = match self.git("ls-tree", &["--literal-pathspecs", "ls-tree", "-z", commit, "--", path]) {
            Ok(output) => output,
            Err(_) if self.has_commit(commit) => return Ok(None),
            Err(error) => return Err(error),
        };
        let Some(line) = output.split(|&byte| byte == 0).next().filter(|line| !line.is_empty()) else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(line);
        let Some((meta, name)) = line.split_once('\t') else { return Ok(None) };
        if name != path {
            return Ok(None);
        }
        let mut fields = meta.split(' ');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(mode), Some(kind), Some(object)) if is_commit_id(object) => {
                Ok(Some(TreeEntry { mode: mode.to_owned(), kind: kind.to_owned(), object: object.to_owned() }))
            }
            _ => Ok(None),
        }
    }
}

/// How many symbolic links one path may go through (Linux's limit).
const MAX_LINKS: usize = 40;

/// One entry of a git tree.
struct TreeEntry {
    mode: String,
    kind: String,
    object: String,
}

/// What a path of a commit holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TreeFile {
    /// A file's text.
    Text(String),
    /// No file at that path (nothing, a directory, or a dangling link).
    Missing,
    /// A symbolic link on the way leads outside the repository; it was not followed.
    OutsideRepository,
}

fn check(commit: &str) -> Result<(), GitError> {
    if is_commit_id(commit) {
        Ok(())
    } else {
        Err(GitError { action: "rev-parse", detail: format!("'{commit}' is not a commit id") })
    }
}

fn split_paths(output: &[u8]) -> Vec<String> {
    output
        .split(|&byte| byte == 0)
        .filter(|path| !path.is_empty())
        .map(|path| String::from_utf8_lossy(path).trim_matches('\n').to_owned())
        .filter(|path| !path.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_remote_output_is_read_with_peeled_tags_and_head() {
        let output = "ref: refs/heads/main\tHEAD\n\
            1111111111111111111111111111111111111111\tHEAD\n\
            1111111111111111111111111111111111111111\trefs/heads/main\n\
            2222222222222222222222222222222222222222\trefs/heads/feature/x\n\
            3333333333333333333333333333333333333333\trefs/tags/v1\n\
            4444444444444444444444444444444444444444\trefs/tags/v1^{}\n\
            5555555555555555555555555555555555555555\trefs/pull/7/head\n\
            not-a-commit\trefs/heads/odd\n";
        let refs = RemoteRefs::parse(output);
        assert_eq!(refs.head.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            refs.refs.iter().map(|(name, commit)| format!("{name} {}", &commit[..1])).collect::<Vec<_>>(),
            ["refs/heads/feature/x 2", "refs/heads/main 1", "refs/tags/v1 4"]
        );
        assert_eq!(refs.branches().count(), 2);
    }

    #[test]
    fn commit_ids_are_hexadecimal() {
        assert!(is_commit_id("0123abcdef"));
        assert!(!is_commit_id("--upload-pack=x"));
        assert!(!is_commit_id("HEAD"));
        assert!(!is_commit_id("a..b"));
    }

    #[test]
    fn paths_are_split_on_nul() {
        assert_eq!(split_paths(b"a.txt\0dir/b c.rs\0\0"), ["a.txt", "dir/b c.rs"]);
    }

    /// A mirror of a repository whose commit holds plain files, links inside it and links out.
    fn mirror_with_links() -> Result<(tempfile::TempDir, Mirror, String), Box<dyn std::error::Error>> {
        let top = tempfile::tempdir()?;
        let work = top.path().join("work");
        std::fs::create_dir_all(work.join("templates/deep"))?;
        std::fs::write(work.join("templates/steps.yml"), "steps: []\n")?;
        std::fs::write(work.join("templates/deep/job.yml"), "jobs: []\n")?;
        let links = [
            ("templates/steps.yml", "linked.yml"),
            ("templates", "dir-link"),
            ("../steps.yml", "templates/deep/up.yml"),
            ("/etc/passwd", "absolute.yml"),
            ("../admin-token", "relative.yml"),
            ("../../..", "templates/deep/escape"),
            ("loop-b.yml", "loop-a.yml"),
            ("loop-a.yml", "loop-b.yml"),
        ];
        for (target, link) in links {
            std::os::unix::fs::symlink(target, work.join(link))?;
        }
        let git = |arguments: &[&str]| {
            run(Some(&work), "test", &[&["-c", "user.name=T", "-c", "user.email=t@e"][..], arguments].concat())
        };
        git(&["init", "--quiet", "-b", "main"])?;
        git(&["add", "."])?;
        git(&["commit", "--quiet", "-m", "links"])?;
        let commit = text(&git(&["rev-parse", "HEAD"])?);
        let mirror = Mirror::open(top.path(), PipelineId(1))?;
        mirror.fetch(&work.display().to_string())?;
        Ok((top, mirror, commit))
    }

    #[test]
    fn links_inside_the_tree_are_followed_and_links_out_are_not() -> Result<(), Box<dyn std::error::Error>> {
        let (_top, mirror, commit) = mirror_with_links()?;
        let read = |path: &str| mirror.read_file(&commit, path);
        assert_eq!(read("templates/steps.yml")?, TreeFile::Text("steps: []\n".into()));
        assert_eq!(read("linked.yml")?, TreeFile::Text("steps: []\n".into()));
        assert_eq!(read("dir-link/deep/job.yml")?, TreeFile::Text("jobs: []\n".into()));
        assert_eq!(read("templates/deep/up.yml")?, TreeFile::Text("steps: []\n".into()));
        assert_eq!(read("absolute.yml")?, TreeFile::OutsideRepository);
        assert_eq!(read("relative.yml")?, TreeFile::OutsideRepository);
        assert_eq!(read("templates/deep/escape/etc/passwd")?, TreeFile::OutsideRepository);
        assert_eq!(read("missing.yml")?, TreeFile::Missing);
        assert_eq!(read("templates")?, TreeFile::Missing);
        assert_eq!(read("templates/steps.yml/x")?, TreeFile::Missing);
        assert!(read("loop-a.yml").is_err());
        Ok(())
    }
}
