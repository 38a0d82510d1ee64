//! `slipway dora`: DORA's metrics in GitLab's DORA API shape.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway dora`.
#[derive(Args, Debug)]
pub struct DoraArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Runs `slipway dora`.
///
/// # Errors
/// Always, until it is built.
pub fn dora(args: DoraArgs) -> Result<ExitCode, Failure> {
    let _ = args.connection;
    Err(Failure::usage("`slipway dora` is not built yet"))
}
