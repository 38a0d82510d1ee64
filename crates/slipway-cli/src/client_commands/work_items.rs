//! `slipway work-items ...`: work items and incidents.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway work-items`.
#[derive(Args, Debug)]
pub struct WorkItemsArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Runs `slipway work-items`.
///
/// # Errors
/// Always, until it is built.
pub fn work_items(args: WorkItemsArgs) -> Result<ExitCode, Failure> {
    let _ = args.connection;
    Err(Failure::usage("`slipway work-items` is not built yet"))
}
