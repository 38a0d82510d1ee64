//! `slipway run`. (Being written.)

use std::process::ExitCode;

use clap::Args;

/// Arguments of `slipway run`.
#[derive(Args)]
pub struct RunArgs {
    /// The pipeline file.
    pub path: Option<std::path::PathBuf>,
}

/// `slipway run`.
pub fn run_command(args: RunArgs) -> ExitCode {
    let _ = args;
    ExitCode::from(2)
}
