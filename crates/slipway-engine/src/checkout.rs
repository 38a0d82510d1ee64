//! Checking out a pipeline's repository with the `git` program and loading its pipeline with the
//! Azure front end over that checkout.

use std::path::{Component, Path};

use slipway_azure::{FileSystem as _, Location, Options};
use slipway_plan::Plan;
use slipway_source::RepositoryFiles;

/// Why a checkout or a pipeline could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The repository, branch or path given is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// `git` failed.
    #[error(transparent)]
    Git(#[from] slipway_git::GitError),
    /// A pull request's source does not merge into its target.
    #[error("the pull request does not merge into its target branch: {0}")]
    MergeConflict(String),
    /// The pipeline has errors; the text holds the rendered diagnostics.
    #[error("the pipeline is not valid:\n{0}")]
    Pipeline(String),
    /// A local file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A checked-out commit and the plan loaded from it.
#[derive(Debug)]
pub struct Checkout {
    /// The plan.
    pub plan: Plan,
    /// The branch checked out, as a ref (`refs/heads/main`).
    pub branch_ref: String,
    /// The commit checked out.
    pub commit: String,
    /// The commit's subject.
    pub message: String,
    /// The commit's author name.
    pub author: String,
    /// The commit's author e-mail.
    pub email: String,
}

/// The URL schemes a pipeline's repository may use; anything else is a local path or an
/// scp-like `host:path`.
const URL_SCHEMES: [&str; 7] = ["file", "http", "https", "ssh", "git", "git+ssh", "ssh+git"];

/// Checks that a repository location is a local path or a URL of a transport git may use, that
/// git cannot read as an option, and that holds no control character.
///
/// # Errors
/// [`CheckoutError::Invalid`] saying what is wrong and what is accepted.
pub fn check_repository(repository: &str) -> Result<(), CheckoutError> {
    const ACCEPTED: &str = "give a local path or an https://, ssh://, git:// or file:// URL";
    let invalid = |why: &str| {
        CheckoutError::Invalid(format!("'{}' is not a repository: {why}; {ACCEPTED}", repository.escape_debug()))
    };
    if repository.trim().is_empty() {
        return Err(invalid("it is empty"));
    }
    if repository.starts_with('-') {
        return Err(invalid("it starts with '-'"));
    }
    if repository.chars().any(char::is_control) {
        return Err(invalid("it holds a control character"));
    }
    if let Some((transport, _)) = repository.split_once("::")
        && !transport.is_empty()
        && transport.chars().all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character))
    {
        return Err(invalid(&format!("git remote helpers such as '{transport}::' are not allowed")));
    }
    if let Some((scheme, _)) = repository.split_once("://")
        && !URL_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
    {
        return Err(invalid(&format!("the scheme '{scheme}' is not one git may use here")));
    }
    Ok(())
}

/// Checks that a branch name is acceptable to pass to git.
///
/// # Errors
/// [`CheckoutError::Invalid`] for an empty name, one starting with `-`, or one with spaces or
/// control characters.
pub fn check_branch(branch: &str) -> Result<(), CheckoutError> {
    let bad = branch.is_empty()
        || branch.starts_with('-')
        || branch.contains("..")
        || branch.chars().any(|character| character.is_whitespace() || character.is_control());
    if bad { Err(CheckoutError::Invalid(format!("'{branch}' is not a branch name"))) } else { Ok(()) }
}

/// Normalises the path of a pipeline file inside its repository: relative, `/`-separated, with no
/// `.` or `..`.
///
/// # Errors
/// [`CheckoutError::Invalid`] for an absolute path, a path leaving the repository, an empty one,
/// or one with a control character.
pub fn normalize_yaml_path(path: &str) -> Result<String, CheckoutError> {
    let invalid =
        || CheckoutError::Invalid(format!("'{}' is not a file path inside the repository", path.escape_debug()));
    if path.chars().any(char::is_control) {
        return Err(invalid());
    }
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(invalid)?.to_owned()),
            Component::CurDir => {}
            _ => return Err(invalid()),
        }
    }
    if parts.is_empty() { Err(invalid()) } else { Ok(parts.join("/")) }
}

fn git(directory: Option<&Path>, action: &'static str, arguments: &[&str]) -> Result<String, CheckoutError> {
    slipway_git::text(directory, action, arguments).map_err(CheckoutError::from)
}

/// What to check out for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    /// The newest commit of a branch (the repository's default branch when `None`).
    Branch(Option<String>),
    /// An exact commit, for the ref it was pushed to or found on (`refs/heads/main`,
    /// `refs/tags/v1`).
    Commit {
        /// The full ref (`Build.SourceBranch`).
        git_ref: String,
        /// The commit.
        commit: String,
    },
    /// A pull request: its source commit merged into its target branch, as Azure builds
    /// `refs/pull/N/merge`.
    Merge {
        /// The target branch, without `refs/heads/`.
        target_branch: String,
        /// A ref of the repository that holds the source commit (`refs/pull/7/head`,
        /// `refs/heads/feature`), fetched before merging.
        source_refs: Vec<String>,
        /// The source commit.
        source_commit: String,
        /// The ref the run reports (`refs/pull/7/merge`).
        merge_ref: String,
        /// The merge commit's message.
        message: String,
    },
}

/// What [`checkout_revision`] checks out, and how the pipeline is loaded from it.
#[derive(Clone, Copy, Debug)]
pub struct CheckoutRequest<'a> {
    /// The repository: a local path or a URL.
    pub repository: &'a str,
    /// What to check out.
    pub revision: &'a Revision,
    /// The pipeline file's path in the repository.
    pub yaml_path: &'a str,
    /// The pipeline's name (`Build.DefinitionName`).
    pub pipeline_name: &'a str,
    /// Runtime parameter values.
    pub parameters: &'a [(String, String)],
    /// Predefined variables of the trigger (`Build.Reason`, `System.PullRequest.*`), which replace
    /// the defaults of a manual run for template expressions.
    pub variables: &'a [(String, String)],
    /// Where to check out; it must not exist.
    pub destination: &'a Path,
}

/// Clones `repository` at `branch` (its default branch when `None`) into `destination` (which must
/// not exist), and loads the pipeline at `yaml_path` in it with `parameters`. Blocking: call it
/// from a blocking thread.
///
/// # Errors
/// When the repository or branch cannot be cloned, or the pipeline is not valid.
pub fn checkout_and_load(
    repository: &str,
    branch: Option<&str>,
    yaml_path: &str,
    pipeline_name: &str,
    parameters: &[(String, String)],
    destination: &Path,
) -> Result<Checkout, CheckoutError> {
    checkout_revision(&CheckoutRequest {
        repository,
        revision: &Revision::Branch(branch.map(str::to_owned)),
        yaml_path,
        pipeline_name,
        parameters,
        variables: &[],
        destination,
    })
}

/// The identity git uses for the merge commits of pull request runs.
const MERGE_IDENTITY: [&str; 4] = ["-c", "user.name=Slipway", "-c", "user.email=slipway@localhost"];

/// Clones the request's repository at its revision into its destination and loads the pipeline in
/// it. Blocking: call it from a blocking thread.
///
/// # Errors
/// When the repository or revision cannot be cloned, a pull request does not merge, or the
/// pipeline is not valid.
pub fn checkout_revision(request: &CheckoutRequest<'_>) -> Result<Checkout, CheckoutError> {
    check_repository(request.repository)?;
    let yaml_path = normalize_yaml_path(request.yaml_path)?;
    let destination = request.destination;
    let destination_text =
        destination.to_str().ok_or_else(|| CheckoutError::Invalid("the data directory's path is not UTF-8".into()))?;
    let mut arguments = vec!["clone", "--quiet", "--no-recurse-submodules"];
    let clone_branch = match request.revision {
        Revision::Branch(branch) => branch.as_deref(),
        Revision::Commit { .. } => None,
        Revision::Merge { target_branch, .. } => Some(target_branch.as_str()),
    };
    if let Some(branch) = clone_branch {
        check_branch(branch)?;
        arguments.extend(["--branch", branch]);
    }
    if matches!(request.revision, Revision::Commit { .. }) {
        arguments.push("--no-checkout");
    }
    arguments.extend(["--", request.repository, destination_text]);
    git(None, "clone", &arguments)?;
    let branch_ref = match request.revision {
        Revision::Branch(branch) => git(Some(destination), "symbolic-ref", &["symbolic-ref", "-q", "HEAD"])
            .unwrap_or_else(|_| format!("refs/heads/{}", branch.as_deref().unwrap_or("main"))),
        Revision::Commit { git_ref, commit } => {
            check_commit(commit)?;
            ensure_commit(destination, commit, &[])?;
            git(Some(destination), "checkout", &["checkout", "--quiet", "--detach", commit])?;
            git_ref.clone()
        }
        Revision::Merge { source_refs, source_commit, merge_ref, message, .. } => {
            check_commit(source_commit)?;
            ensure_commit(destination, source_commit, source_refs)?;
            let mut merge = MERGE_IDENTITY.to_vec();
            merge.extend(["merge", "--quiet", "--no-ff", "--no-edit", "-m", message, source_commit]);
            if let Err(error) = git(Some(destination), "merge", &merge) {
                let _ = git(Some(destination), "merge", &["merge", "--abort"]);
                return Err(CheckoutError::MergeConflict(error.to_string()));
            }
            merge_ref.clone()
        }
    };
    let commit = git(Some(destination), "rev-parse", &["rev-parse", "HEAD"])?;
    let log = git(Some(destination), "log", &["log", "-1", "--format=%s%n%an%n%ae"]).unwrap_or_default();
    let mut lines = log.lines();
    let message = lines.next().unwrap_or_default().to_owned();
    let author = lines.next().unwrap_or_default().to_owned();
    let email = lines.next().unwrap_or_default().to_owned();

    let branch_name = branch_ref.rsplit('/').next().unwrap_or_default().to_owned();
    let mut variables = vec![
        ("Build.SourceBranch".to_owned(), branch_ref.clone()),
        ("Build.SourceBranchName".to_owned(), branch_name),
        ("Build.SourceVersion".to_owned(), commit.clone()),
        ("Build.Reason".to_owned(), "Manual".to_owned()),
        ("Build.Repository.Name".to_owned(), request.pipeline_name.to_owned()),
        ("Build.Repository.Provider".to_owned(), "Git".to_owned()),
        ("Build.DefinitionName".to_owned(), request.pipeline_name.to_owned()),
        ("System.TeamProject".to_owned(), "slipway".to_owned()),
        ("System.PullRequest.IsFork".to_owned(), "False".to_owned()),
    ];
    for (name, value) in request.variables {
        match variables.iter_mut().find(|(known, _)| known.eq_ignore_ascii_case(name)) {
            Some(entry) => entry.1.clone_from(value),
            None => variables.push((name.clone(), value.clone())),
        }
    }
    let file_system = RepositoryFiles::new(destination);
    let entry = Location::local(yaml_path.as_str());
    let text = file_system.read(&entry).unwrap_or_default();
    if slipway_github::looks_like_workflow(&yaml_path, &text) {
        // A GitHub Actions workflow: its `workflow_dispatch` inputs are the run's parameters.
        let read = |relative: &str| {
            let location = Location::local(relative);
            let text = file_system.read(&location).map_err(|error| error.to_string())?;
            Ok((file_system.display_name(&location), text))
        };
        let compiled = slipway_source::contained(|| slipway_github::compile(&yaml_path, &read, request.parameters))
            .map_err(|panicked| CheckoutError::Pipeline(panicked.to_string()))?;
        return match compiled.plan {
            Some(plan) => {
                let unknown = unknown_actions(&plan, destination);
                if !unknown.is_empty() {
                    return Err(CheckoutError::Pipeline(slipway_diagnostics::render_all(&unknown, &compiled.sources)));
                }
                Ok(Checkout { plan, branch_ref, commit, message, author, email })
            }
            None => {
                let diagnostics: Vec<_> = compiled.diagnostics().cloned().collect();
                Err(CheckoutError::Pipeline(slipway_diagnostics::render_all(&diagnostics, &compiled.sources)))
            }
        };
    }
    let options = Options { parameters: request.parameters.to_vec(), variables };
    let compiled = slipway_source::contained(|| slipway_azure::compile(&entry, &file_system, &options))
        .map_err(|panicked| CheckoutError::Pipeline(panicked.to_string()))?;
    let has_errors = compiled.diagnostics.iter().any(slipway_diagnostics::Diagnostic::is_error);
    match compiled.plan {
        Some(plan) if !has_errors => Ok(Checkout { plan, branch_ref, commit, message, author, email }),
        _ => Err(CheckoutError::Pipeline(slipway_diagnostics::render_all(&compiled.diagnostics, &compiled.sources))),
    }
}

/// The actions of a workflow's plan that cannot run, as errors: the server has no action store,
/// so only the built-in actions and the local actions of the repository run (Docker actions need
/// a container engine). A run that uses another action stops before it starts, as `slipway run`
/// stops it.
fn unknown_actions(plan: &Plan, repository: &Path) -> Vec<slipway_diagnostics::Diagnostic> {
    slipway_runtime::unknown_actions(plan, None, repository)
        .into_iter()
        .map(|unknown| {
            let hint = match unknown.kind {
                slipway_runtime::UnknownKind::NotFound => {
                    "the server has no action store: use the built-in actions, a local action of the repository (`uses: ./path`), or `run:` steps, or run the workflow locally with `slipway run --actions DIR`".to_owned()
                }
                _ => unknown.hint,
            };
            slipway_diagnostics::Diagnostic::error(slipway_runtime::UNKNOWN_ACTION_CODE, unknown.message, unknown.span)
                .with_hint(hint)
        })
        .collect()
}

/// Checks that a commit id is hexadecimal, so that git cannot read it as an option or a range.
fn check_commit(commit: &str) -> Result<(), CheckoutError> {
    let valid = (4..=64).contains(&commit.len()) && commit.bytes().all(|byte| byte.is_ascii_hexdigit());
    if valid { Ok(()) } else { Err(CheckoutError::Invalid(format!("'{commit}' is not a commit id"))) }
}

/// Makes sure a clone has `commit`: fetches `refs` from its origin, then the commit itself, when
/// it is not there yet.
fn ensure_commit(directory: &Path, commit: &str, refs: &[String]) -> Result<(), CheckoutError> {
    let object = format!("{commit}^{{commit}}");
    let present = || git(Some(directory), "cat-file", &["cat-file", "-e", &object]).is_ok();
    if present() {
        return Ok(());
    }
    for git_ref in refs {
        if git_ref.starts_with("refs/") && !git_ref.starts_with('-') {
            let _ = git(Some(directory), "fetch", &["fetch", "--quiet", "--no-tags", "origin", git_ref]);
            if present() {
                return Ok(());
            }
        }
    }
    git(Some(directory), "fetch", &["fetch", "--quiet", "--no-tags", "origin", commit])?;
    if present() {
        Ok(())
    } else {
        Err(CheckoutError::Git(slipway_git::GitError {
            action: "fetch",
            detail: format!("commit {commit} is not in the repository"),
        }))
    }
}

/// The text of the pipeline file `yaml_path` at the tip of `branch` (the default branch when
/// `None`) of `repository`, and that commit. A local repository is read in place; any other is
/// cloned shallowly, without a work tree, into `scratch` (which must not exist and is removed
/// again). Blocking: call it from a blocking thread.
///
/// # Errors
/// When the repository, branch or file cannot be read.
pub fn read_pipeline_file(
    repository: &str,
    branch: Option<&str>,
    yaml_path: &str,
    scratch: &Path,
) -> Result<(String, String), CheckoutError> {
    check_repository(repository)?;
    let yaml_path = normalize_yaml_path(yaml_path)?;
    let reference = match branch {
        Some(branch) => {
            check_branch(branch)?;
            format!("refs/heads/{branch}")
        }
        None => "HEAD".to_owned(),
    };
    let local = Path::new(repository);
    if local.is_dir() {
        let commit =
            git(Some(local), "rev-parse", &["rev-parse", "--verify", "--quiet", &format!("{reference}^{{commit}}")])
                .map_err(|_| {
                    CheckoutError::Git(slipway_git::GitError {
                        action: "rev-parse",
                        detail: format!("the repository has no {reference}"),
                    })
                })?;
        let text = git_raw(Some(local), "show", &["show", &format!("{commit}:{yaml_path}")])?;
        return Ok((text, commit));
    }
    let scratch_text =
        scratch.to_str().ok_or_else(|| CheckoutError::Invalid("the data directory's path is not UTF-8".into()))?;
    let mut arguments = vec!["clone", "--quiet", "--depth", "1", "--no-checkout", "--no-recurse-submodules"];
    if let Some(branch) = branch {
        arguments.extend(["--branch", branch]);
    }
    arguments.extend(["--", repository, scratch_text]);
    let read = git(None, "clone", &arguments).and_then(|_| {
        let commit = git(Some(scratch), "rev-parse", &["rev-parse", "HEAD"])?;
        let text = git_raw(Some(scratch), "show", &["show", &format!("HEAD:{yaml_path}")])?;
        Ok((text, commit))
    });
    let _ = std::fs::remove_dir_all(scratch);
    read
}

/// Clones `repository` into `destination` (which must not exist) and checks out `commit`
/// detached, for a re-run of that commit. Blocking: call it from a blocking thread.
///
/// # Errors
/// When the repository cannot be cloned or has no such commit.
pub fn checkout_commit(repository: &str, commit: &str, destination: &Path) -> Result<(), CheckoutError> {
    check_repository(repository)?;
    if commit.is_empty() || !commit.chars().all(|character| character.is_ascii_hexdigit()) {
        return Err(CheckoutError::Invalid(format!("'{commit}' is not a commit id")));
    }
    let destination_text =
        destination.to_str().ok_or_else(|| CheckoutError::Invalid("the data directory's path is not UTF-8".into()))?;
    git(
        None,
        "clone",
        &["clone", "--quiet", "--no-checkout", "--no-recurse-submodules", "--", repository, destination_text],
    )?;
    git(Some(destination), "checkout", &["checkout", "--quiet", "--detach", commit])?;
    Ok(())
}

/// Like [`git`], but gives the output as it is (a file's text), not trimmed.
fn git_raw(directory: Option<&Path>, action: &'static str, arguments: &[&str]) -> Result<String, CheckoutError> {
    let bytes = slipway_git::output(directory, action, arguments)?;
    String::from_utf8(bytes).map_err(|_| CheckoutError::Invalid("the pipeline file is not UTF-8 text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_paths_stay_inside_the_repository() {
        assert_eq!(normalize_yaml_path("./ci/azure-pipelines.yml").ok().as_deref(), Some("ci/azure-pipelines.yml"));
        assert!(normalize_yaml_path("../x.yml").is_err());
        assert!(normalize_yaml_path("/etc/passwd").is_err());
        assert!(normalize_yaml_path("").is_err());
    }

    #[test]
    fn options_are_not_taken_for_repositories_or_branches() {
        assert!(check_repository("--upload-pack=evil").is_err());
        for hostile in ["ext::sh -c touch% /tmp/pwned", "fd::3", "x\0y", "a\nb", "gopher://host/x", "", " "] {
            assert!(check_repository(hostile).is_err(), "{hostile:?}");
        }
        for fine in
            ["/srv/repo", "repo", "https://example.com/a.git", "git@host:team/repo.git", "file:///srv/r", "SSH://h/r"]
        {
            assert!(check_repository(fine).is_ok(), "{fine}");
        }
        assert!(normalize_yaml_path("a\0b.yml").is_err());
        assert!(check_branch("-b").is_err());
        assert!(check_branch("feature/x").is_ok());
    }

    #[test]
    fn a_workflow_with_an_action_the_server_cannot_run_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let scratch = tempfile::tempdir()?;
        let repository = scratch.path().join("repo");
        std::fs::create_dir_all(repository.join(".github/workflows"))?;
        std::fs::create_dir_all(repository.join(".github/actions/hello"))?;
        std::fs::write(
            repository.join(".github/actions/hello/action.yml"),
            "name: hello\nruns:\n  using: composite\n  steps:\n    - run: echo hello\n      shell: bash\n",
        )?;
        let workflow = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/hello\n      - uses: octo/greet@v1\n";
        std::fs::write(repository.join(".github/workflows/ci.yml"), workflow)?;
        let repository_text = repository.display().to_string();
        for arguments in [
            vec!["init", "--quiet", "-b", "main"],
            vec!["add", "."],
            vec!["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "ci"],
        ] {
            let status = std::process::Command::new("git").arg("-C").arg(&repository_text).args(arguments).status()?;
            assert!(status.success());
        }
        fn checkout_to(repository: &str, destination: &Path) -> Result<Checkout, CheckoutError> {
            checkout_revision(&CheckoutRequest {
                repository,
                revision: &Revision::Branch(None),
                yaml_path: ".github/workflows/ci.yml",
                pipeline_name: "ci",
                parameters: &[],
                variables: &[],
                destination,
            })
        }
        let Err(CheckoutError::Pipeline(text)) = checkout_to(&repository_text, &scratch.path().join("one")) else {
            panic!("an action that is neither built in nor local is refused");
        };
        assert!(text.contains("error[R0002]: the action `octo/greet@v1` is not built in"), "{text}");
        assert!(text.contains(".github/workflows/ci.yml:8:9"), "{text}");
        assert!(text.contains("the server has no action store"), "{text}");
        assert!(!text.contains("hello"), "the built-in and the local actions are known: {text}");
        // Without it, the workflow is loaded.
        std::fs::write(
            repository.join(".github/workflows/ci.yml"),
            workflow.replace("      - uses: octo/greet@v1\n", ""),
        )?;
        let status = std::process::Command::new("git")
            .args(["-C", &repository_text, "-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(["commit", "--quiet", "-am", "no greet"])
            .status()?;
        assert!(status.success());
        assert!(checkout_to(&repository_text, &scratch.path().join("two")).is_ok());
        Ok(())
    }
}
