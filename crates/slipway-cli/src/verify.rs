//! `slipway verify`: signed provenance checked offline. Not built yet: the command says so and exits 2.

use std::process::ExitCode;

use clap::Args;

/// `slipway verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Arguments (not read yet).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// Runs `slipway verify`.
pub fn verify_command(_args: &VerifyArgs) -> ExitCode {
    eprintln!("error: `slipway verify` is not built yet");
    ExitCode::from(2)
}
