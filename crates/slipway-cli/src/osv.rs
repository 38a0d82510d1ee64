//! `slipway osv import FILE... [--db DIR]` and `slipway osv list [--db DIR]`: the offline OSV
//! database that `slipway scan vulns` matches against, with `slipway-security`'s
//! [`vulns::db`](slipway_security::vulns::db). `import` reads OSV's per-ecosystem exports
//! (`<ecosystem>/all.zip`) or single record files, checks every record, and keeps the newer
//! `modified` of each id; `list` prints the ecosystems, their record counts and when they were
//! imported. The database is `--db DIR`, else `$SLIPWAY_OSV_DB`, else
//! `$XDG_DATA_HOME/slipway/osv`, else `~/.local/share/slipway/osv`. Exit status 0 when done, 2 for
//! bad input (a file that is not an OSV export, a malformed record at its entry and line:col, a
//! database that cannot be written).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_security::vulns::{Database, db};

use crate::output::outln;

/// `slipway osv`.
#[derive(Args, Debug)]
pub struct OsvArgs {
    #[command(subcommand)]
    command: OsvCommand,
}

#[derive(Subcommand, Debug)]
enum OsvCommand {
    /// Import OSV's exports (an ecosystem's all.zip from
    /// https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip, or .json records);
    /// importing again updates records whose `modified` is newer.
    Import(ImportArgs),
    /// The database's ecosystems, their record counts and when they were imported.
    List(ListArgs),
}

/// `slipway osv import`.
#[derive(Args, Debug)]
struct ImportArgs {
    /// The files: zips of OSV records, or record files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The database's directory (default: $SLIPWAY_OSV_DB, else $XDG_DATA_HOME/slipway/osv, else
    /// ~/.local/share/slipway/osv).
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
}

/// `slipway osv list`.
#[derive(Args, Debug)]
struct ListArgs {
    /// The database's directory (as for import).
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
}

/// The database's directory, or the reason there is none.
pub(crate) fn database_directory(explicit: Option<&std::path::Path>) -> Result<PathBuf, String> {
    db::default_directory(explicit)
        .ok_or_else(|| "no OSV database directory: give --db DIR or set SLIPWAY_OSV_DB".to_owned())
}

/// Runs `slipway osv`.
pub fn osv_command(args: &OsvArgs) -> ExitCode {
    match &args.command {
        OsvCommand::Import(args) => import(args),
        OsvCommand::List(args) => list(args),
    }
}

fn import(args: &ImportArgs) -> ExitCode {
    let directory = match database_directory(args.db.as_deref()) {
        Ok(directory) => directory,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let database = Database::at(&directory);
    let summary = match database.import(&args.files, jiff::Timestamp::now()) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for (ecosystem, counts) in &summary.ecosystems {
        outln!(
            "{ecosystem}: {} added, {} updated, {} unchanged ({} withdrawn)",
            counts.added,
            counts.updated,
            counts.unchanged,
            counts.withdrawn
        );
    }
    if summary.without_package > 0 {
        outln!("{} record(s) without a package in an ecosystem were not kept", summary.without_package);
    }
    eprintln!("imported {} record(s) into {}", summary.read, directory.display());
    ExitCode::SUCCESS
}

fn list(args: &ListArgs) -> ExitCode {
    let directory = match database_directory(args.db.as_deref()) {
        Ok(directory) => directory,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let meta = match Database::at(&directory).meta() {
        Ok(meta) => meta,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    outln!("{}", directory.display());
    for (ecosystem, entry) in &meta.ecosystems {
        outln!(
            "  {ecosystem}: {} record(s) ({} withdrawn), imported {} from {}",
            entry.records,
            entry.withdrawn,
            entry.imported,
            entry.sources.join(", ")
        );
    }
    ExitCode::SUCCESS
}
