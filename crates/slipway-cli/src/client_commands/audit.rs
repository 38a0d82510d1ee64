//! `slipway audit ...`: the audit log's export and the check of its hash chain.
//!
//! `slipway audit export` writes the log as JSON lines (the server's `GET /audit`);
//! `slipway audit verify` asks the server to check the chain, and `slipway audit verify --file`
//! checks an export offline with the same verifier (`slipway_events::audit_chain`). Exit status:
//! 0 when the chain is whole, 1 when it breaks (what and where are printed) or the server fails,
//! 2 for bad input (an unreadable file, a line that is not an entry: its file and line named).

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api;
use slipway_events::audit_chain::{self, ChainedEntry, Verifier};

use super::{Connection, Failure, ListFormat, Session, print_json};
use crate::output::outln;

/// `slipway audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Export the audit log as JSON lines, oldest first, each entry with the hash of the one
    /// before it (`prev_hash`) and its own (`hash`) (admin).
    Export {
        /// Write it to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<String>,
    },
    /// Check the audit log's hash chain: on the server (admin), or an export offline (`--file`).
    /// Exits 0 when it is whole, 1 at the first break (changed, deleted or reordered entry).
    Verify {
        /// Check this export (`slipway audit export`'s JSON lines; `-` for standard input)
        /// instead of asking the server.
        #[arg(long, value_name = "FILE")]
        file: Option<String>,
        /// An entry noted from an earlier check, `ID:HASH` (the newest entry it printed): the
        /// chain must still hold it, else its newest entries were cut off or it was rewritten.
        #[arg(long, value_name = "ID:HASH")]
        anchor: Option<String>,
        /// Output format (`json`: the API's report).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
}

/// Runs `slipway audit`.
///
/// # Errors
/// A [`Failure`]: bad input (2), or the server's failure (1).
pub fn audit(args: AuditArgs) -> Result<ExitCode, Failure> {
    match args.command {
        AuditCommand::Export { output } => export(&args.connection, output.as_deref()),
        AuditCommand::Verify { file, anchor, format } => {
            if let Some(text) = &anchor
                && audit_chain::parse_anchor(text).is_none()
            {
                return Err(Failure::usage(format!(
                    "--anchor is ID:HASH (an entry id and its 64-digit hex hash), not `{text}`"
                )));
            }
            let report = match &file {
                Some(file) => verify_file(file, anchor.as_deref())?,
                None => {
                    let session = Session::open(&args.connection)?;
                    session.client().audit_verify(anchor.as_deref()).map_err(|error| session.fail(error))?
                }
            };
            print_report(&report, file.as_deref(), format)
        }
    }
}

/// Counts the lines written through it.
struct LineCounter<W> {
    inner: W,
    lines: u64,
}

impl<W: std::io::Write> std::io::Write for LineCounter<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.lines += buffer[..written].iter().filter(|byte| **byte == b'\n').count() as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `slipway audit export`.
fn export(connection: &Connection, output: Option<&str>) -> Result<ExitCode, Failure> {
    let session = Session::open(connection)?;
    let mut answer = session.client().audit_export(None).map_err(|error| session.fail(error))?;
    let Some(path) = output.filter(|path| *path != "-") else {
        let mut stdout = LineCounter { inner: std::io::stdout().lock(), lines: 0 };
        return copy(&mut answer, &mut stdout, "standard output").map(|()| ExitCode::SUCCESS);
    };
    let file = std::fs::File::create(path).map_err(|error| Failure::usage(format!("cannot write {path}: {error}")))?;
    let mut file = LineCounter { inner: std::io::BufWriter::new(file), lines: 0 };
    copy(&mut answer, &mut file, path)?;
    eprintln!("Exported {} audit log entries to {path}.", file.lines);
    Ok(ExitCode::SUCCESS)
}

/// Copies the export's answer to `to` (named `name`), saying how far it got if it breaks off.
fn copy<W: std::io::Write>(answer: &mut impl Read, to: &mut LineCounter<W>, name: &str) -> Result<(), Failure> {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let read = answer
            .read(&mut buffer)
            .map_err(|error| Failure::failed(format!("the export broke off after {} entries: {error}", to.lines)))?;
        if read == 0 {
            break;
        }
        to.write_all(&buffer[..read]).map_err(|error| written(name, &error))?;
    }
    to.flush().map_err(|error| written(name, &error))
}

/// The failure of writing the export to `name`; a reader that went away ends quietly.
fn written(name: &str, error: &std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    Failure::failed(format!("cannot write {name}: {error}"))
}

/// Checks an export offline: every line an entry, the chain from the genesis.
fn verify_file(file: &str, anchor: Option<&str>) -> Result<api::AuditVerification, Failure> {
    let unreadable = |error: std::io::Error| Failure::usage(format!("cannot read {file}: {error}"));
    let reader: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(file).map_err(unreadable)?)
    };
    let mut verifier = Verifier::new();
    if let Some((id, hash)) = anchor.and_then(audit_chain::parse_anchor) {
        verifier = verifier.with_anchor(id, &hash);
    }
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(unreadable)?;
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let entry: ChainedEntry = serde_json::from_str(&line)
            .map_err(|error| Failure::usage(format!("{file}, line {number}: not an audit log entry: {error}")))?;
        if verifier.push(&entry).is_some() {
            break;
        }
    }
    Ok(api::AuditVerification::from(&verifier.finish()))
}

/// Prints what a check found, and gives the exit status: 0 whole, 1 broken.
fn print_report(report: &api::AuditVerification, file: Option<&str>, format: ListFormat) -> Result<ExitCode, Failure> {
    if format == ListFormat::Json {
        print_json(report)?;
    } else {
        let what = file.map_or_else(|| "The audit log".to_owned(), |file| format!("The export {file}"));
        match (&report.first_break, report.last_id, &report.last_hash) {
            (Some(found), _, _) => {
                outln!("{what} is broken: {}.", found.message);
                outln!("Checked {} entries, up to the first break.", report.entries);
            }
            (None, Some(id), Some(hash)) => outln!(
                "{what} is intact: {} entries checked; the newest is entry {id} with hash {hash}.",
                report.entries
            ),
            _ => outln!("{what} is intact: it has no entries."),
        }
    }
    Ok(if report.intact { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
