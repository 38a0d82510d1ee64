//! `slipway scan vulns [PATH | --sbom FILE] [--db DIR] [--ignore FILE] [--fail-on SEVERITY]
//! [--only-fixable] [--format text|json|sarif|cyclonedx]`: a project's packages (its lockfiles,
//! or an SBOM's purls) matched against the offline OSV database (`slipway osv import`). Exit
//! status 0 when nothing fails the gate, 1 when a finding does, 2 for bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use slipway_security::vulns::{self, Gate, Input, Request, output};

use crate::output::out;

/// `slipway scan vulns`.
#[derive(Args, Debug)]
pub(crate) struct VulnsArgs {
    /// A lockfile, or a directory whose lockfiles are read (as `slipway sbom` reads them).
    #[arg(default_value = ".", conflicts_with = "sbom")]
    path: PathBuf,
    /// Scan a CycloneDX (or SPDX) JSON SBOM's components (their purls) instead of lockfiles.
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// The OSV database's directory (default: $SLIPWAY_OSV_DB, else
    /// $XDG_DATA_HOME/slipway/osv, else ~/.local/share/slipway/osv).
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// An ignore file in osv-scanner's format ([[IgnoredVulns]] id, ignoreUntil, reason); default:
    /// osv-scanner.toml beside what is scanned, when there is one.
    #[arg(long, value_name = "FILE")]
    ignore: Option<PathBuf>,
    /// The lowest severity that fails (exit 1): low, medium, high, critical, or none (never).
    /// Unknown severities count as low.
    #[arg(long, value_name = "SEVERITY", default_value = "low")]
    fail_on: String,
    /// Only findings with a fixed version fail.
    #[arg(long)]
    only_fixable: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How findings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people, with a summary.
    Text,
    /// Slipway's JSON report (docs/vulnerabilities.md).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// CycloneDX 1.6: the project's components with vulnerabilities[].
    Cyclonedx,
}

/// Runs `slipway scan vulns`.
pub(crate) fn vulns_command(args: &VulnsArgs) -> ExitCode {
    let fail_on = match Gate::threshold(&args.fail_on) {
        Ok(fail_on) => fail_on,
        Err(message) => {
            eprintln!("error: --fail-on: {message}");
            return ExitCode::from(2);
        }
    };
    let gate = Gate { fail_on, only_fixable: args.only_fixable };
    let database = match crate::osv::database_directory(args.db.as_deref()) {
        Ok(directory) => directory,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let input = match &args.sbom {
        Some(file) => Input::Sbom(file.clone()),
        None => Input::Lockfiles(args.path.clone()),
    };
    let request = Request { input, database, ignore_file: args.ignore.clone(), now: jiff::Timestamp::now() };
    let report = match vulns::scan(&request) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        Format::Text => out!("{}", output::text(&report, &gate)),
        Format::Json => {
            out!("{}", output::json(&report, &gate));
            eprintln!("{}", output::summary(&report, &gate));
        }
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&output::sarif(&report, &gate)).unwrap_or_default();
            out!("{text}\n");
            eprintln!("{}", output::summary(&report, &gate));
        }
        Format::Cyclonedx => {
            out!("{}", output::cyclonedx(&report, &slipway_security::sbom::BomInfo::now()));
            eprintln!("{}", output::summary(&report, &gate));
        }
    }
    if report.failing(&gate).is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
