//! Fetching the exact commit of a run with the `git` program, once per run on this agent.

use std::path::Path;

use slipway_driver::RepositoryInfo;

fn git(directory: Option<&Path>, arguments: &[&str]) -> Result<String, String> {
    slipway_git::text(directory, "checkout", arguments)
        .map_err(|error| format!("{error} (git {})", arguments.join(" ")))
}

/// Makes `directory` a checkout of `repository` at its exact commit: reuses it when it already is
/// one, else clones afresh.
///
/// # Errors
/// A sentence saying what failed (the repository cannot be cloned, the commit is not in it).
pub fn prepare(repository: &RepositoryInfo, directory: &Path) -> Result<(), String> {
    let commit = repository.commit.trim();
    let valid_commit = commit.len() >= 7 && commit.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid_commit {
        return Err(format!("'{commit}' is not a commit id"));
    }
    if repository.uri.trim().is_empty() || repository.uri.starts_with('-') {
        return Err(format!("'{}' is not a repository to clone", repository.uri));
    }
    if directory.join(".git").exists() && git(Some(directory), &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit)
    {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(directory);
    if let Some(parent) = directory.parent() {
        std::fs::create_dir_all(parent).map_err(|error| format!("{}: {error}", parent.display()))?;
    }
    let target = directory.to_str().ok_or_else(|| format!("{} is not UTF-8", directory.display()))?;
    git(None, &["clone", "--quiet", "--no-checkout", "--no-recurse-submodules", "--", &repository.uri, target])?;
    if git(Some(directory), &["checkout", "--quiet", "--detach", commit]).is_err() {
        git(Some(directory), &["fetch", "--quiet", "origin", commit])?;
        git(Some(directory), &["checkout", "--quiet", "--detach", commit])?;
    }
    Ok(())
}
