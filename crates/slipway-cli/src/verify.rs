//! `slipway verify ARTIFACT --keys FILE [--provenance FILE] [--builder ID] [--repository URI]
//! [--commit SHA] [--format text|json|sarif]`: an artifact's signed provenance checked offline, with
//! `slipway-security`'s provenance library: the DSSE signature with a key of the server's key
//! set (its `/.well-known/slipway/provenance-keys.json` document, or one PEM public key), the
//! artifact's SHA-256 digests against the statement's subjects (a file must be one of them; a
//! directory's files must be exactly them), and the builder, repository and commit when asked.
//!
//! Without `--provenance`, the attestation is looked for beside the artifact:
//! `ARTIFACT.intoto.jsonl` (a bare DSSE envelope), then `ARTIFACT.sigstore.json` (a key-based
//! Sigstore bundle), then `ARTIFACT.dsse.json`; for a directory `drop/`, beside it as
//! `drop.intoto.jsonl` and so on, never inside it (it would be a file the statement does not
//! name). Exit status 0 when verified, 1 when a check failed, 2 for bad input (a file that cannot
//! be read, a malformed envelope, bundle, key set or statement, a URL given as `--keys`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use slipway_security::provenance::{
    self, CheckStatus, KeySet, Policy, Verification, artifact_digests, parse_attestation,
};

use crate::output::out;

/// `slipway verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The artifact: a file, or a directory (every file under it).
    artifact: PathBuf,
    /// The server's public keys: its key set (JSON, from
    /// /.well-known/slipway/provenance-keys.json) or one public key (PEM).
    #[arg(long, value_name = "FILE")]
    keys: String,
    /// The attestation: a DSSE envelope (.intoto.jsonl, .dsse.json) or a Sigstore bundle
    /// (.sigstore.json); by default ARTIFACT.intoto.jsonl, ARTIFACT.sigstore.json or
    /// ARTIFACT.dsse.json beside the artifact.
    #[arg(long, value_name = "FILE")]
    provenance: Option<PathBuf>,
    /// Require this builder (the server's URL).
    #[arg(long, value_name = "ID")]
    builder: Option<String>,
    /// Require this repository.
    #[arg(long, value_name = "URI")]
    repository: Option<String>,
    /// Require this commit (the full id or at least 7 hex digits of it).
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The formats of the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Each check on a line.
    Text,
    /// The verification as JSON, with the statement when the signature verified.
    Json,
    /// A SARIF 2.1.0 log: a result for each failed check.
    Sarif,
}

/// The names tried beside the artifact, in order.
const BESIDE: &[&str] = &[".intoto.jsonl", ".sigstore.json", ".dsse.json"];

/// Runs `slipway verify`.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    match run(args) {
        Ok(verification) => {
            if verification.verified() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Verifies and prints; an error is bad input.
fn run(args: &VerifyArgs) -> Result<Verification, String> {
    if args.keys.starts_with("http://") || args.keys.starts_with("https://") {
        return Err(format!(
            "--keys takes a file: slipway verify works offline\n  help: download the key set first, e.g. curl -fsSo keys.json {}",
            args.keys
        ));
    }
    let keys_path = Path::new(&args.keys);
    let keys = std::fs::read(keys_path).map_err(|error| format!("{}: cannot be read: {error}", keys_path.display()))?;
    let keys = KeySet::parse(&keys).map_err(|error| format!("{}: {error}", keys_path.display()))?;

    let artifact = artifact_digests(&args.artifact).map_err(|error| error.to_string())?;
    let provenance_path = match &args.provenance {
        Some(path) => path.clone(),
        None => beside(&args.artifact)?,
    };
    let bytes = std::fs::read(&provenance_path)
        .map_err(|error| format!("{}: cannot be read: {error}", provenance_path.display()))?;
    let attestation = parse_attestation(&bytes).map_err(|error| format!("{}: {error}", provenance_path.display()))?;
    let policy =
        Policy { builder_id: args.builder.clone(), repository: args.repository.clone(), commit: args.commit.clone() };
    let verification = provenance::verify(&attestation, &keys, &artifact, &policy).map_err(|error| match error {
        provenance::VerifyError::Commit(_) => format!("--commit: {error}"),
        provenance::VerifyError::Attestation(_) => format!("{}: {error}", provenance_path.display()),
    })?;

    match args.format {
        Format::Json => {
            let document = serde_json::json!({
                "artifact": args.artifact.display().to_string(),
                "provenance": provenance_path.display().to_string(),
                "verdict": verification.verdict,
                "keyid": verification.keyid,
                "checks": verification.checks,
                "statement": verification.statement,
            });
            out!("{}\n", serde_json::to_string_pretty(&document).unwrap_or_default());
        }
        Format::Sarif => {
            let log = provenance::sarif(
                &verification,
                &args.artifact.display().to_string(),
                &provenance_path.display().to_string(),
            );
            out!("{}\n", serde_json::to_string_pretty(&log).unwrap_or_default());
        }
        Format::Text => out!("{}", text(&args.artifact, &provenance_path, &verification)),
    }
    Ok(verification)
}

/// The attestation beside the artifact.
fn beside(artifact: &Path) -> Result<PathBuf, String> {
    // Without a trailing `/`, so that `drop/` gives `drop.intoto.jsonl`.
    let base: PathBuf = artifact.components().collect();
    let candidates: Vec<PathBuf> = BESIDE
        .iter()
        .map(|suffix| {
            let mut name = OsString::from(base.as_os_str());
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect();
    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| {
        let names: Vec<String> = candidates.iter().map(|path| path.display().to_string()).collect();
        format!(
            "{}: no provenance beside it (looked for {})\n  help: give the attestation with --provenance FILE",
            artifact.display(),
            names.join(", ")
        )
    })
}

/// The verification as text: the verdict, then each check on a line (a message of several lines
/// indented under it).
fn text(artifact: &Path, provenance: &Path, verification: &Verification) -> String {
    let mut text = format!("{} with {}\n", artifact.display(), provenance.display());
    for check in &verification.checks {
        let status = match check.status {
            CheckStatus::Passed => "ok",
            CheckStatus::Failed => "FAILED",
            CheckStatus::Skipped => "-",
        };
        let mut lines = check.message.lines();
        text.push_str(&format!("  {status:<6}  {:<10}  {}\n", check.check.name(), lines.next().unwrap_or_default()));
        for line in lines {
            text.push_str(&format!("  {:<6}  {:<10}  {line}\n", "", ""));
        }
    }
    let failed = verification.checks.iter().filter(|check| check.status == CheckStatus::Failed).count();
    if verification.verified() {
        text.push_str(&format!("verified: {}\n", artifact.display()));
    } else {
        text.push_str(&format!(
            "verification failed: {} ({failed} {} failed)\n",
            artifact.display(),
            if failed == 1 { "check" } else { "checks" }
        ));
    }
    text
}
