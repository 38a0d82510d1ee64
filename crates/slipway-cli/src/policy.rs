//! `slipway policy`: policy as code. Not built yet: the command says so and exits 2.

use std::process::ExitCode;

use clap::Args;

/// `slipway policy`.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// Arguments (not read yet).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// Runs `slipway policy`.
pub fn policy_command(_args: &PolicyArgs) -> ExitCode {
    eprintln!("error: `slipway policy` is not built yet");
    ExitCode::from(2)
}
