//! What the server checks of a repository before a pipeline is made of it: that git can read it,
//! that the branch runs will use exists, and that the pipeline file is there (inside the
//! repository) on that branch. A pipeline that would fail at its first run is refused when it is
//! created, with the reason, instead. A GitHub Actions workflow that only `workflow_call` starts
//! (a reusable workflow) is refused too: nothing would ever run it as a pipeline of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::git::{self, GitError, Mirror, RemoteRefs, TreeFile};

/// How long the checks may take before the repository is called unreachable.
const INSPECT_WAIT: Duration = Duration::from_secs(60);

/// Why a repository cannot be made a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// git cannot list the repository.
    #[error(
        "'{repository}' is not a git repository the server can read: {detail}; check the path or URL, and that the server's user may read it"
    )]
    Unreachable {
        /// The repository given.
        repository: String,
        /// What git said.
        detail: String,
    },
    /// The repository has no commit.
    #[error("'{0}' has no commits yet: push a commit with the pipeline file first")]
    Empty(String),
    /// The branch runs would use does not exist.
    #[error("'{repository}' has no branch '{branch}'")]
    NoBranch {
        /// The repository.
        repository: String,
        /// The branch.
        branch: String,
    },
    /// The repository names no default branch and has several.
    #[error("'{0}' does not say which branch is its default: give the pipeline a defaultBranch")]
    NoDefaultBranch(String),
    /// The pipeline file is not on the branch.
    #[error("'{path}' was not found on branch '{branch}' of '{repository}' (commit {commit}): check yamlPath")]
    NoFile {
        /// The YAML path.
        path: String,
        /// The branch looked at.
        branch: String,
        /// The repository.
        repository: String,
        /// The commit looked at (short).
        commit: String,
    },
    /// The pipeline file links out of the repository.
    #[error(
        "'{0}' leads outside the repository through a symbolic link; commit the pipeline file itself instead of a link to it"
    )]
    OutsideRepository(String),
    /// The pipeline file is a reusable GitHub Actions workflow.
    #[error(
        "'{0}' is a reusable workflow (its only trigger is `on: workflow_call`): it runs only when another workflow calls it with `jobs.<job_id>.uses`; make the pipeline of the calling workflow instead, or give this one a trigger such as `workflow_dispatch` or `push`"
    )]
    ReusableWorkflow(String),
    /// The checks took too long.
    #[error("'{0}' did not answer within a minute; check the URL and that the server can reach it")]
    TimedOut(String),
    /// git failed otherwise.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// What the checks found: the repository's branches and tags (the heads a new pipeline's triggers
/// start from).
#[derive(Debug)]
pub struct Intake {
    /// Every branch and tag with its commit.
    pub refs: RemoteRefs,
}

/// Checks that `repository` can be a pipeline's with its file at `yaml_path` on `default_branch`
/// (the repository's own default branch when `None`). `scratch` is a directory to fetch into,
/// which must not exist; it is removed afterwards.
///
/// # Errors
/// An [`IntakeError`] saying what is wrong.
pub async fn inspect(
    repository: &str,
    default_branch: Option<&str>,
    yaml_path: &str,
    scratch: PathBuf,
) -> Result<Intake, IntakeError> {
    let (repository, branch, path) = (repository.to_owned(), default_branch.map(str::to_owned), yaml_path.to_owned());
    let name = repository.clone();
    let work = tokio::task::spawn_blocking(move || inspect_blocking(&repository, branch.as_deref(), &path, &scratch));
    let outcome = tokio::time::timeout(INSPECT_WAIT, work).await;
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(error)) => Err(IntakeError::Git(GitError { action: "inspect", detail: error.to_string() })),
        // The blocking work goes on and removes what it fetched when it ends.
        Err(_) => Err(IntakeError::TimedOut(name)),
    }
}

fn inspect_blocking(
    repository: &str,
    default_branch: Option<&str>,
    yaml_path: &str,
    scratch: &Path,
) -> Result<Intake, IntakeError> {
    let refs = git::ls_remote(repository).map_err(|error| IntakeError::Unreachable {
        repository: repository.to_owned(),
        // git's first line says it ("'/srv/x' does not appear to be a git repository"); the rest
        // is advice about access rights.
        detail: error.detail.lines().next().unwrap_or_default().trim_start_matches("fatal: ").to_owned(),
    })?;
    let branches: Vec<&String> = refs.refs.keys().filter(|name| name.starts_with("refs/heads/")).collect();
    if branches.is_empty() {
        return Err(IntakeError::Empty(repository.to_owned()));
    }
    let branch_ref = match (default_branch, &refs.head) {
        (Some(branch), _) => format!("refs/heads/{branch}"),
        (None, Some(head)) => head.clone(),
        (None, None) if branches.len() == 1 => branches[0].clone(),
        (None, None) => return Err(IntakeError::NoDefaultBranch(repository.to_owned())),
    };
    let branch = branch_ref.strip_prefix("refs/heads/").unwrap_or(&branch_ref).to_owned();
    let Some(commit) = refs.refs.get(&branch_ref).cloned() else {
        return Err(IntakeError::NoBranch { repository: repository.to_owned(), branch });
    };
    let found = (|| {
        let mirror = Mirror::at(scratch)?;
        mirror.fetch_shallow(repository, &branch_ref)?;
        mirror.read_file(&commit, yaml_path)
    })();
    let _ = std::fs::remove_dir_all(scratch);
    match found? {
        TreeFile::Text(text) if is_reusable_only(yaml_path, &text) => {
            Err(IntakeError::ReusableWorkflow(yaml_path.to_owned()))
        }
        TreeFile::Text(_) => Ok(Intake { refs }),
        TreeFile::OutsideRepository => Err(IntakeError::OutsideRepository(yaml_path.to_owned())),
        TreeFile::Missing => Err(IntakeError::NoFile {
            path: yaml_path.to_owned(),
            branch,
            repository: repository.to_owned(),
            commit: commit.chars().take(12).collect(),
        }),
    }
}

/// Whether `text` is a workflow whose only trigger is `workflow_call`. A workflow whose triggers
/// cannot be read is not refused here: its first run says what is wrong.
fn is_reusable_only(yaml_path: &str, text: &str) -> bool {
    slipway_github::looks_like_workflow(yaml_path, text)
        && slipway_source::contained(|| slipway_triggers::WorkflowTriggers::load(yaml_path, text))
            .is_ok_and(|loaded| loaded.is_ok_and(|triggers| triggers.is_reusable_only()))
}
