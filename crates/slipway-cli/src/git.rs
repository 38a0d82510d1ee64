//! What the pipeline's git checkout tells about the run, read from `.git` directly (no `git`
//! process): the repository root, the branch and the commit. Used for the variables Azure makes
//! available to template expressions at compile time.

use std::path::{Path, PathBuf};

/// The directory holding `.git`, searching upwards from `start`.
pub fn repository_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|directory| directory.join(".git").exists()).map(Path::to_path_buf)
}

/// The git directory of a checkout (`.git`, or where a `.git` file points for worktrees).
fn git_directory(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    Some(root.join(target))
}

/// The checked-out branch's full ref (`refs/heads/main`) and the commit, when known.
pub fn head(root: &Path) -> (Option<String>, Option<String>) {
    let Some(git) = git_directory(root) else { return (None, None) };
    let Ok(head) = std::fs::read_to_string(git.join("HEAD")) else { return (None, None) };
    let head = head.trim();
    match head.strip_prefix("ref:") {
        Some(reference) => {
            let reference = reference.trim().to_owned();
            let commit = resolve_ref(&git, &reference);
            (Some(reference), commit)
        }
        None => (None, Some(head.to_owned())),
    }
}

fn resolve_ref(git: &Path, reference: &str) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(git.join(reference)) {
        return Some(text.trim().to_owned());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference).then(|| commit.to_owned())
    })
}

/// The predefined variables Azure makes available to template expressions, as far as a local
/// checkout can tell them.
pub fn compile_time_variables(root: &Path, entry: &Path) -> Vec<(String, String)> {
    let (reference, commit) = head(root);
    let reference = reference.unwrap_or_else(|| "refs/heads/main".to_owned());
    let branch_name = reference.rsplit('/').next().unwrap_or_default().to_owned();
    let repository = root.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let definition = entry.file_stem().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let mut variables = vec![
        ("Build.SourceBranch".to_owned(), reference),
        ("Build.SourceBranchName".to_owned(), branch_name),
        ("Build.Reason".to_owned(), "Manual".to_owned()),
        ("Build.Repository.Name".to_owned(), repository),
        ("Build.Repository.Provider".to_owned(), "Git".to_owned()),
        ("Build.DefinitionName".to_owned(), definition),
        ("System.TeamProject".to_owned(), "local".to_owned()),
        ("System.PullRequest.IsFork".to_owned(), "False".to_owned()),
    ];
    if let Some(commit) = commit {
        variables.push(("Build.SourceVersion".to_owned(), commit));
    }
    variables
}
