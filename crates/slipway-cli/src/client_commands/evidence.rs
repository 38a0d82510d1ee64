//! `slipway evidence RUN_OR_DEPLOYMENT`: a deployment's or run's evidence bundle, and
//! `slipway evidence verify FILE`: the check of one.
//!
//! A run is named by its id (`slipway evidence 42`), a deployment by its environment and its id
//! as the API names it (`/environments/{name}/deployments/{id}`): `slipway evidence
//! production/7`. The bundle (a gzip-compressed tar, see docs/evidence.md) is written to
//! `evidence-run-42.tar.gz` or `evidence-production-7.tar.gz`, or where `--output` says.
//!
//! `verify` reads a bundle, checks the DSSE signature of its manifest with the server's public
//! provenance keys (`--keys FILE`, the key set document, or `--keys server`: fetched from the
//! server's `/.well-known/slipway/provenance-keys.json`, the default), then every file against
//! the signed manifest: a file changed, missing or added is named. Exit status 0 when the
//! bundle is whole, 1 when it was tampered with, 2 for bad input (a file that is not a
//! gzip-compressed tar, not an evidence bundle, unreadable keys, keys that cannot be fetched).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use slipway_client::api::evidence::{MANIFEST_PATH, MANIFEST_PAYLOAD_TYPE, SIGNATURE_PATH};
use slipway_security::provenance::{Envelope, KeySet, KeyStatus};

use super::{Connection, Failure, ListFormat, Session, print_json};
use crate::output::outln;

/// The most bytes read out of a bundle.
const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// `slipway evidence`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Option<EvidenceCommand>,
    /// The run (its id: `42`) or deployment (`ENVIRONMENT/ID`: `production/7`) whose evidence
    /// bundle to download.
    #[arg(required = true, value_name = "RUN_OR_DEPLOYMENT")]
    target: Option<String>,
    /// Write the bundle to this file (`-` for standard output) [default:
    /// evidence-run-ID.tar.gz or evidence-ENVIRONMENT-ID.tar.gz].
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Check a bundle: its manifest's signature with the server's public provenance keys, and
    /// every file against the signed manifest. Exits 0 when whole, 1 when tampered with (each
    /// changed, missing or added file named), 2 for bad input.
    Verify {
        /// The bundle (`slipway evidence`'s tar.gz; `-` for standard input).
        file: PathBuf,
        /// The server's public keys: its key set document (a file, from
        /// /.well-known/slipway/provenance-keys.json), or `server` to fetch them from the
        /// server (--server, $SLIPWAY_SERVER or the saved login; no token needed).
        #[arg(long, value_name = "FILE|server", default_value = "server")]
        keys: String,
        /// Output format (`json`: the check's report).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
}

/// What a bundle is of.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Run(i64),
    Deployment(String, i64),
}

impl Target {
    /// Reads `42` or `ENVIRONMENT/ID`.
    fn parse(text: &str) -> Result<Self, Failure> {
        let text = text.trim();
        let id = |text: &str| text.parse::<i64>().ok().filter(|id| *id > 0);
        if let Some(run) = id(text) {
            return Ok(Self::Run(run));
        }
        if let Some((environment, deployment)) = text.rsplit_once('/')
            && !environment.is_empty()
            && let Some(deployment) = id(deployment)
        {
            return Ok(Self::Deployment(environment.to_owned(), deployment));
        }
        Err(Failure::usage(format!(
            "`{text}` names no run or deployment: give a run's id (`slipway evidence 42`) or a deployment as \
             ENVIRONMENT/ID (`slipway evidence production/7`; `slipway environments show ENVIRONMENT` lists its deployments)"
        )))
    }

    fn describe(&self) -> String {
        match self {
            Self::Run(id) => format!("run {id}"),
            Self::Deployment(environment, id) => format!("deployment {environment}/{id}"),
        }
    }

    /// The default file name, as the server names it.
    fn file_name(&self) -> String {
        match self {
            Self::Run(id) => format!("evidence-run-{id}.tar.gz"),
            Self::Deployment(environment, id) => {
                let safe: String =
                    environment
                        .chars()
                        .map(|character| {
                            if character.is_ascii_alphanumeric() || "._-".contains(character) { character } else { '_' }
                        })
                        .collect();
                format!("evidence-{safe}-{id}.tar.gz")
            }
        }
    }
}

/// Runs `slipway evidence`.
///
/// # Errors
/// A [`Failure`]: bad input (2), or the server's failure (1).
pub fn evidence(args: EvidenceArgs) -> Result<ExitCode, Failure> {
    match (args.command, args.target) {
        (Some(EvidenceCommand::Verify { file, keys, format }), _) => verify(&args.connection, &file, &keys, format),
        (None, Some(target)) => download(&args.connection, &Target::parse(&target)?, args.output.as_deref()),
        (None, None) => Err(Failure::usage("give a run's id or a deployment (ENVIRONMENT/ID), or `verify FILE`")),
    }
}

/// `slipway evidence RUN_OR_DEPLOYMENT`.
fn download(connection: &Connection, target: &Target, output: Option<&Path>) -> Result<ExitCode, Failure> {
    let session = Session::open(connection)?;
    let client = session.client();
    let bytes = match target {
        Target::Run(id) => client.run_evidence(*id),
        Target::Deployment(environment, id) => client.deployment_evidence(environment, *id),
    }
    .map_err(|error| session.fail(error))?;
    if output.is_some_and(|path| path == Path::new("-")) {
        std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)
            .map_err(|error| Failure::failed(format!("cannot write standard output: {error}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = output.map_or_else(|| PathBuf::from(target.file_name()), Path::to_path_buf);
    std::fs::write(&path, &bytes)
        .map_err(|error| Failure::usage(format!("cannot write {}: {error}", path.display())))?;
    outln!(
        "Wrote the evidence bundle of {} to {} ({} bytes); `slipway evidence verify {}` checks it.",
        target.describe(),
        path.display(),
        bytes.len(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What is wrong with one file of a bundle.
#[derive(Clone, Debug, Serialize)]
struct Problem {
    path: String,
    problem: String,
}

/// What the check found.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    file: String,
    intact: bool,
    /// The key that signed the manifest, when the signature is valid.
    keyid: Option<String>,
    /// Where the keys came from.
    keys: String,
    /// How many files the signed manifest lists.
    files: usize,
    problems: Vec<Problem>,
}

/// `slipway evidence verify FILE`.
fn verify(connection: &Connection, file: &Path, keys: &str, format: ListFormat) -> Result<ExitCode, Failure> {
    let name = file.display().to_string();
    let bytes = if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_BUNDLE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|error| Failure::usage(format!("cannot read standard input: {error}")))?;
        bytes
    } else {
        std::fs::read(file).map_err(|error| Failure::usage(format!("cannot read {name}: {error}")))?
    };
    let (key_set, keys_from) = key_set(connection, keys)?;
    let bundle = read_bundle(&bytes).map_err(|error| Failure::usage(format!("{name}: {error}")))?;
    let report = check(&name, &bundle, &key_set, keys_from);
    if format == ListFormat::Json {
        print_json(&report)?;
    } else if report.intact {
        outln!(
            "The evidence bundle {name} is intact: its {} files match the manifest, signed by key {}, one of {}.",
            report.files,
            report.keyid.as_deref().unwrap_or_default(),
            report.keys
        );
    } else {
        outln!("The evidence bundle {name} was tampered with:");
        for problem in &report.problems {
            outln!("  {}: {}", problem.path, problem.problem);
        }
    }
    Ok(if report.intact { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The keys to check with, and where they came from.
fn key_set(connection: &Connection, keys: &str) -> Result<(KeySet, String), Failure> {
    if keys == "server" {
        let (server, _) = super::resolve_server(connection)?;
        let client = slipway_client::Client::new(&server).map_err(|error| Failure::usage(error.to_string()))?;
        let document = client.provenance_keys().map_err(|error| {
            Failure::usage(format!(
                "cannot fetch the public keys of {server} ({error}); give them as a file with --keys FILE \
                 (its /.well-known/slipway/provenance-keys.json)"
            ))
        })?;
        let set = KeySet::parse(&document)
            .map_err(|error| Failure::usage(format!("the public keys of {server}: {error}")))?;
        return Ok((set, format!("the keys of {server}")));
    }
    let document =
        std::fs::read(keys).map_err(|error| Failure::usage(format!("--keys {keys}: cannot be read: {error}")))?;
    let set = KeySet::parse(&document).map_err(|error| Failure::usage(format!("--keys {keys}: {error}")))?;
    Ok((set, format!("the keys in {keys}")))
}

/// A bundle's files (by path under its top directory) and what was odd about its entries.
struct Bundle {
    files: BTreeMap<String, Vec<u8>>,
    odd: Vec<Problem>,
}

/// Reads a gzip-compressed tar: its regular files under one top directory.
fn read_bundle(bytes: &[u8]) -> Result<Bundle, String> {
    let not_archive =
        |error: std::io::Error| format!("not a gzip-compressed tar archive (an evidence bundle): {error}");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes).take(MAX_BUNDLE_BYTES));
    let mut files = BTreeMap::new();
    let mut odd = Vec::new();
    let mut top: Option<String> = None;
    for entry in archive.entries().map_err(not_archive)? {
        let mut entry = entry.map_err(not_archive)?;
        let path = entry.path().map_err(not_archive)?.into_owned();
        let shown = path.display().to_string();
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                _ => {
                    odd.push(Problem { path: shown.clone(), problem: "a path outside the bundle's directory".into() });
                    parts.clear();
                    break;
                }
            }
        }
        let Some((first, rest)) = parts.split_first() else { continue };
        match &top {
            None => top = Some(first.clone()),
            Some(top) if top != first => {
                odd.push(Problem { path: shown, problem: format!("outside the bundle's directory {top}/") });
                continue;
            }
            Some(_) => {}
        }
        let inner = rest.join("/");
        match entry.header().entry_type() {
            tar::EntryType::Directory => {}
            tar::EntryType::Regular | tar::EntryType::Continuous if !inner.is_empty() => {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).map_err(not_archive)?;
                files.insert(inner, content);
            }
            other => odd.push(Problem {
                path: if inner.is_empty() { shown } else { inner },
                problem: format!("not a regular file ({other:?}): bundles hold only files"),
            }),
        }
    }
    if !files.contains_key(MANIFEST_PATH) && !files.contains_key(SIGNATURE_PATH) {
        return Err(format!(
            "not an evidence bundle: it has neither {MANIFEST_PATH} nor {SIGNATURE_PATH} (`slipway evidence RUN_OR_DEPLOYMENT` downloads one)"
        ));
    }
    Ok(Bundle { files, odd })
}

/// The lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Checks the signature, then every file against the signed manifest.
fn check(name: &str, bundle: &Bundle, keys: &KeySet, keys_from: String) -> Report {
    let mut problems = bundle.odd.clone();
    let mut problem = |path: &str, text: String| problems.push(Problem { path: path.to_owned(), problem: text });
    let mut keyid = None;
    let written = bundle.files.get(MANIFEST_PATH);
    let mut manifest = written.cloned();
    match bundle.files.get(SIGNATURE_PATH) {
        None => problem(SIGNATURE_PATH, "missing: the manifest is not signed".to_owned()),
        Some(bytes) => match serde_json::from_slice::<Envelope>(bytes) {
            Err(error) => problem(SIGNATURE_PATH, format!("not a DSSE envelope: {error}")),
            Ok(envelope) if envelope.payload_type != MANIFEST_PAYLOAD_TYPE => problem(
                SIGNATURE_PATH,
                format!("signs a {}, not an evidence manifest ({MANIFEST_PAYLOAD_TYPE})", envelope.payload_type),
            ),
            Ok(envelope) => match keys.signer_of(&envelope) {
                None => problem(
                    SIGNATURE_PATH,
                    format!(
                        "no valid signature by {keys_from}: the signature was changed, or another server signed the bundle"
                    ),
                ),
                Some((key, payload)) => {
                    let status = if key.status == KeyStatus::Active { "active" } else { "retired" };
                    keyid = Some(format!("{} ({status})", key.keyid));
                    match written {
                        None => problem(MANIFEST_PATH, "missing (its signed copy is checked against)".to_owned()),
                        Some(written) if *written != payload => {
                            problem(MANIFEST_PATH, "changed after it was signed".to_owned());
                        }
                        Some(_) => {}
                    }
                    manifest = Some(payload);
                }
            },
        },
    }
    let manifest = String::from_utf8_lossy(manifest.as_deref().unwrap_or_default()).into_owned();
    let mut listed = BTreeMap::new();
    for (index, line) in manifest.lines().enumerate() {
        match line.split_once("  ") {
            Some((digest, path)) if digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()) => {
                listed.insert(path.to_owned(), digest.to_ascii_lowercase());
            }
            _ => problem(MANIFEST_PATH, format!("line {} is not `SHA256  PATH`", index + 1)),
        }
    }
    for (path, digest) in &listed {
        match bundle.files.get(path) {
            None => problem(path, "missing: the signed manifest lists it".to_owned()),
            Some(bytes) => {
                let found = sha256_hex(bytes);
                if found != *digest {
                    problem(path, format!("changed: its SHA-256 is {found}, the signed manifest says {digest}"));
                }
            }
        }
    }
    for path in bundle.files.keys() {
        if path != MANIFEST_PATH && path != SIGNATURE_PATH && !listed.contains_key(path) {
            problem(path, "added: the signed manifest does not list it".to_owned());
        }
    }
    Report {
        file: name.to_owned(),
        intact: problems.is_empty() && keyid.is_some(),
        keyid,
        keys: keys_from,
        files: listed.len(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_deployments_are_named_on_the_command_line() {
        assert_eq!(Target::parse("42").ok(), Some(Target::Run(42)));
        assert_eq!(Target::parse("production/7").ok(), Some(Target::Deployment("production".into(), 7)));
        assert_eq!(Target::parse("a/b/7").ok(), Some(Target::Deployment("a/b".into(), 7)));
        for wrong in ["", "0", "-3", "production", "production/", "/7", "production/x"] {
            assert!(Target::parse(wrong).is_err(), "{wrong}");
        }
        assert_eq!(Target::Deployment("prod eu".into(), 3).file_name(), "evidence-prod_eu-3.tar.gz");
    }
}
