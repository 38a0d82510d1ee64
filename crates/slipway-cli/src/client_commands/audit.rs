//! `slipway audit ...`: the audit log's export and the check of its hash chain.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Runs `slipway audit`.
///
/// # Errors
/// Always, until it is built.
pub fn audit(args: AuditArgs) -> Result<ExitCode, Failure> {
    let _ = args.connection;
    Err(Failure::usage("`slipway audit` is not built yet"))
}
