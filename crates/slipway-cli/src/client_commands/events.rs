//! `slipway events ...`: the event stream: list and follow it, push CDEvents into it.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Runs `slipway events`.
///
/// # Errors
/// Always, until it is built.
pub fn events(args: EventsArgs) -> Result<ExitCode, Failure> {
    let _ = args.connection;
    Err(Failure::usage("`slipway events` is not built yet"))
}
