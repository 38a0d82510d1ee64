//! `slipway notifications ...`: subscriptions to the event stream and their deliveries.

use std::process::ExitCode;

use clap::Args;

use super::{Connection, Failure};

/// `slipway notifications`.
#[derive(Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    connection: Connection,
}

/// Runs `slipway notifications`.
///
/// # Errors
/// Always, until it is built.
pub fn notifications(args: NotificationsArgs) -> Result<ExitCode, Failure> {
    let _ = args.connection;
    Err(Failure::usage("`slipway notifications` is not built yet"))
}
