//! Slipway's security room; so far, secret scanning and SBOMs from lockfiles ([`sbom`]).
//!
//! Rules are gitleaks' TOML format ([`config`]), so a team's `.gitleaks.toml` and
//! `.gitleaksignore` work as they are, with Slipway's own default rules embedded ([`rules`]).
//! Detection is pure ([`detect`]: a keyword prefilter, regexes, secret groups, Shannon entropy,
//! allowlists, `gitleaks:allow`, base64/hex/percent decoding to a set depth); reading is at the
//! edge ([`source`]: a working tree with `.gitignore` respected, archives inside it, and `git`'s
//! patches through `slipway-git`: a diff's added lines, or every commit's). [`scan`] puts them
//! together with a `.gitleaksignore` and a baseline ([`suppress`]) and returns findings whose
//! secrets are already redacted; [`report`] writes them as SARIF 2.1.0, gitleaks' JSON, or text.

pub mod config;
mod decode;
pub mod detect;
pub mod finding;
pub mod policy;
pub mod provenance;
pub mod report;
pub mod rules;
pub mod sbom;
pub mod source;
pub mod summary;
pub mod suppress;
pub mod vulns;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use config::{Config, ConfigError};
pub use detect::{CommitInfo, INLINE_ALLOW};
pub use finding::{DEFAULT_REDACT_PERCENT, Finding, redact_secret};
pub use source::Skipped;
pub use suppress::{Baseline, BaselineError, Fingerprints};

use detect::{Detector, Fragment};
use source::Archive;

/// What to scan under the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The files of the working tree (or one file), `.gitignore` respected.
    Tree,
    /// Only the lines added from `base` to `head` (from their merge base, as a pull request or a
    /// push adds them); the root must be in a git repository.
    Diff {
        /// The revision before (a push's old commit, a pull request's target branch).
        base: String,
        /// The revision after (`HEAD`).
        head: String,
    },
    /// The lines every commit added, each finding with its commit; all of history (every ref),
    /// or the commits after `since` up to `HEAD`.
    History {
        /// The revision to start after.
        since: Option<String>,
    },
}

/// How a scan goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The percentage of each secret hidden in every output (gitleaks' `--redact=N`); at least
    /// half is always hidden.
    pub redact: u8,
    /// How many times encoded text is decoded and searched again (gitleaks'
    /// `--max-decode-depth`); 0 turns decoding off.
    pub max_decode_depth: u32,
    /// How deep archives inside archives are opened; 0 leaves archives unopened.
    pub max_archive_depth: u32,
    /// Files and archive entries larger than this are skipped (and said to be).
    pub max_file_bytes: u64,
    /// How many threads read and search files (0: one per core).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            redact: DEFAULT_REDACT_PERCENT,
            max_decode_depth: 3,
            max_archive_depth: 2,
            max_file_bytes: 32 << 20,
            threads: 0,
        }
    }
}

/// A scan to run.
#[derive(Clone, Debug)]
pub struct Request {
    /// The directory or file scanned (a repository's directory for diffs and history).
    pub root: PathBuf,
    /// What is scanned.
    pub target: Target,
    /// A rules file; else the root's `.gitleaks.toml` when it has one, else the defaults.
    pub config: Option<PathBuf>,
    /// An earlier JSON report whose findings do not count again.
    pub baseline: Option<PathBuf>,
    /// A `.gitleaksignore`; else the root's when it has one.
    pub ignore_file: Option<PathBuf>,
    /// How.
    pub options: Options,
}

impl Request {
    /// A scan of `root`'s working tree with the defaults.
    #[must_use]
    pub fn tree(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            target: Target::Tree,
            config: None,
            baseline: None,
            ignore_file: None,
            options: Options::default(),
        }
    }
}

/// Why a scan could not be done (bad input: the command's exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The rules file has a mistake or cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The baseline cannot be used.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The ignore file cannot be read.
    #[error("{path}: cannot be read: {source}")]
    IgnoreFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// What should be scanned is not there.
    #[error("{path}: nothing to scan there: {source}")]
    Root {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Git failed (not a repository, an unknown revision).
    #[error("{0}\n  help: diff and history scans need a git repository and revisions it has")]
    Git(#[from] slipway_git::GitError),
}

/// A rule as reports describe it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// Its id.
    pub id: String,
    /// What it finds.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// What a scan found and what it read.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// The findings, redacted, in file and line order (commit order for history).
    pub findings: Vec<Finding>,
    /// The rules the scan ran, for SARIF's rule list.
    pub rules: Vec<RuleInfo>,
    /// Files (and archive entries) searched.
    pub files: usize,
    /// Bytes searched.
    pub bytes: u64,
    /// Commits read (history scans).
    pub commits: usize,
    /// Findings left out because `.gitleaksignore` lists them.
    pub ignored: usize,
    /// Findings left out because the baseline has them.
    pub in_baseline: usize,
    /// Files and entries not searched, and why.
    pub skipped: Vec<Skipped>,
    /// Things worth saying (a `.gitleaksignore` line that is not a fingerprint).
    pub warnings: Vec<String>,
}

impl Report {
    /// How many findings each rule has, by rule id.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for finding in &self.findings {
            *counts.entry(finding.rule_id.as_str()).or_insert(0) += 1;
        }
        counts
    }
}

/// Runs a scan.
///
/// # Errors
/// [`ScanError`] for bad input: a rules file with a mistake, a baseline that is not a report, a
/// root that is not there, or git failing for a diff or history.
pub fn scan(request: &Request) -> Result<Report, ScanError> {
    let root = &request.root;
    std::fs::metadata(root).map_err(|source| ScanError::Root { path: root.display().to_string(), source })?;
    let directory = if root.is_dir() { Some(root.as_path()) } else { None };
    let local_config = directory.map(|dir| dir.join(".gitleaks.toml")).filter(|path| path.is_file());
    let config_path = request.config.clone().or(local_config);
    let config = match &config_path {
        Some(path) => Config::load(path)?,
        None => Config::default_rules()?,
    };
    let mut report = Report {
        rules: config
            .rules
            .iter()
            .map(|rule| RuleInfo {
                id: rule.id.clone(),
                description: rule.description.clone(),
                tags: rule.tags.clone(),
            })
            .collect(),
        ..Report::default()
    };
    let local_ignore = directory.map(|dir| dir.join(".gitleaksignore")).filter(|path| path.is_file());
    let fingerprints = match request.ignore_file.clone().or(local_ignore) {
        Some(path) => {
            let (fingerprints, warnings) = Fingerprints::load(&path)
                .map_err(|source| ScanError::IgnoreFile { path: path.display().to_string(), source })?;
            report.warnings.extend(warnings);
            fingerprints
        }
        None => Fingerprints::default(),
    };
    let baseline = request.baseline.as_deref().map(Baseline::load).transpose()?.unwrap_or_default();
    // The rules file and the baseline are not searched (they hold secrets' shapes, and findings).
    let own_files: Vec<PathBuf> =
        config_path.iter().chain(&request.baseline).filter_map(|p| p.canonicalize().ok()).collect();

    let detector = Detector::new(config, request.options.max_decode_depth);
    let mut found = match &request.target {
        Target::Tree => scan_tree(&detector, root, &own_files, &request.options, &mut report),
        Target::Diff { base, head } => {
            let patch = source::diff(root, base, head)?;
            scan_patches(&detector, &[patch], &mut report)
        }
        Target::History { since } => {
            let patches = source::history(root, since.as_deref())?;
            report.commits = patches.len();
            scan_patches(&detector, &patches, &mut report)
        }
    };
    for finding in &mut found {
        finding.set_fingerprint();
        finding.redact(request.options.redact);
    }
    let before = found.len();
    found.retain(|finding| !fingerprints.ignores(finding));
    report.ignored = before - found.len();
    let before = found.len();
    found.retain(|finding| !baseline.contains(finding));
    report.in_baseline = before - found.len();
    report.findings = found;
    Ok(report)
}

fn scan_tree(
    detector: &Detector,
    root: &Path,
    own_files: &[PathBuf],
    options: &Options,
    report: &mut Report,
) -> Vec<Finding> {
    let mut skipped = Vec::new();
    let files: Vec<(PathBuf, String)> = source::tree_files(root, &mut skipped)
        .into_iter()
        .filter(|(path, _)| !path.canonicalize().is_ok_and(|path| own_files.contains(&path)))
        .collect();
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    } else {
        options.threads
    };
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<FileResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut result = FileResult::default();
                    for (path, relative) in part {
                        match std::fs::metadata(path) {
                            Ok(metadata) if metadata.len() > options.max_file_bytes => {
                                result.skipped.push(Skipped {
                                    path: relative.clone(),
                                    reason: format!("larger than {} bytes", options.max_file_bytes),
                                });
                            }
                            Ok(_) => match std::fs::read(path) {
                                Ok(content) => scan_content(detector, relative, &content, options, 0, &mut result),
                                Err(error) => {
                                    result.skipped.push(Skipped { path: relative.clone(), reason: error.to_string() });
                                }
                            },
                            Err(error) => {
                                result.skipped.push(Skipped { path: relative.clone(), reason: error.to_string() });
                            }
                        }
                    }
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| FileResult {
                    skipped: vec![Skipped { path: String::new(), reason: "a scanning thread failed".to_owned() }],
                    ..FileResult::default()
                })
            })
            .collect()
    });
    let mut findings = Vec::new();
    report.skipped = skipped;
    for result in results {
        findings.extend(result.findings);
        report.files += result.files;
        report.bytes += result.bytes;
        report.skipped.extend(result.skipped);
    }
    findings
}

#[derive(Default)]
struct FileResult {
    findings: Vec<Finding>,
    files: usize,
    bytes: u64,
    skipped: Vec<Skipped>,
}

fn scan_content(
    detector: &Detector,
    path: &str,
    content: &[u8],
    options: &Options,
    depth: u32,
    result: &mut FileResult,
) {
    if let Some(kind) = Archive::of(path) {
        // Path-only rules see the archive itself too.
        if depth < options.max_archive_depth {
            for (entry, bytes) in kind.entries(path, content, options.max_file_bytes, &mut result.skipped) {
                scan_content(detector, &format!("{path}!{entry}"), &bytes, options, depth + 1, result);
            }
            return;
        }
        result
            .skipped
            .push(Skipped { path: path.to_owned(), reason: "an archive deeper than --max-archive-depth".to_owned() });
        return;
    }
    if source::is_binary(content) {
        result.skipped.push(Skipped { path: path.to_owned(), reason: "binary".to_owned() });
        return;
    }
    result.files += 1;
    result.bytes += content.len() as u64;
    result.findings.extend(detector.detect(&Fragment { content, path, commit: None, line_numbers: None }));
}

fn scan_patches(detector: &Detector, patches: &[source::CommitPatch], report: &mut Report) -> Vec<Finding> {
    let mut findings = Vec::new();
    for patch in patches {
        for file in &patch.files {
            report.files += 1;
            report.bytes += file.content.len() as u64;
            findings.extend(detector.detect(&Fragment {
                content: &file.content,
                path: &file.path,
                commit: patch.commit.as_ref(),
                line_numbers: Some(&file.line_numbers),
            }));
        }
    }
    findings
}
