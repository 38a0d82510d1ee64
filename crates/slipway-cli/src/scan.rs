//! `slipway scan secrets [PATH] [--git] [--since REV] [--baseline FILE] [--config FILE]
//! [--format text|json|sarif] [--redact N]`: secret scanning outside pipelines, with
//! `slipway-security`. Exit status 0 when nothing is found, 1 with findings, 2 for bad input (a
//! rules file's mistake with its `file:line:col`, a baseline that is not a report, a path or a
//! revision that is not there). `slipway scan vulns` (in `scan_vulns.rs`) matches a project's
//! packages against the offline OSV database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use slipway_security::{Options, Request, Target, report};

use crate::output::out;

/// `slipway scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(subcommand)]
    command: ScanCommand,
}

#[derive(Subcommand, Debug)]
enum ScanCommand {
    /// Find secrets (keys, tokens, passwords) in a working tree, the lines a diff adds, or every
    /// commit of a repository's history; rules in gitleaks' format. Exit 0 none, 1 found, 2 bad
    /// input.
    Secrets(SecretsArgs),
    /// Find known vulnerabilities of a project's packages (its lockfiles, or an SBOM) in the
    /// offline OSV database (`slipway osv import`). Exit 0 none at or above --fail-on, 1 some, 2
    /// bad input.
    Vulns(crate::scan_vulns::VulnsArgs),
}

/// `slipway scan secrets`.
#[derive(Args, Debug)]
struct SecretsArgs {
    /// The directory (or file) to scan; a repository's directory with --git or --since.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Scan every commit's added lines (the whole history, or the commits after --since), each
    /// finding with its commit, author and date.
    #[arg(long)]
    git: bool,
    /// With --git: only the commits after REV. Without it: only the lines added from REV to HEAD
    /// (as a push or a pull request adds them).
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// An earlier JSON report: its findings do not count again.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// A rules file in gitleaks' format (default: PATH/.gitleaks.toml when there is one, else
    /// Slipway's default rules).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A .gitleaksignore of fingerprints (default: PATH/.gitleaksignore when there is one).
    #[arg(long, value_name = "FILE")]
    ignore_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The percentage of each secret hidden (1-100; at least half is always hidden).
    #[arg(long, value_name = "N", default_value_t = slipway_security::DEFAULT_REDACT_PERCENT,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    redact: u8,
    /// How many times encoded text (base64, hex, percent) is decoded and searched again; 0: never.
    #[arg(long, value_name = "N", default_value_t = Options::default().max_decode_depth)]
    max_decode_depth: u32,
    /// How deep archives (zip, jar, tar, tar.gz, gz) are opened; 0: never.
    #[arg(long, value_name = "N", default_value_t = Options::default().max_archive_depth)]
    max_archive_depth: u32,
}

/// How findings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people, with a summary.
    Text,
    /// gitleaks' JSON report (an array of findings), usable as a baseline.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

/// Runs `slipway scan`.
pub fn scan_command(args: &ScanArgs) -> ExitCode {
    match &args.command {
        ScanCommand::Secrets(args) => secrets(args),
        ScanCommand::Vulns(args) => crate::scan_vulns::vulns_command(args),
    }
}

fn secrets(args: &SecretsArgs) -> ExitCode {
    let target = match (&args.since, args.git) {
        (since, true) => Target::History { since: since.clone() },
        (Some(since), false) => Target::Diff { base: since.clone(), head: "HEAD".to_owned() },
        (None, false) => Target::Tree,
    };
    let request = Request {
        root: args.path.clone(),
        target,
        config: args.config.clone(),
        baseline: args.baseline.clone(),
        ignore_file: args.ignore_file.clone(),
        options: Options {
            redact: args.redact,
            max_decode_depth: args.max_decode_depth,
            max_archive_depth: args.max_archive_depth,
            ..Options::default()
        },
    };
    let report = match slipway_security::scan(&request) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    match args.format {
        Format::Text => out!("{}", report::text(&report)),
        Format::Json => {
            out!("{}", report::json(&report));
            eprintln!("{}", report::summary(&report));
        }
        Format::Sarif => {
            let text = serde_json::to_string_pretty(&report::sarif(&report)).unwrap_or_default();
            out!("{text}\n");
            eprintln!("{}", report::summary(&report));
        }
    }
    if report.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
