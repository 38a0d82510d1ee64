//! The one way Slipway runs the `git` program, for the server's checkouts, its trigger mirrors and
//! agents' checkouts alike: never waiting for a password (no terminal prompt, no askpass
//! program), never through a remote helper that runs a command (`ext::`, `fd::`: only the
//! transports in [`ALLOWED_PROTOCOLS`]), standard input closed, giving up on an HTTP transfer that
//! stalls for a minute; and a typed [`GitError`] that says what git was asked to do and what it
//! said.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The transports git may use (`GIT_ALLOW_PROTOCOL`).
pub const ALLOWED_PROTOCOLS: &str = "file:git:http:https:ssh";

/// A git command that failed, with what git said.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("git {action} failed: {detail}")]
pub struct GitError {
    /// What git was asked to do (`clone`, `fetch`).
    pub action: &'static str,
    /// What it said (its standard error), or why it could not be started.
    pub detail: String,
}

/// Runs `git ARGUMENTS` in `directory` (this process's when `None`); its standard output, as it
/// is, on success.
///
/// # Errors
/// A [`GitError`] for `action` when git cannot start or exits unsuccessfully.
pub fn output(directory: Option<&Path>, action: &'static str, arguments: &[&str]) -> Result<Vec<u8>, GitError> {
    let mut command = Command::new("git");
    command
        .args(arguments)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
        .env("GIT_HTTP_LOW_SPEED_TIME", "60")
        .stdin(Stdio::null());
    if let Some(directory) = directory {
        command.current_dir(directory);
    }
    let output =
        command.output().map_err(|error| GitError { action, detail: format!("git could not be started: {error}") })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let detail = if detail.is_empty() { format!("it exited with {}", output.status) } else { detail };
        Err(GitError { action, detail })
    }
}

/// Like [`output`], the output as trimmed text.
///
/// # Errors
/// As [`output`].
pub fn text(directory: Option<&Path>, action: &'static str, arguments: &[&str]) -> Result<String, GitError> {
    output(directory, action, arguments).map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
}

/// Why a commit could not be checked out.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The commit is not a commit id (7 to 64 hex digits).
    #[error("'{0}' is not a commit id")]
    NotACommit(String),
    /// The repository's address is empty or looks like an option.
    #[error("'{0}' is not a repository to clone")]
    NotARepository(String),
    /// A directory could not be made or removed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
    /// The destination's path cannot be given to git.
    #[error("{0} is not UTF-8")]
    NotUtf8(PathBuf),
    /// Git failed (cloning, or the commit is not in the repository).
    #[error("commit {commit} cannot be checked out: {source}")]
    Git {
        /// The commit.
        commit: String,
        /// What git said.
        source: GitError,
    },
}

/// Makes `destination` a checkout of `repository` at exactly `commit`: kept as it is when it
/// already is one, else cloned afresh (fetching the commit by id when no branch has it). With
/// `local_branch` (a branch name), the commit is checked out on a local branch of that name, so
/// that tools that ask for the branch see it; else detached. Blocking.
///
/// # Errors
/// [`CheckoutError`]: a malformed commit or repository, a directory that cannot be made, or git.
pub fn checkout_commit(
    repository: &str,
    commit: &str,
    local_branch: Option<&str>,
    destination: &Path,
) -> Result<(), CheckoutError> {
    let commit = commit.trim();
    if !(7..=64).contains(&commit.len()) || !commit.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(CheckoutError::NotACommit(commit.to_owned()));
    }
    if repository.trim().is_empty() || repository.starts_with('-') {
        return Err(CheckoutError::NotARepository(repository.to_owned()));
    }
    let git = |directory: Option<&Path>, action: &'static str, arguments: &[&str]| {
        output(directory, action, arguments)
            .map(drop)
            .map_err(|source| CheckoutError::Git { commit: commit.to_owned(), source })
    };
    if destination.join(".git").exists()
        && text(Some(destination), "rev-parse", &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit)
    {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckoutError::Io { path, source }
    };
    if destination.exists() {
        std::fs::remove_dir_all(destination).map_err(io(destination))?;
    }
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let target = destination.to_str().ok_or_else(|| CheckoutError::NotUtf8(destination.to_path_buf()))?;
    git(None, "clone", &["clone", "--quiet", "--no-checkout", "--no-recurse-submodules", "--", repository, target])?;
    let checkout = || match local_branch {
        Some(name) => git(Some(destination), "checkout", &["checkout", "--quiet", "-B", name, commit]),
        None => git(Some(destination), "checkout", &["checkout", "--quiet", "--detach", commit]),
    };
    if checkout().is_err() {
        git(Some(destination), "fetch", &["fetch", "--quiet", "origin", commit])?;
        checkout()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_helpers_are_refused_and_failures_say_what_git_said() {
        let Ok(scratch) = tempfile::tempdir() else { return };
        let marker = scratch.path().join("pwned");
        let helper = format!("ext::sh -c touch% {}", marker.display());
        let refused = text(None, "ls-remote", &["ls-remote", &helper]);
        assert!(refused.is_err(), "{refused:?}");
        assert!(!marker.exists(), "git ran the remote helper");
        let missing = text(None, "ls-remote", &["ls-remote", "/no/such/repository"]);
        assert!(
            matches!(&missing, Err(GitError { action: "ls-remote", detail }) if detail.contains("/no/such/repository")),
            "{missing:?}"
        );
        assert!(text(None, "version", &["--version"]).is_ok_and(|version| version.starts_with("git version")));
    }

    #[test]
    fn a_commit_is_checked_out_exactly_and_kept() {
        let Ok(scratch) = tempfile::tempdir() else { return };
        let origin = scratch.path().join("origin");
        let run = |arguments: &[&str]| {
            let mut all = vec!["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"];
            all.extend_from_slice(arguments);
            text(Some(&origin), "test", &all)
        };
        assert!(std::fs::create_dir_all(&origin).is_ok());
        assert!(run(&["init", "--quiet"]).is_ok());
        assert!(run(&["commit", "--quiet", "--allow-empty", "-m", "one"]).is_ok());
        let first = run(&["rev-parse", "HEAD"]).unwrap_or_default();
        assert!(run(&["commit", "--quiet", "--allow-empty", "-m", "two"]).is_ok());
        let origin_text = origin.display().to_string();
        let checkout = scratch.path().join("runs/1/source");
        let done = checkout_commit(&origin_text, &first, Some("main"), &checkout);
        assert!(done.is_ok(), "{done:?}");
        assert_eq!(text(Some(&checkout), "test", &["rev-parse", "HEAD"]).ok(), Some(first.clone()));
        assert_eq!(text(Some(&checkout), "test", &["branch", "--show-current"]).ok().as_deref(), Some("main"));
        // Checked out already: kept (a marker file survives).
        assert!(std::fs::write(checkout.join("marker"), "x").is_ok());
        assert!(checkout_commit(&origin_text, &first, None, &checkout).is_ok());
        assert!(checkout.join("marker").exists());
        assert!(matches!(checkout_commit(&origin_text, "zz", None, &checkout), Err(CheckoutError::NotACommit(_))));
        let absent = checkout_commit(&origin_text, "0123456789abcdef", None, &scratch.path().join("other"));
        assert!(matches!(absent, Err(CheckoutError::Git { .. })), "{absent:?}");
        assert!(matches!(
            checkout_commit("--upload-pack=x", &first, None, &checkout),
            Err(CheckoutError::NotARepository(_))
        ));
    }
}
