//! The `validate`, `expand` and `plan` commands, and loading a pipeline into a plan for `run`.
//! (Being written.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

/// Arguments of `slipway validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Pipeline files to check.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `slipway expand`.
#[derive(Args)]
pub struct ExpandArgs {
    /// The pipeline file.
    pub path: PathBuf,
}

/// Arguments of `slipway plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// The pipeline file.
    pub path: PathBuf,
}

/// `slipway validate`.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    let _ = args;
    ExitCode::from(2)
}

/// `slipway expand`.
pub fn expand(args: &ExpandArgs) -> ExitCode {
    let _ = args;
    ExitCode::from(2)
}

/// `slipway plan`.
pub fn plan(args: &PlanArgs) -> ExitCode {
    let _ = args;
    ExitCode::from(2)
}

/// Loads, expands, validates and lowers the pipeline at `path`. On failure the diagnostics have
/// been printed (text on stderr) and the exit code to return (2) is given back.
pub fn load_plan(
    path: &Path,
    parameters: &[(String, String)],
    repositories: &[(String, PathBuf)],
) -> Result<slipway_plan::Plan, ExitCode> {
    let _ = (path, parameters, repositories);
    Err(ExitCode::from(2))
}
