//! The one way Slipway runs the `git` program, for the server's checkouts, its trigger mirrors and
//! agents' checkouts alike: never waiting for a password (no terminal prompt, no askpass
//! program), never through a remote helper that runs a command (`ext::`, `fd::`: only the
//! transports in [`ALLOWED_PROTOCOLS`]), standard input closed, giving up on an HTTP transfer that
//! stalls for a minute; and a typed [`GitError`] that says what git was asked to do and what it
//! said.

use std::path::Path;
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
}
