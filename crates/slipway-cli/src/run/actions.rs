//! The check that every `uses:` step of a GitHub workflow has an action that can run here, before
//! the run starts: built in, a local action of the repository, or in the action store given with
//! `--actions DIR` (laid out as `DIR/owner/repo@ref/`, see docs/github-actions.md). Each action
//! that cannot run is an error at its step's place, saying what to do.

use std::path::{Path, PathBuf};

use slipway_diagnostics::Diagnostic;
use slipway_plan::{Dialect, Plan};
use slipway_runtime::{UNKNOWN_ACTION_CODE, unknown_actions};

/// The action store's directory, made absolute; an error when it is not a directory.
///
/// # Errors
/// When `dir` is not a directory.
pub fn store(dir: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let Some(dir) = dir else { return Ok(None) };
    if !dir.is_dir() {
        return Err(format!(
            "the action store {} given with `--actions` is not a directory; give a directory laid out as DIR/owner/repo@ref/",
            dir.display()
        ));
    }
    Ok(Some(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())))
}

/// The diagnostics of the actions of a workflow's plan that cannot run here (none for an Azure
/// pipeline).
pub fn check(plan: &Plan, store: Option<&Path>, repository_root: &Path) -> Vec<Diagnostic> {
    if plan.dialect != Dialect::GithubActions {
        return Vec::new();
    }
    unknown_actions(plan, store, repository_root)
        .into_iter()
        .map(|unknown| Diagnostic::error(UNKNOWN_ACTION_CODE, unknown.message, unknown.span).with_hint(unknown.hint))
        .collect()
}
