//! `slipway osv import FILE... [--db DIR]` and `slipway osv list [--db DIR]`: the offline OSV
//! database that `slipway scan vulns` matches against, with `slipway-security`'s
//! [`vulns::db`](slipway_security::vulns::db). `import` reads OSV's per-ecosystem exports
//! (`<ecosystem>/all.zip`) or single record files, checks every record, and keeps the newer
//! `modified` of each id; `list` (and `status`) prints the ecosystems, their record counts and when
//! they were imported. The database is `--db DIR`, else `$SLIPWAY_OSV_DB`, else
//! `$XDG_DATA_HOME/slipway/osv`, else `~/.local/share/slipway/osv`. Exit status 0 when done, 2 for
//! bad input (a file that is not an OSV export, a malformed record at its entry and line:col, a
//! database that cannot be written).
//!
//! With `--server` (the server from `--server=URL`, `$SLIPWAY_SERVER` or the saved login, as the
//! client commands take it), `import` uploads the files to the server's database instead
//! (`POST /api/v1/osv/imports`, admins; one file as it is, several as one tar, imported together)
//! and `status` prints what the server's database holds (`GET /api/v1/osv`); agents get that
//! database before their jobs run. Exit status 1 when the server refuses (its message names the
//! file, entry and line:col).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_security::vulns::{Database, db};

use crate::client_commands::{self, Failure, Session};
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
    /// What the database holds: the local one, or the server's with --server.
    Status(StatusArgs),
}

/// `slipway osv import`.
#[derive(Args, Debug)]
struct ImportArgs {
    /// The files: zips of OSV records, or record files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The database's directory (default: $SLIPWAY_OSV_DB, else $XDG_DATA_HOME/slipway/osv, else
    /// ~/.local/share/slipway/osv).
    #[arg(long, value_name = "DIR", conflicts_with = "server")]
    db: Option<PathBuf>,
    /// Upload the files to a Slipway server's database instead (admins), which gives it to its
    /// agents: the server is --server=URL, else $SLIPWAY_SERVER, else the saved login.
    #[arg(long, value_name = "URL", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    server: Option<String>,
    /// With --server: a personal access token [default: $SLIPWAY_TOKEN, or the saved login].
    #[arg(long, value_name = "TOKEN", requires = "server")]
    token: Option<String>,
    /// With --server: the server's database holds only these files afterwards, instead of adding
    /// them to what it holds.
    #[arg(long, requires = "server")]
    replace: bool,
}

/// `slipway osv status`.
#[derive(Args, Debug)]
struct StatusArgs {
    /// The database's directory (as for import).
    #[arg(long, value_name = "DIR", conflicts_with = "server")]
    db: Option<PathBuf>,
    /// Show a Slipway server's database instead: the server is --server=URL, else
    /// $SLIPWAY_SERVER, else the saved login.
    #[arg(long, value_name = "URL", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    server: Option<String>,
    /// With --server: a personal access token [default: $SLIPWAY_TOKEN, or the saved login].
    #[arg(long, value_name = "TOKEN", requires = "server")]
    token: Option<String>,
    /// `text`, or `json` (with --server: the API's JSON).
    #[arg(long, value_enum, default_value_t = crate::client_commands::ListFormat::Text)]
    format: crate::client_commands::ListFormat,
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
        OsvCommand::Import(args) if args.server.is_some() => {
            let connection = connection(args.server.as_deref(), args.token.as_deref());
            client_commands::finish(import_to_server(&connection, &args.files, args.replace))
        }
        OsvCommand::Import(args) => import(args),
        OsvCommand::List(args) => list(&ListArgs { db: args.db.clone() }),
        OsvCommand::Status(args) => match args.server.as_deref() {
            Some(server) => {
                client_commands::finish(server_status(&connection(Some(server), args.token.as_deref()), args.format))
            }
            None if args.format == client_commands::ListFormat::Json => local_status_json(args.db.as_deref()),
            None => list(&ListArgs { db: args.db.clone() }),
        },
    }
}

/// The connection `--server[=URL]` and `--token` make (a bare `--server` takes the server from the
/// environment or the saved login).
fn connection(server: Option<&str>, token: Option<&str>) -> client_commands::Connection {
    client_commands::Connection {
        server: server.map(str::trim).filter(|server| !server.is_empty()).map(str::to_owned),
        token: token.map(str::to_owned),
    }
}

/// Uploads `files` to the server's database: one file as it is, several as one tar.
fn import_to_server(
    connection: &client_commands::Connection,
    files: &[PathBuf],
    replace: bool,
) -> Result<ExitCode, Failure> {
    for file in files {
        if !file.is_file() {
            return Err(Failure::usage(format!(
                "{}: no such file (give OSV zip exports or .json records)",
                file.display()
            )));
        }
    }
    let session = Session::open(connection)?;
    let (upload, name, temporary) = match files {
        [file] => (file.clone(), file.file_name().map(|name| name.to_string_lossy().into_owned()), None),
        _ => {
            let tar = std::env::temp_dir().join(format!("slipway-osv-upload-{}.tar", std::process::id()));
            write_tar(&tar, files).map_err(|error| Failure::usage(format!("{}: {error}", tar.display())))?;
            (tar.clone(), None, Some(tar))
        }
    };
    let sent = std::fs::File::open(&upload)
        .map_err(|error| Failure::usage(format!("{}: {error}", upload.display())))
        .and_then(|mut file| {
            session.client().osv_import(&mut file, name.as_deref(), replace).map_err(|error| session.fail(error))
        });
    if let Some(temporary) = temporary {
        let _ = std::fs::remove_file(temporary);
    }
    let imported = sent?;
    for counts in &imported.ecosystems {
        outln!(
            "{}: {} added, {} updated, {} unchanged ({} withdrawn)",
            counts.ecosystem,
            counts.added,
            counts.updated,
            counts.unchanged,
            counts.withdrawn
        );
    }
    if imported.without_package > 0 {
        outln!("{} record(s) without a package in an ecosystem were not kept", imported.without_package);
    }
    let database = &imported.database;
    eprintln!(
        "imported {} record(s) into the OSV database of {}{}: version {} ({} record(s) in {} ecosystem(s)); agents \
         get it before their next job",
        imported.read,
        session.client().server(),
        if imported.replaced { ", replacing what it held" } else { "" },
        short(&database.digest),
        database.records,
        database.ecosystems.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// A tar of `files`, each under its base name.
fn write_tar(tar: &std::path::Path, files: &[PathBuf]) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(std::fs::File::create(tar)?);
    for file in files {
        let name =
            file.file_name().ok_or_else(|| std::io::Error::other(format!("{} has no file name", file.display())))?;
        builder.append_path_with_name(file, name)?;
    }
    builder.into_inner()?.sync_all()
}

/// The first twelve characters of a digest.
fn short(digest: &str) -> String {
    digest.chars().take(12).collect()
}

/// Prints what the server's database holds.
fn server_status(
    connection: &client_commands::Connection,
    format: client_commands::ListFormat,
) -> Result<ExitCode, Failure> {
    let session = Session::open(connection)?;
    let database = session.client().osv_status().map_err(|error| session.fail(error))?;
    if format == client_commands::ListFormat::Json {
        outln!("{}", serde_json::to_string_pretty(&database).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let server = session.client().server();
    if !database.present {
        outln!(
            "The OSV database of {server} is empty: an admin fills it with `slipway osv import --server FILE...` \
             (OSV's <ecosystem>/all.zip exports)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("OSV database of {server}");
    if database.digest.is_empty() {
        outln!("  version: none (made by hand, not imported through the server: agents do not get it)");
    } else {
        outln!("  version: {} ({} bytes to download)", database.digest, database.bytes);
    }
    if database.imported_at > 0 {
        let when = jiff::Timestamp::from_millisecond(database.imported_at)
            .map(|time| time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        outln!("  imported: {when} by {} from {}", database.imported_by, database.sources.join(", "));
    }
    outln!("  advisories: {} in {} ecosystem(s)", database.records, database.ecosystems.len());
    for ecosystem in &database.ecosystems {
        outln!(
            "  {}: {} record(s) ({} withdrawn), imported {} from {}",
            ecosystem.name,
            ecosystem.records,
            ecosystem.withdrawn,
            ecosystem.imported,
            ecosystem.sources.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The local database's meta file as JSON.
fn local_status_json(db: Option<&std::path::Path>) -> ExitCode {
    let meta =
        database_directory(db).and_then(|directory| Database::at(&directory).meta().map_err(|error| error.to_string()));
    match meta {
        Ok(meta) => {
            outln!("{}", serde_json::to_string_pretty(&meta).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
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
