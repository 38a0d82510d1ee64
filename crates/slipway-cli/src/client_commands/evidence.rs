//! `slipway evidence RUN_OR_DEPLOYMENT`: a deployment's or run's evidence bundle.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway evidence`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(flatten)]
    connection: Connection,
    /// The run (its id) or deployment whose evidence to fetch.
    target: String,
}

/// Runs `slipway evidence`.
///
/// # Errors
/// Always, until evidence bundles are built.
pub fn evidence(args: EvidenceArgs) -> Result<ExitCode, Failure> {
    let _ = (&args.connection, &args.target);
    Err(Failure::usage("evidence bundles are not built yet"))
}
