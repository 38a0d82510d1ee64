//! What the pipeline's git checkout tells about the run. The repository root, the branch and the
//! commit are read from `.git` directly (no `git` process), for the variables Azure makes
//! available to template expressions at compile time and for `slipway run`; the commit's message
//! and author and the remote, which only runs need, come from the `git` program.

use std::path::{Path, PathBuf};

/// The branch assumed when `HEAD` names none (a detached checkout or no git at all).
const DEFAULT_BRANCH: &str = "refs/heads/main";

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
    let reference = reference.unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
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

/// Runs `git ARGS` in `directory`, giving its trimmed output when it succeeds.
fn git(directory: &Path, args: &[&str]) -> Option<String> {
    slipway_git::text(Some(directory), "log", args).ok()
}

/// The repository the pipeline file belongs to (its root, or the file's directory outside git) and
/// what git knows about the checked-out commit.
pub fn repository(pipeline: &Path) -> (PathBuf, slipway_driver::RepositoryInfo) {
    let directory = pipeline
        .parent()
        .filter(|directory| !directory.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let directory = std::fs::canonicalize(&directory).unwrap_or(directory);
    let found = repository_root(&directory);
    let in_git = found.is_some();
    let root = found.unwrap_or(directory);
    let name = root.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "local".into());
    let (branch, commit) = head(&root);
    let user = || std::env::var("USER").ok().unwrap_or_default();
    // Outside git, nothing to ask it. Inside, the two questions are asked at once (each is a
    // process that takes a few milliseconds before the first job can start).
    let (message, author, email, uri) = if in_git {
        let remote_root = root.clone();
        let remote = std::thread::spawn(move || git(&remote_root, &["config", "--get", "remote.origin.url"]));
        let log = if commit.is_some() {
            git(&root, &["log", "-1", "--format=%s%n%an%n%ae"]).unwrap_or_default()
        } else {
            String::new()
        };
        let mut lines = log.lines();
        let message = lines.next().unwrap_or_default().to_owned();
        let author =
            lines.next().map(str::to_owned).or_else(|| git(&root, &["config", "user.name"])).unwrap_or_else(user);
        let email =
            lines.next().map(str::to_owned).or_else(|| git(&root, &["config", "user.email"])).unwrap_or_default();
        let uri = remote.join().ok().flatten().unwrap_or_else(|| root.display().to_string());
        (message, author, email, uri)
    } else {
        (String::new(), user(), String::new(), root.display().to_string())
    };
    let info = slipway_driver::RepositoryInfo {
        name,
        branch: branch.unwrap_or_else(|| DEFAULT_BRANCH.to_owned()),
        commit: commit.unwrap_or_default(),
        message,
        author,
        email,
        uri,
    };
    (root, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(directory: &Path, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .args(["-c", "user.name=Tess Ter", "-c", "user.email=tess@example.com"])
            .args(args)
            .current_dir(directory)
            .output()
            .unwrap_or_else(|error| panic!("git runs: {error}"));
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// What `.git` says agrees with what the `git` program says, also once refs are packed.
    #[test]
    fn repository_facts_agree_with_git() {
        let directory = std::env::temp_dir().join(format!("slipway-git-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(directory.join("ci")).unwrap_or_else(|error| panic!("{error}"));
        run_git(&directory, &["init", "-q", "-b", "feature/x"]);
        std::fs::write(directory.join("ci/azure-pipelines.yml"), "steps: []\n")
            .unwrap_or_else(|error| panic!("{error}"));
        run_git(&directory, &["add", "-A"]);
        run_git(&directory, &["commit", "-q", "-m", "first commit"]);
        let expected = run_git(&directory, &["rev-parse", "HEAD"]);
        for packed in [false, true] {
            if packed {
                run_git(&directory, &["pack-refs", "--all"]);
            }
            let (root, info) = repository(&directory.join("ci/azure-pipelines.yml"));
            assert_eq!(root, std::fs::canonicalize(&directory).unwrap_or_else(|error| panic!("{error}")));
            assert_eq!(info.branch, "refs/heads/feature/x");
            assert_eq!(info.commit, expected, "packed refs: {packed}");
            assert_eq!((info.message.as_str(), info.author.as_str()), ("first commit", "Tess Ter"));
            let variables = compile_time_variables(&root, &directory.join("ci/azure-pipelines.yml"));
            assert!(variables.contains(&("Build.SourceBranchName".to_owned(), "x".to_owned())), "{variables:?}");
            assert!(variables.contains(&("Build.SourceVersion".to_owned(), expected.clone())), "{variables:?}");
        }
        let _ = std::fs::remove_dir_all(&directory);
    }
}
