//! `slipway osv`: the offline OSV database. Not built yet: the command says so and exits 2.

use std::process::ExitCode;

use clap::Args;

/// `slipway osv`.
#[derive(Args, Debug)]
pub struct OsvArgs {
    /// Arguments (not read yet).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// Runs `slipway osv`.
pub fn osv_command(_args: &OsvArgs) -> ExitCode {
    eprintln!("error: `slipway osv` is not built yet");
    ExitCode::from(2)
}
