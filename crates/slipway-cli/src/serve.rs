//! `slipway serve`: runs the Slipway server (the API, the orchestrator and the worker slots) on
//! this machine; everything it does is in the `slipway-server` crate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use slipway_server::{Notice, ServeOptions};

/// Arguments of `slipway serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where the server keeps its database, secret key and runs [default: $SLIPWAY_DATA_DIR, or
    /// ./.slipway].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: a `postgres://` URL, or a SQLite file [default: SQLite in the data directory].
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// How many jobs run at once [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: Option<u32>,
    /// How often each pipeline's repository is polled for pushes, in seconds; 0 turns polling off
    /// (webhooks, schedules and pipeline completion triggers still work).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub poll_interval: u64,
    /// Mark the web UI's session cookies `Secure` (only sent over https) whatever the request:
    /// for a server behind an https proxy that does not send `X-Forwarded-Proto`.
    #[arg(long)]
    pub secure_cookies: bool,
}

/// `slipway serve`.
pub fn serve_command(args: &ServeArgs) -> ExitCode {
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| std::env::var_os("SLIPWAY_DATA_DIR").filter(|dir| !dir.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(".slipway"));
    let options = ServeOptions {
        data_dir,
        listen: args.listen,
        database: args.database.clone(),
        workers: args.workers.map(|workers| workers as usize),
        poll_interval: Some(std::time::Duration::from_secs(args.poll_interval)),
        secure_cookies: args.secure_cookies,
    };
    let mut notify = |notice: Notice| match notice {
        Notice::AdminToken { token, path } => {
            println!("Created the user 'admin'. Its token, shown this once (also in {}):", path.display());
            println!("  {token}");
        }
        Notice::Listening(address) => {
            println!("Slipway is listening on http://{address}/ (web UI) and http://{address}/api/v1 (API)");
        }
        Notice::Stopped => eprintln!("Slipway stopped: running jobs finished, queued ones wait for the next start."),
    };
    match slipway_server::run(&options, &mut notify) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
