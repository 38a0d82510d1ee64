//! Known vulnerabilities: an offline OSV database, and a project's packages matched against it.
//!
//! [`db`] keeps OSV's records in a directory, imported from OSV's per-ecosystem exports
//! (`<ecosystem>/all.zip`, or single record files), each record checked ([`osv`]) and an update
//! keeping the newer `modified`. [`scan`] takes a project's packages, from its lockfiles
//! ([`crate::sbom::inventory`]) or from a CycloneDX (or SPDX) JSON SBOM's purls ([`purl`]), and
//! evaluates every record of each package by OSV's algorithm ([`matching`]) in the ecosystem's
//! own version order ([`version`]: SemVer, PEP 440, Go, Maven, NuGet, RubyGems, Composer), with
//! severities from CVSS v3.x/v4.0 vectors ([`severity`]). Findings an `osv-scanner.toml` ignores
//! ([`ignore`]) are listed apart, unless their ignore has expired. A [`Gate`] says which findings
//! fail a step (a severity threshold, and whether only those with a fix count). [`output`] writes
//! the report as text, JSON, SARIF 2.1.0 or CycloneDX 1.6 with `vulnerabilities[]`. Nothing here
//! goes to the network.

pub mod db;
pub mod ignore;
pub mod matching;
pub mod osv;
pub mod output;
pub mod purl;
pub mod severity;
pub mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::sbom::{self, Component, Ecosystem, Inventory, Origin, SbomError};
pub use db::Database;
pub use ignore::{Ignore, IgnoreFile};
/// The time ignores expire against (re-exported so callers need not depend on `jiff`).
pub use jiff::Timestamp;
pub use severity::{Rating, Severity};

/// Why a vulnerability command could not do its work (bad input: exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum VulnError {
    /// A file cannot be read.
    #[error("{path}: cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file of the database cannot be written.
    #[error("{path}: cannot be written: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file given to `osv import` is not one of OSV's exports.
    #[error(
        "{file}: not an OSV export: {message}\n  help: import OSV's per-ecosystem exports (https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip) or single OSV record files (.json)"
    )]
    NotAnExport {
        /// The file.
        file: String,
        /// What it is instead.
        message: String,
    },
    /// A record breaks OSV's schema.
    #[error(
        "{file}:{line}:{column}: {message}\n  help: OSV records follow https://ossf.github.io/osv-schema/; fix or remove this record and import again"
    )]
    Record {
        /// The file (and zip entry).
        file: String,
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Nothing was imported into the database's directory.
    #[error(
        "{path}: no OSV database here\n  help: import OSV's exports first: slipway osv import --db {path} <ecosystem>-all.zip (or set SLIPWAY_OSV_DB)"
    )]
    NoDatabase {
        /// The directory.
        path: String,
    },
    /// A file of the database is not what Slipway wrote.
    #[error("{path}: {message}")]
    Database {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The ignore file has a mistake.
    #[error(
        "{file}:{line}:{column}: {message}\n  help: osv-scanner's format: [[IgnoredVulns]] with id = \"GHSA-...\", ignoreUntil = 2027-01-31, reason = \"...\""
    )]
    Ignore {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An SBOM given with `--sbom` cannot be read as one.
    #[error(
        "{file}:{line}:{column}: {message}\n  help: give a CycloneDX JSON SBOM (bomFormat \"CycloneDX\", components[] with purls) or an SPDX 2.3 JSON one"
    )]
    Sbom {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The lockfiles cannot be read.
    #[error(transparent)]
    Lockfile(#[from] SbomError),
}

/// What is scanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A lockfile, or the lockfiles Slipway reads in a directory.
    Lockfiles(PathBuf),
    /// A CycloneDX or SPDX JSON SBOM.
    Sbom(PathBuf),
}

/// A scan to run.
#[derive(Clone, Debug)]
pub struct Request {
    /// What is scanned.
    pub input: Input,
    /// The database's directory.
    pub database: PathBuf,
    /// An ignore file; else `osv-scanner.toml` beside what is scanned, when there is one.
    pub ignore_file: Option<PathBuf>,
    /// The time ignores expire against.
    pub now: jiff::Timestamp,
}

/// A package checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// OSV's ecosystem (`crates.io`, `npm`, `PyPI`, ...).
    pub ecosystem: String,
    /// OSV's name of it (`@scope/name`, `group:artifact`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its purl (the BOM's reference).
    pub purl: String,
    /// The lockfiles or SBOM it was read from.
    pub sources: Vec<String>,
}

/// A package not checked, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The package (its purl, or its name).
    pub package: String,
    /// Why.
    pub reason: String,
}

/// A known vulnerability of a package.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The record's id.
    pub id: String,
    /// Its aliases (`CVE-...`).
    pub aliases: Vec<String>,
    /// Its summary (or the first line of its details).
    pub summary: String,
    /// The package.
    pub package: Package,
    /// The severity reports use.
    pub severity: Severity,
    /// Every CVSS score of the record for the package.
    pub ratings: Vec<Severity>,
    /// The smallest fixed version above the installed one, when there is one.
    pub fixed: Option<String>,
    /// Every fixed version above the installed one.
    pub fixed_versions: Vec<String>,
    /// The record's links (advisories first).
    pub references: Vec<String>,
    /// When the record was published.
    pub published: Option<String>,
    /// When it was last changed.
    pub modified: String,
    /// The ignore that applies to it, for ignored findings.
    pub ignore: Option<Ignore>,
}

/// An ignore that expired and so did not apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpiredIgnore {
    /// The finding's id.
    pub finding: String,
    /// The ignore.
    pub ignore: Ignore,
}

/// Which findings fail the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The lowest rating that fails; `None` never fails. Unknown severities count as low.
    pub fail_on: Option<Rating>,
    /// Whether only findings with a fixed version fail.
    pub only_fixable: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Self { fail_on: Some(Rating::Low), only_fixable: false }
    }
}

impl Gate {
    /// Reads a threshold: `low`, `medium`, `high`, `critical`, or `none` (never fail).
    ///
    /// # Errors
    /// A message naming the values.
    pub fn threshold(text: &str) -> Result<Option<Rating>, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Some(Rating::Low)),
            "medium" | "moderate" => Ok(Some(Rating::Medium)),
            "high" => Ok(Some(Rating::High)),
            "critical" => Ok(Some(Rating::Critical)),
            "none" | "never" => Ok(None),
            other => Err(format!("'{other}' is not a severity threshold: low, medium, high, critical or none")),
        }
    }

    /// Whether `finding` fails the step.
    #[must_use]
    pub fn fails(&self, finding: &Finding) -> bool {
        let Some(threshold) = self.fail_on else { return false };
        if self.only_fixable && finding.fixed.is_none() {
            return false;
        }
        let rating = if finding.severity.rating == Rating::Unknown { Rating::Low } else { finding.severity.rating };
        rating >= threshold
    }

    /// How it reads, for people.
    #[must_use]
    pub fn describe(&self) -> String {
        match self.fail_on {
            None => "never fails".to_owned(),
            Some(rating) => format!(
                "fails on {rating} or above{}",
                if self.only_fixable { ", only with a fix available" } else { "" }
            ),
        }
    }
}

/// What a scan found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// What was scanned (lockfiles, or the SBOM).
    pub sources: Vec<String>,
    /// The database's directory.
    pub database: String,
    /// The packages checked.
    pub packages: Vec<Package>,
    /// Findings that count, by severity (highest first), then package and id.
    pub findings: Vec<Finding>,
    /// Findings an ignore file left out.
    pub ignored: Vec<Finding>,
    /// Ignores that have expired (their findings count).
    pub expired: Vec<ExpiredIgnore>,
    /// Packages not checked, and why.
    pub skipped: Vec<Skipped>,
    /// Things worth saying (ignore-file warnings, ranges not evaluated).
    pub warnings: Vec<String>,
    /// The ignore file read, if one was.
    pub ignore_file: Option<String>,
    /// The project's inventory, for the CycloneDX output.
    pub inventory: Inventory,
}

impl Report {
    /// The findings that fail `gate`.
    #[must_use]
    pub fn failing(&self, gate: &Gate) -> Vec<&Finding> {
        self.findings.iter().filter(|finding| gate.fails(finding)).collect()
    }

    /// How many findings there are of each rating, highest first.
    #[must_use]
    pub fn counts(&self) -> Vec<(Rating, usize)> {
        let mut counts: BTreeMap<Rating, usize> = BTreeMap::new();
        for finding in &self.findings {
            *counts.entry(finding.severity.rating).or_default() += 1;
        }
        counts.into_iter().rev().collect()
    }
}

/// Runs a scan.
///
/// # Errors
/// [`VulnError`] for bad input: lockfiles or an SBOM that do not read, an ignore file with a
/// mistake, no database at the directory, or a database file that is not the database's.
pub fn scan(request: &Request) -> Result<Report, VulnError> {
    let database = Database::at(&request.database);
    let meta = database.meta()?;
    let (mut report, beside) = match &request.input {
        Input::Lockfiles(path) => (
            from_lockfiles(path)?,
            if path.is_dir() { Some(path.clone()) } else { path.parent().map(Path::to_path_buf) },
        ),
        Input::Sbom(file) => (from_sbom(file)?, file.parent().map(Path::to_path_buf)),
    };
    report.database = request.database.display().to_string();
    let ignore_path = request.ignore_file.clone().or_else(|| {
        beside
            .map(|directory| if directory.as_os_str().is_empty() { PathBuf::from(".") } else { directory })
            .map(|directory| directory.join("osv-scanner.toml"))
            .filter(|path| path.is_file())
    });
    let ignores = match &ignore_path {
        Some(path) => {
            let file = IgnoreFile::load(path)?;
            report.ignore_file = Some(path.display().to_string());
            report.warnings.extend(file.warnings.clone());
            file
        }
        None => IgnoreFile::default(),
    };

    // The packages of each ecosystem, by normalized name.
    let mut by_ecosystem: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for package in &report.packages {
        by_ecosystem
            .entry(package.ecosystem.clone())
            .or_default()
            .insert(matching::normalize_name(&package.ecosystem, &package.name));
    }
    let mut records: BTreeMap<String, BTreeMap<String, Vec<osv::Record>>> = BTreeMap::new();
    for (ecosystem, names) in &by_ecosystem {
        match database.records_for(ecosystem, names)? {
            Some(found) => {
                records.insert(ecosystem.clone(), found);
            }
            None => {
                let count = report.packages.iter().filter(|package| &package.ecosystem == ecosystem).count();
                report.warnings.push(format!(
                    "the database has no {ecosystem} records (it has {}): {count} {ecosystem} package(s) were not checked; import OSV's {ecosystem}/all.zip",
                    if meta.ecosystems.is_empty() { "none".to_owned() } else { meta.ecosystems.keys().cloned().collect::<Vec<_>>().join(", ") }
                ));
                for package in report.packages.iter().filter(|package| &package.ecosystem == ecosystem) {
                    report.skipped.push(Skipped {
                        package: package.purl.clone(),
                        reason: format!("no {ecosystem} records in the database"),
                    });
                }
            }
        }
    }

    let mut notes = matching::Notes::default();
    let mut findings = Vec::new();
    for package in &report.packages {
        let key = matching::normalize_name(&package.ecosystem, &package.name);
        let Some(candidates) = records.get(&package.ecosystem).and_then(|found| found.get(&key)) else { continue };
        if let Some(scheme) = version::Scheme::of(&package.ecosystem)
            && let Err(message) = scheme.parse(&package.version)
        {
            report.skipped.push(Skipped {
                package: package.purl.clone(),
                reason: format!("{message}; its advisories' ranges were not evaluated"),
            });
        }
        for record in candidates {
            let Some((affected, hit)) =
                matching::evaluate(record, &package.ecosystem, &package.name, &package.version, &mut notes)
            else {
                continue;
            };
            findings.push(finding(record, affected, package, hit.fixed));
        }
    }
    if notes.git_ranges > 0 {
        report.warnings.push(format!(
            "{} GIT range(s) of the packages' records were not evaluated (they need the repository's commits); their listed versions were",
            notes.git_ranges
        ));
    }
    notes.unreadable.sort();
    notes.unreadable.dedup();
    report.warnings.extend(notes.unreadable);

    for mut finding in findings {
        match ignores.find(&finding.id, &finding.aliases) {
            Some(ignore) if ignore.expired(request.now) => {
                report.expired.push(ExpiredIgnore { finding: finding.id.clone(), ignore: ignore.clone() });
                report.findings.push(finding);
            }
            Some(ignore) => {
                finding.ignore = Some(ignore.clone());
                report.ignored.push(finding);
            }
            None => report.findings.push(finding),
        }
    }
    let order = |a: &Finding, b: &Finding| {
        b.severity
            .rating
            .cmp(&a.severity.rating)
            .then_with(|| b.severity.score.unwrap_or(0.0).total_cmp(&a.severity.score.unwrap_or(0.0)))
            .then_with(|| a.package.purl.cmp(&b.package.purl))
            .then_with(|| a.id.cmp(&b.id))
    };
    report.findings.sort_by(order);
    report.ignored.sort_by(order);
    Ok(report)
}

fn finding(record: &osv::Record, affected: &osv::Affected, package: &Package, fixed_versions: Vec<String>) -> Finding {
    let summary = record
        .summary
        .clone()
        .filter(|summary| !summary.trim().is_empty())
        .or_else(|| {
            record
                .details
                .as_deref()
                .and_then(|details| details.lines().find(|line| !line.trim().is_empty()))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut references: Vec<(bool, String)> =
        record.references.iter().map(|reference| (reference.kind != "ADVISORY", reference.url.clone())).collect();
    references.sort_by_key(|(later, _)| *later);
    Finding {
        id: record.id.clone(),
        aliases: record.aliases.clone(),
        summary: summary.trim().to_owned(),
        package: package.clone(),
        severity: severity::of(record, affected),
        ratings: severity::scores(record, affected),
        fixed: fixed_versions.first().cloned(),
        fixed_versions,
        references: references.into_iter().map(|(_, url)| url).collect(),
        published: record.published.clone(),
        modified: record.modified.clone(),
        ignore: None,
    }
}

/// OSV's ecosystem of an inventory's ecosystem.
#[must_use]
pub fn osv_ecosystem(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Cargo => "crates.io",
        Ecosystem::Npm => "npm",
        Ecosystem::Pypi => "PyPI",
        Ecosystem::Go => "Go",
        Ecosystem::Nuget => "NuGet",
        Ecosystem::Gem => "RubyGems",
        Ecosystem::Composer => "Packagist",
        Ecosystem::Maven => "Maven",
    }
}

fn from_lockfiles(path: &Path) -> Result<Report, VulnError> {
    let inventory = sbom::inventory(path)?;
    // Which lockfile each package came from.
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &inventory.lockfiles {
        let lockfile = sbom::read_lockfile(Path::new(file))?;
        for component in lockfile.components {
            sources.entry(component.purl).or_default().push(file.clone());
        }
    }
    let mut report = Report { sources: inventory.lockfiles.clone(), ..Report::default() };
    for skipped in &inventory.skipped {
        report
            .skipped
            .push(Skipped { package: format!("{}:{}", skipped.file, skipped.line), reason: skipped.reason.clone() });
    }
    for component in &inventory.components {
        let name = match purl::parse(&component.purl).ok().and_then(|purl| purl.osv_package()) {
            Some((_, name)) => name,
            None => match &component.group {
                Some(group) => format!("{group}/{}", component.name),
                None => component.name.clone(),
            },
        };
        if !matches!(component.origin, Origin::Registry(_)) {
            report.skipped.push(Skipped {
                package: component.purl.clone(),
                reason: format!(
                    "from a {} source, not a registry: OSV's records are of registry releases",
                    component.origin.kind()
                ),
            });
            continue;
        }
        report.packages.push(Package {
            ecosystem: osv_ecosystem(component.ecosystem).to_owned(),
            name,
            version: component.version.clone(),
            purl: component.purl.clone(),
            sources: sources.get(&component.purl).cloned().unwrap_or_else(|| inventory.lockfiles.clone()),
        });
    }
    report.inventory = inventory;
    Ok(report)
}

fn sbom_ecosystem(kind: &str) -> Option<Ecosystem> {
    Some(match kind {
        "cargo" => Ecosystem::Cargo,
        "npm" => Ecosystem::Npm,
        "pypi" => Ecosystem::Pypi,
        "golang" => Ecosystem::Go,
        "nuget" => Ecosystem::Nuget,
        "gem" => Ecosystem::Gem,
        "composer" => Ecosystem::Composer,
        "maven" => Ecosystem::Maven,
        _ => return None,
    })
}

fn from_sbom(file: &Path) -> Result<Report, VulnError> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| VulnError::Read { path: shown.clone(), source })?;
    let invalid =
        |line: usize, column: usize, message: String| VulnError::Sbom { file: shown.clone(), line, column, message };
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        let message = error.to_string();
        let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]).to_owned();
        invalid(error.line(), error.column(), format!("not JSON: {message}"))
    })?;
    // (purl, name as written) of every component.
    let mut found: Vec<(Option<String>, String)> = Vec::new();
    if document.get("bomFormat").and_then(serde_json::Value::as_str) == Some("CycloneDX") {
        fn walk(components: &serde_json::Value, found: &mut Vec<(Option<String>, String)>) {
            for component in components.as_array().into_iter().flatten() {
                let purl = component.get("purl").and_then(serde_json::Value::as_str).map(str::to_owned);
                let name = component.get("name").and_then(serde_json::Value::as_str).unwrap_or("(unnamed)").to_owned();
                found.push((purl, name));
                if let Some(nested) = component.get("components") {
                    walk(nested, found);
                }
            }
        }
        if let Some(components) = document.get("components")
            && !components.is_array()
        {
            return Err(invalid(1, 1, "components is not an array".to_owned()));
        }
        walk(document.get("components").unwrap_or(&serde_json::Value::Null), &mut found);
    } else if document.get("spdxVersion").is_some() {
        for package in document.get("packages").and_then(serde_json::Value::as_array).into_iter().flatten() {
            let purl = package
                .get("externalRefs")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .find(|reference| reference.get("referenceType").and_then(serde_json::Value::as_str) == Some("purl"))
                .and_then(|reference| reference.get("referenceLocator").and_then(serde_json::Value::as_str))
                .map(str::to_owned);
            let name = package.get("name").and_then(serde_json::Value::as_str).unwrap_or("(unnamed)").to_owned();
            found.push((purl, name));
        }
    } else {
        return Err(invalid(1, 1, "not an SBOM: it has neither bomFormat \"CycloneDX\" nor spdxVersion".to_owned()));
    }

    let project = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().trim_end_matches(".cdx").trim_end_matches(".spdx").to_owned())
        .unwrap_or_else(|| "project".to_owned());
    let mut report = Report { sources: vec![shown.clone()], ..Report::default() };
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    for (purl_text, name) in found {
        let Some(purl_text) = purl_text else {
            report.skipped.push(Skipped { package: name, reason: "it has no purl".to_owned() });
            continue;
        };
        let parsed = match purl::parse(&purl_text) {
            Ok(parsed) => parsed,
            Err(message) => {
                report.skipped.push(Skipped { package: name, reason: message });
                continue;
            }
        };
        let (Some((ecosystem, osv_name)), Some(kind)) = (parsed.osv_package(), sbom_ecosystem(&parsed.kind)) else {
            report.skipped.push(Skipped {
                package: purl_text.clone(),
                reason: format!("purl type '{}' is not one Slipway matches against OSV", parsed.kind),
            });
            continue;
        };
        let Some(version) = parsed.version.clone() else {
            report.skipped.push(Skipped { package: purl_text.clone(), reason: "its purl has no version".to_owned() });
            continue;
        };
        if components.contains_key(&purl_text) {
            continue;
        }
        report.packages.push(Package {
            ecosystem: ecosystem.to_owned(),
            name: osv_name,
            version: version.clone(),
            purl: purl_text.clone(),
            sources: vec![shown.clone()],
        });
        components.insert(
            purl_text.clone(),
            Component {
                ecosystem: kind,
                group: parsed.namespace.clone(),
                name: parsed.name.clone(),
                version,
                purl: purl_text,
                origin: Origin::Registry(String::new()),
                hashes: Vec::new(),
                depends_on: Vec::new(),
                development: false,
            },
        );
    }
    let components: Vec<Component> = components.into_values().collect();
    let mut direct: Vec<String> = components.iter().map(|component| component.purl.clone()).collect();
    direct.sort();
    report.inventory = Inventory { project, lockfiles: vec![shown], components, direct, skipped: Vec::new() };
    Ok(report)
}
