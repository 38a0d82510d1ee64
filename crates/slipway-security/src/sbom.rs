//! Software bills of materials from lockfiles, read in Rust with no tool shelled out.
//!
//! [`inventory`] reads a lockfile, or the lockfiles it knows in a directory (not its
//! subdirectories), each with its own reader: `Cargo.lock` ([`cargo`]); `package-lock.json` and
//! `npm-shrinkwrap.json` (lockfile versions 1 to 3, [`npm`]), `yarn.lock` (Yarn 1 and Yarn 2+,
//! [`yarn`]) and `pnpm-lock.yaml` (versions 5 to 9, [`pnpm`]); pinned `requirements*.txt`
//! ([`pypi`]), `poetry.lock` ([`poetry`]), `uv.lock` ([`uv`]) and `Pipfile.lock` ([`pipfile`]);
//! `composer.lock` ([`composer`]); NuGet's `packages.lock.json` ([`nuget`]); `Gemfile.lock`
//! ([`gem`]); `go.mod` with the `go.sum` beside it ([`golang`]). Each package becomes a
//! [`Component`] with its package URL (purl) and the components it depends on; a malformed
//! lockfile is an error at its `file:line:col`, never a panic. [`cyclonedx`] writes the inventory
//! as CycloneDX 1.6 JSON, [`spdx`] as SPDX 2.3 JSON.

pub mod cargo;
pub mod composer;
pub mod cyclonedx;
pub mod gem;
pub mod golang;
pub mod npm;
pub mod nuget;
pub mod pipfile;
pub mod pnpm;
pub mod poetry;
pub mod pypi;
pub mod spdx;
pub mod uv;
pub mod yarn;

use std::path::{Path, PathBuf};

/// The lockfiles read in a directory, in this order, each with the reader it goes to.
const KNOWN: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "yarn.lock",
    "pnpm-lock.yaml",
    "composer.lock",
    "packages.lock.json",
    "Gemfile.lock",
    "go.mod",
];

/// Why an inventory could not be made (bad input: the command's exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// A file cannot be read.
    #[error("{path}: cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A lockfile says something wrong, at a place in it.
    #[error("{file}:{line}:{column}: {message}{}", hint.as_ref().map(|hint| format!("\n  help: {hint}")).unwrap_or_default())]
    Invalid {
        /// The file (as it was named).
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column (in characters), from 1.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
        /// How to fix it, when there is something to say.
        hint: Option<String>,
    },
    /// A file that is not a lockfile Slipway reads, or a directory without one.
    #[error(
        "{path}: {message}\n  help: Slipway reads Cargo.lock, package-lock.json and npm-shrinkwrap.json (versions 1 to 3), pinned requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, yarn.lock (Yarn 1 and 2+), pnpm-lock.yaml (versions 5 to 9), composer.lock, packages.lock.json (NuGet), Gemfile.lock, and go.mod with go.sum"
    )]
    NoLockfile {
        /// The path.
        path: String,
        /// What was found there.
        message: String,
    },
}

/// The ecosystem a component comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Rust's crates (`pkg:cargo`).
    Cargo,
    /// npm's packages (`pkg:npm`).
    Npm,
    /// Python's packages (`pkg:pypi`).
    Pypi,
    /// Go's modules (`pkg:golang`).
    Go,
    /// .NET's NuGet packages (`pkg:nuget`).
    Nuget,
    /// Ruby's gems (`pkg:gem`).
    Gem,
    /// PHP's Composer packages from Packagist (`pkg:composer`).
    Composer,
    /// Java's Maven artifacts (`pkg:maven`).
    Maven,
}

/// Where a component's code comes from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "location", rename_all = "lowercase")]
pub enum Origin {
    /// A package registry (its index or address).
    Registry(String),
    /// A git repository (its address, with the revision).
    Git(String),
    /// A directory beside the lockfile (a workspace member, a path dependency, a linked package).
    Path(String),
}

impl Origin {
    /// `registry`, `git` or `path`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Registry(_) => "registry",
            Self::Git(_) => "git",
            Self::Path(_) => "path",
        }
    }
}

/// A hash of a component's package, as its lockfile records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hash {
    /// CycloneDX's name of the algorithm (`SHA-256`, `SHA-512`, `SHA-1`).
    pub algorithm: &'static str,
    /// The digest in lower-case hex.
    pub hex: String,
}

/// One package of a lockfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Its namespace where the ecosystem has them (an npm scope, `@types`).
    pub group: Option<String>,
    /// Its name (without the group).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its package URL.
    pub purl: String,
    /// Where its code comes from.
    pub origin: Origin,
    /// Its package's hashes.
    pub hashes: Vec<Hash>,
    /// The `bom_ref`s of the components it depends on, sorted.
    pub depends_on: Vec<String>,
    /// Whether only development needs it (npm's `dev`).
    pub development: bool,
}

impl Component {
    /// Its reference in the BOM: its purl, unique in an inventory.
    #[must_use]
    pub fn bom_ref(&self) -> &str {
        &self.purl
    }
}

/// A line of a lockfile that was not made a component, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SkippedLine {
    /// The file.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What one lockfile holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lockfile {
    /// Its components, in purl order.
    pub components: Vec<Component>,
    /// The `bom_ref`s the project itself depends on (its workspace members, its direct
    /// dependencies), sorted.
    pub direct: Vec<String>,
    /// Lines not made components.
    pub skipped: Vec<SkippedLine>,
    /// Whether `direct` was inferred, because the lockfile does not record the project's own
    /// dependencies (the components nothing depends on were taken).
    pub inferred_direct: bool,
}

/// Everything read from one path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The project's name (the directory's, or the lockfile's directory's).
    pub project: String,
    /// The lockfiles read, as named.
    pub lockfiles: Vec<String>,
    /// The components of all of them, each once, in purl order.
    pub components: Vec<Component>,
    /// The `bom_ref`s the project depends on directly.
    pub direct: Vec<String>,
    /// Lines not made components.
    pub skipped: Vec<SkippedLine>,
}

/// What a BOM says about itself (CycloneDX's serial number, SPDX's document namespace).
#[derive(Clone, Debug)]
pub struct BomInfo {
    /// Its serial number, `urn:uuid:...`.
    pub serial_number: String,
    /// When it was made, RFC 3339 in UTC.
    pub timestamp: String,
}

impl BomInfo {
    /// A random serial number and the time now.
    #[must_use]
    pub fn now() -> Self {
        Self {
            serial_number: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            timestamp: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }
}

/// Reads the lockfile at `path`, or the lockfiles Slipway knows in the directory `path`.
///
/// # Errors
/// [`SbomError`] when a file cannot be read, a lockfile is malformed (with its `file:line:col`),
/// or there is no lockfile Slipway reads there.
pub fn inventory(path: &Path) -> Result<Inventory, SbomError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| SbomError::Read { path: path.display().to_string(), source })?;
    let files: Vec<PathBuf> = if metadata.is_dir() {
        let mut files: Vec<PathBuf> =
            KNOWN.iter().map(|name| path.join(name)).filter(|candidate| candidate.is_file()).collect();
        let mut requirements: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| SbomError::Read { path: path.display().to_string(), source })?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|file| file.file_name().and_then(|name| name.to_str()).is_some_and(pypi::is_requirements_name))
            .filter(|file| file.is_file())
            .collect();
        requirements.sort();
        files.extend(requirements);
        if files.is_empty() {
            return Err(SbomError::NoLockfile {
                path: path.display().to_string(),
                message: "no lockfile Slipway reads in this directory".to_owned(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let project_dir = if metadata.is_dir() { Some(path) } else { path.parent() };
    let project = project_dir
        .and_then(|dir| dir.canonicalize().ok())
        .and_then(|dir| dir.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".to_owned());
    let mut inventory = Inventory { project, ..Inventory::default() };
    let mut components: std::collections::BTreeMap<String, Component> = std::collections::BTreeMap::new();
    for file in files {
        let lockfile = read_lockfile(&file)?;
        inventory.lockfiles.push(file.display().to_string());
        inventory.direct.extend(lockfile.direct);
        inventory.skipped.extend(lockfile.skipped);
        for component in lockfile.components {
            match components.entry(component.purl.clone()) {
                std::collections::btree_map::Entry::Occupied(mut existing) => {
                    let existing = existing.get_mut();
                    existing.depends_on.extend(component.depends_on);
                    existing.depends_on.sort();
                    existing.depends_on.dedup();
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(component);
                }
            }
        }
    }
    inventory.components = components.into_values().collect();
    inventory.direct.sort();
    inventory.direct.dedup();
    Ok(inventory)
}

/// Reads one lockfile, chosen by its name.
///
/// # Errors
/// As [`inventory`].
pub fn read_lockfile(file: &Path) -> Result<Lockfile, SbomError> {
    let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    let shown = file.display().to_string();
    if name == "go.mod" || name == "go.sum" {
        // go.mod, with the go.sum beside it for hashes.
        let module = file.with_file_name("go.mod");
        let shown = module.display().to_string();
        let text =
            std::fs::read_to_string(&module).map_err(|source| SbomError::Read { path: shown.clone(), source })?;
        let sum = file.with_file_name("go.sum");
        let sum_shown = sum.display().to_string();
        let sum_text = if sum.is_file() {
            Some(std::fs::read_to_string(&sum).map_err(|source| SbomError::Read { path: sum_shown.clone(), source })?)
        } else {
            None
        };
        return golang::read(&shown, &text, sum_text.as_deref().map(|sum_text| (sum_shown.as_str(), sum_text)));
    }
    let reader: fn(&str, &str) -> Result<Lockfile, SbomError> = match name {
        "Cargo.lock" => cargo::read,
        "package-lock.json" | "npm-shrinkwrap.json" => npm::read,
        "poetry.lock" => poetry::read,
        "uv.lock" => uv::read,
        "Pipfile.lock" => pipfile::read,
        "yarn.lock" => yarn::read,
        "pnpm-lock.yaml" => pnpm::read,
        "composer.lock" => composer::read,
        "packages.lock.json" => nuget::read,
        "Gemfile.lock" => gem::read,
        _ if pypi::is_requirements_name(name) => pypi::read,
        _ => {
            return Err(SbomError::NoLockfile {
                path: shown,
                message: "not a lockfile Slipway reads (by its name)".to_owned(),
            });
        }
    };
    let text = std::fs::read_to_string(file).map_err(|source| SbomError::Read { path: shown.clone(), source })?;
    let mut lockfile = reader(&shown, &text)?;
    let manifest = match name {
        "package-lock.json" | "npm-shrinkwrap.json" | "yarn.lock" => Some(Manifest::PackageJson),
        "composer.lock" => Some(Manifest::ComposerJson),
        "poetry.lock" => Some(Manifest::Pyproject),
        "Pipfile.lock" => Some(Manifest::Pipfile),
        _ => None,
    };
    if let Some(manifest) = manifest.filter(|_| lockfile.inferred_direct) {
        let path = file.with_file_name(manifest.file_name());
        if path.is_file() {
            let shown = path.display().to_string();
            let text =
                std::fs::read_to_string(&path).map_err(|source| SbomError::Read { path: shown.clone(), source })?;
            let names = manifest.names(&shown, &text)?;
            apply_manifest(&mut lockfile, &names, matches!(manifest, Manifest::PackageJson));
        }
    }
    Ok(lockfile)
}

/// The manifest beside a lockfile that does not record the project's own dependencies.
#[derive(Clone, Copy)]
enum Manifest {
    /// `package.json`, beside a `package-lock.json` version 1 or a Yarn 1 `yarn.lock`.
    PackageJson,
    /// `composer.json`, beside a `composer.lock`.
    ComposerJson,
    /// `pyproject.toml`, beside a `poetry.lock`.
    Pyproject,
    /// `Pipfile`, beside a `Pipfile.lock`.
    Pipfile,
}

impl Manifest {
    fn file_name(self) -> &'static str {
        match self {
            Self::PackageJson => "package.json",
            Self::ComposerJson => "composer.json",
            Self::Pyproject => "pyproject.toml",
            Self::Pipfile => "Pipfile",
        }
    }

    /// The package names it lists (as the lockfile's components name them), each with whether
    /// it is for development only.
    fn names(self, file: &str, text: &str) -> Result<Vec<(String, bool)>, SbomError> {
        let hint = "fix it, or remove it to infer the direct dependencies";
        let mut names = Vec::new();
        if matches!(self, Self::PackageJson | Self::ComposerJson) {
            let manifest: serde_json::Value =
                serde_json::from_str(text).map_err(|error| json_invalid(file, &error, self.file_name(), hint))?;
            let sections: &[(&str, bool)] = if matches!(self, Self::PackageJson) {
                &[
                    ("dependencies", false),
                    ("optionalDependencies", false),
                    ("peerDependencies", false),
                    ("devDependencies", true),
                ]
            } else {
                &[("require", false), ("require-dev", true)]
            };
            for &(section, development) in sections {
                let Some(listed) = manifest.get(section).and_then(serde_json::Value::as_object) else { continue };
                for name in listed.keys() {
                    let name = if matches!(self, Self::ComposerJson) { name.to_lowercase() } else { name.clone() };
                    names.push((name, development));
                }
            }
            return Ok(names);
        }
        let manifest: toml::Value =
            toml::from_str(text).map_err(|error| toml_invalid(file, text, &error, self.file_name(), hint))?;
        let mut add = |listed: Vec<String>, development: bool| {
            names.extend(
                listed.into_iter().filter(|name| name != "python").map(|name| (pypi::normalise(&name), development)),
            );
        };
        if matches!(self, Self::Pipfile) {
            add(toml_keys(manifest.get("packages")), false);
            add(toml_keys(manifest.get("dev-packages")), true);
            return Ok(names);
        }
        let project = manifest.get("project");
        add(requirement_names(project.and_then(|project| project.get("dependencies"))), false);
        let optional = project.and_then(|project| project.get("optional-dependencies")).and_then(toml::Value::as_table);
        for extra in optional.into_iter().flat_map(|table| table.values()) {
            add(requirement_names(Some(extra)), false);
        }
        let groups = manifest.get("dependency-groups").and_then(toml::Value::as_table);
        for group in groups.into_iter().flat_map(|table| table.values()) {
            add(requirement_names(Some(group)), true);
        }
        let poetry = manifest.get("tool").and_then(|tool| tool.get("poetry"));
        add(toml_keys(poetry.and_then(|poetry| poetry.get("dependencies"))), false);
        add(toml_keys(poetry.and_then(|poetry| poetry.get("dev-dependencies"))), true);
        let poetry_groups = poetry.and_then(|poetry| poetry.get("group")).and_then(toml::Value::as_table);
        for (group, table) in poetry_groups.into_iter().flatten() {
            add(toml_keys(table.get("dependencies")), group != "main");
        }
        Ok(names)
    }
}

/// The keys of a TOML table (none when it is not one).
fn toml_keys(value: Option<&toml::Value>) -> Vec<String> {
    value.and_then(toml::Value::as_table).map(|table| table.keys().cloned().collect()).unwrap_or_default()
}

/// The names of a TOML array of PEP 508 requirements (what comes before each one's extras,
/// version or marker).
fn requirement_names(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|requirement| {
            let text = requirement.as_str()?.trim();
            let end = text
                .find(|character: char| !(character.is_ascii_alphanumeric() || matches!(character, '.' | '-' | '_')))
                .unwrap_or(text.len());
            (end > 0).then(|| text[..end].to_owned())
        })
        .collect()
}

/// The project's direct dependencies from the names its manifest lists (each name's component
/// the one the lockfile took as direct where several versions of it are locked, else every
/// version). With `mark_development`, when the lockfile marks nothing development-only, what
/// only the development names reach is.
fn apply_manifest(lockfile: &mut Lockfile, names: &[(String, bool)], mark_development: bool) {
    let full_name = |component: &Component| match &component.group {
        Some(group) => format!("{group}/{}", component.name),
        None => component.name.clone(),
    };
    let mut runtime = Vec::new();
    let mut direct = Vec::new();
    for (name, development) in names {
        let candidates: Vec<&Component> =
            lockfile.components.iter().filter(|component| full_name(component) == *name).collect();
        let inferred: Vec<&Component> =
            candidates.iter().copied().filter(|component| lockfile.direct.contains(&component.purl)).collect();
        let chosen = if inferred.is_empty() { candidates } else { inferred };
        for component in chosen {
            direct.push(component.purl.clone());
            if !development {
                runtime.push(component.purl.clone());
            }
        }
    }
    if direct.is_empty() {
        return;
    }
    if mark_development && lockfile.components.iter().all(|component| !component.development) {
        let edges: std::collections::BTreeMap<&str, &[String]> = lockfile
            .components
            .iter()
            .map(|component| (component.purl.as_str(), component.depends_on.as_slice()))
            .collect();
        let mut reached = std::collections::BTreeSet::new();
        let mut stack = runtime;
        while let Some(purl) = stack.pop() {
            if let Some(next) = edges.get(purl.as_str()).filter(|_| !reached.contains(&purl)) {
                stack.extend(next.iter().cloned());
            }
            reached.insert(purl);
        }
        for component in &mut lockfile.components {
            component.development = !reached.contains(&component.purl);
        }
    }
    direct.sort();
    direct.dedup();
    lockfile.direct = direct;
    lockfile.inferred_direct = false;
}

/// An [`SbomError::Invalid`] at byte `offset` of `text`.
pub(crate) fn invalid_at(file: &str, text: &str, offset: usize, message: String, hint: Option<String>) -> SbomError {
    let (line, column) = crate::config::line_column(text, offset);
    SbomError::Invalid { file: file.to_owned(), line, column, message, hint }
}

/// An [`SbomError::Invalid`] for `serde_json`'s error in `file` (a `what` it is not).
pub(crate) fn json_invalid(file: &str, error: &serde_json::Error, what: &str, hint: &str) -> SbomError {
    // serde_json's message ends with its own "at line L column C", said once here instead.
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]);
    SbomError::Invalid {
        file: file.to_owned(),
        line: error.line().max(1),
        column: error.column().max(1),
        message: format!("not a valid {what}: {message}"),
        hint: Some(hint.to_owned()),
    }
}

/// An [`SbomError::Invalid`] for the `toml` crate's error in `file`'s `text`.
pub(crate) fn toml_invalid(file: &str, text: &str, error: &toml::de::Error, what: &str, hint: &str) -> SbomError {
    let offset = error.span().map_or(0, |span| span.start);
    let message = error.message().trim().replace('\n', "; ");
    invalid_at(file, text, offset, format!("not a valid {what}: {message}"), Some(hint.to_owned()))
}

/// An [`SbomError::Invalid`] for `yaml_serde`'s error in `file`.
pub(crate) fn yaml_invalid(file: &str, error: &yaml_serde::Error, what: &str, hint: &str) -> SbomError {
    let message = error.to_string();
    let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]);
    let (line, column) = error.location().map_or((1, 1), |location| (location.line(), location.column()));
    SbomError::Invalid {
        file: file.to_owned(),
        line: line.max(1),
        column: column.max(1),
        message: format!("not a valid {what}: {message}"),
        hint: Some(hint.to_owned()),
    }
}

/// The line (from 1) of byte `offset` of `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    crate::config::line_column(text, offset).0
}

/// Bytes in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A hash written `ALGORITHM:HEX` (`sha256:...`, as Python's lockfiles write them), if its
/// algorithm is one a BOM names and its digest is hex of the right length.
pub(crate) fn prefixed_hash(text: &str) -> Option<Hash> {
    let (algorithm, digest) = text.split_once(':')?;
    let (algorithm, length) = match algorithm.to_ascii_lowercase().as_str() {
        "sha256" => ("SHA-256", 64),
        "sha384" => ("SHA-384", 96),
        "sha512" => ("SHA-512", 128),
        "sha1" => ("SHA-1", 40),
        _ => return None,
    };
    (digest.len() == length && digest.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| Hash { algorithm, hex: digest.to_ascii_lowercase() })
}

/// For a lockfile that does not record what the project itself depends on: its components that
/// no other component depends on (the roots of its graph), sorted.
pub(crate) fn roots(components: &[Component]) -> Vec<String> {
    let depended: std::collections::BTreeSet<&str> =
        components.iter().flat_map(|component| component.depends_on.iter().map(String::as_str)).collect();
    let mut roots: Vec<String> = components
        .iter()
        .map(|component| component.purl.clone())
        .filter(|purl| !depended.contains(purl.as_str()))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

/// Merges `component` into `components` by purl: the first one's fields stay, dependencies are
/// joined, and it is development-only when every copy is.
pub(crate) fn merge(components: &mut std::collections::BTreeMap<String, Component>, component: Component) {
    match components.entry(component.purl.clone()) {
        std::collections::btree_map::Entry::Occupied(mut existing) => {
            let existing = existing.get_mut();
            existing.development &= component.development;
            existing.depends_on.extend(component.depends_on);
            existing.depends_on.sort();
            existing.depends_on.dedup();
            for hash in component.hashes {
                if !existing.hashes.contains(&hash) {
                    existing.hashes.push(hash);
                }
            }
        }
        std::collections::btree_map::Entry::Vacant(slot) => {
            let mut component = component;
            component.depends_on.sort();
            component.depends_on.dedup();
            slot.insert(component);
        }
    }
}

/// A Python package as a component `pkg:pypi/NAME@VERSION`, its name in PEP 503's normal form
/// (the purl specification's rule for pypi: lower case, `_` as `-`).
pub(crate) fn pypi_component(name: &str, version: &str, origin: Origin, hashes: Vec<Hash>) -> Component {
    let name = pypi::normalise(name);
    Component {
        ecosystem: Ecosystem::Pypi,
        group: None,
        purl: format!("pkg:pypi/{}@{}", purl_encode(&name), purl_encode(version)),
        name,
        version: version.to_owned(),
        origin,
        hashes,
        depends_on: Vec::new(),
        development: false,
    }
}

/// PyPI's index, the origin of a Python package that names no other.
pub(crate) const PYPI: &str = "https://pypi.org/simple";

/// Percent-encodes a purl segment (purl's rule: everything but `A-Za-z0-9.-_~`).
pub(crate) fn purl_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_has_a_urn_uuid_and_a_utc_timestamp() {
        let info = BomInfo::now();
        assert!(info.serial_number.starts_with("urn:uuid:") && info.serial_number.len() == 45, "{info:?}");
        assert!(info.timestamp.ends_with('Z') && info.timestamp.len() == 20, "{info:?}");
    }

    #[test]
    fn purl_segments_are_percent_encoded() {
        assert_eq!(purl_encode("@types"), "%40types");
        assert_eq!(purl_encode("1.0.0+build"), "1.0.0%2Bbuild");
        assert_eq!(purl_encode("serde_json"), "serde_json");
    }

    #[test]
    fn a_manifest_marks_what_only_development_reaches_even_through_a_cycle() {
        let component = |name: &str, depends_on: &[&str]| {
            let mut component = npm::component(name, "1.0.0", Origin::Registry(String::new()), Vec::new());
            component.depends_on = depends_on.iter().map(|name| format!("pkg:npm/{name}@1.0.0")).collect();
            component
        };
        let mut lockfile = Lockfile {
            components: vec![
                component("a", &["b"]),
                component("b", &["a"]),
                component("c", &["b"]),
                component("d", &[]),
            ],
            direct: vec!["pkg:npm/c@1.0.0".to_owned(), "pkg:npm/d@1.0.0".to_owned()],
            skipped: Vec::new(),
            inferred_direct: true,
        };
        apply_manifest(&mut lockfile, &[("a".to_owned(), false), ("d".to_owned(), true)], true);
        assert_eq!(lockfile.direct, ["pkg:npm/a@1.0.0", "pkg:npm/d@1.0.0"]);
        let development: Vec<&str> =
            lockfile.components.iter().filter(|c| c.development).map(|c| c.name.as_str()).collect();
        assert_eq!(development, ["c", "d"]);
        assert!(!lockfile.inferred_direct);
    }

    #[test]
    fn a_directory_without_lockfiles_says_what_is_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let error = inventory(dir.path()).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.contains("no lockfile Slipway reads"), "{error}");
        assert!(error.contains("help: Slipway reads Cargo.lock"), "{error}");
    }
}
