//! Reading a pipeline's triggers at a commit of its mirror, without a checkout: the pipeline file
//! is expanded by the Azure front end (files read with `git cat-file`) and its `trigger`, `pr`,
//! `schedules` and `resources.pipelines` are read by `slipway-triggers`. A pipeline file that is a
//! GitHub Actions workflow is checked by the GitHub front end and its `on:` read instead.

use slipway_azure::{FileSystem, Location, Options, ReadError};
use slipway_triggers::{PipelineTriggers, WorkflowTriggers};

use crate::git::{Mirror, TreeFile};
use slipway_engine::checkout::normalize_yaml_path;

/// What the pipeline file at a commit says about triggers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// Its triggers.
    Triggers(Box<PipelineTriggers>),
    /// The file is a GitHub Actions workflow: its `on:`.
    Workflow(Box<WorkflowTriggers>),
    /// The commit has no pipeline file at the pipeline's path.
    NoFile,
    /// The file cannot be read or expanded, or its triggers have a shape Azure does not accept;
    /// the text says why.
    Invalid(String),
}

/// Reads the files of one commit of a mirror.
struct CommitFileSystem<'a> {
    mirror: &'a Mirror,
    commit: &'a str,
}

impl FileSystem for CommitFileSystem<'_> {
    fn read(&self, location: &Location) -> Result<String, ReadError> {
        if location.repository.is_some() {
            return Err(ReadError::NoCheckout);
        }
        let path = normalize_yaml_path(&location.path).map_err(|_| ReadError::NotFound)?;
        match self.mirror.read_file(self.commit, &path) {
            Ok(TreeFile::Text(text)) => Ok(text),
            Ok(TreeFile::Missing) => Err(ReadError::NotFound),
            Ok(TreeFile::OutsideRepository) => Err(ReadError::OutsideRepository),
            Err(error) => Err(ReadError::Other(error.to_string())),
        }
    }
}

/// Reads the triggers of the pipeline file at `yaml_path` in `commit`. `variables` are the
/// predefined variables template expressions may use (`Build.SourceBranch`). Blocking.
#[must_use]
pub(crate) fn load_triggers(mirror: &Mirror, commit: &str, yaml_path: &str, variables: &[(String, String)]) -> Loaded {
    let Ok(path) = normalize_yaml_path(yaml_path) else {
        return Loaded::Invalid(format!("'{yaml_path}' is not a file path inside the repository"));
    };
    match mirror.read_file(commit, &path) {
        Ok(TreeFile::Text(text)) if slipway_github::looks_like_workflow(&path, &text) => {
            return match slipway_source::contained(|| WorkflowTriggers::load(&path, &text)) {
                Ok(Ok(triggers)) => Loaded::Workflow(Box::new(triggers)),
                Ok(Err(reason)) => Loaded::Invalid(reason),
                Err(panicked) => Loaded::Invalid(panicked.to_string()),
            };
        }
        Ok(TreeFile::Text(_) | TreeFile::OutsideRepository) => {}
        Ok(TreeFile::Missing) => return Loaded::NoFile,
        Err(error) => return Loaded::Invalid(error.to_string()),
    }
    let file_system = CommitFileSystem { mirror, commit };
    let options = Options { parameters: Vec::new(), variables: variables.to_vec() };
    let expansion =
        match slipway_source::contained(|| slipway_azure::expand(&Location::local(path), &file_system, &options)) {
            Ok(expansion) => expansion,
            Err(panicked) => return Loaded::Invalid(panicked.to_string()),
        };
    let Some(root) = expansion.root else {
        return Loaded::Invalid(slipway_diagnostics::render_all(&expansion.diagnostics, &expansion.sources));
    };
    match PipelineTriggers::from_document(&root) {
        Ok(triggers) => Loaded::Triggers(Box::new(triggers)),
        Err(errors) => Loaded::Invalid(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                + " (in the triggers of "
                + yaml_path
                + ")",
        ),
    }
}
