//! The offline OSV database: a directory of records imported from OSV's exports.
//!
//! Layout (format 1), every file written to a temporary name and renamed into place:
//!
//! ```text
//! DIR/slipway-osv.json              {"format": 1, "ecosystems": {"PyPI": {"records": N, "imported": TIME, "sources": [...]}}}
//! DIR/<ecosystem>/index.json        {"format": 1, "ecosystem": "PyPI", "records": {"ID": {"modified": TIME, "withdrawn": bool, "packages": ["name", ...]}}}
//! DIR/<ecosystem>/records/<ID>.json the record as imported
//! ```
//!
//! A record is kept under each ecosystem its `affected` packages are in (by the name before any
//! `:`); the index names the packages (normalized as the ecosystem compares them) so a scan reads
//! only the records of the packages it has. An import keeps, for each id, the record with the
//! newer `modified`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::VulnError;
use super::matching::normalize_name;
use super::osv::Record;
use super::version::base_ecosystem;

const FORMAT: u32 = 1;
const META: &str = "slipway-osv.json";
/// Larger zip entries are refused (OSV's records are kilobytes).
const MAX_ENTRY_BYTES: u64 = 16 << 20;

/// The database's directory: `explicit`, else `$SLIPWAY_OSV_DB`, else
/// `$XDG_DATA_HOME/slipway/osv`, else `~/.local/share/slipway/osv`.
#[must_use]
pub fn default_directory(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    from_env("SLIPWAY_OSV_DB")
        .or_else(|| from_env("XDG_DATA_HOME").map(|data| data.join("slipway/osv")))
        .or_else(|| from_env("HOME").map(|home| home.join(".local/share/slipway/osv")))
}

/// What the database says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The layout's version.
    pub format: u32,
    /// Each ecosystem's records.
    pub ecosystems: BTreeMap<String, EcosystemMeta>,
}

/// One ecosystem of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemMeta {
    /// Records kept (withdrawn ones too).
    pub records: usize,
    /// Of those, withdrawn.
    #[serde(default)]
    pub withdrawn: usize,
    /// When it was last imported into, RFC 3339.
    pub imported: String,
    /// The files last imported.
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Index {
    format: u32,
    ecosystem: String,
    records: BTreeMap<String, IndexEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct IndexEntry {
    modified: String,
    #[serde(default)]
    withdrawn: bool,
    packages: Vec<String>,
}

/// What an import did in one ecosystem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// New records.
    pub added: usize,
    /// Records replaced by a newer `modified`.
    pub updated: usize,
    /// Records already there, as new or newer.
    pub unchanged: usize,
    /// Of the records read, how many are withdrawn.
    pub withdrawn: usize,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records read from the files.
    pub read: usize,
    /// Records with no package in an ecosystem (only `GIT` ranges), not kept.
    pub without_package: usize,
    /// Counts per ecosystem.
    pub ecosystems: BTreeMap<String, ImportCounts>,
}

/// The database at a directory.
#[derive(Clone, Debug)]
pub struct Database {
    directory: PathBuf,
}

impl Database {
    /// The database at `directory` (not read yet; it need not exist before an import).
    #[must_use]
    pub fn at(directory: impl Into<PathBuf>) -> Self {
        Self { directory: directory.into() }
    }

    /// Its directory.
    #[must_use]
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// What it says about itself.
    ///
    /// # Errors
    /// [`VulnError::NoDatabase`] when nothing was imported there; [`VulnError::Database`] when its
    /// files are not the database's.
    pub fn meta(&self) -> Result<Meta, VulnError> {
        let path = self.directory.join(META);
        if !path.is_file() {
            return Err(VulnError::NoDatabase { path: self.directory.display().to_string() });
        }
        let meta: Meta = read_json(&path)?;
        if meta.format != FORMAT {
            return Err(VulnError::Database {
                path: path.display().to_string(),
                message: format!(
                    "format {} is not the format {FORMAT} this Slipway reads; import again into an empty directory",
                    meta.format
                ),
            });
        }
        Ok(meta)
    }

    /// Imports OSV exports: zips of `ID.json` entries (OSV's `<ecosystem>/all.zip`) or single
    /// record files (`.json`). Every file is read and checked before anything is written.
    ///
    /// # Errors
    /// [`VulnError`] for a file that cannot be read or is not an OSV export, a malformed record
    /// (named with its entry and line:col), or a database that cannot be written.
    pub fn import(&self, files: &[PathBuf], now: jiff::Timestamp) -> Result<ImportSummary, VulnError> {
        let mut records: Vec<(Record, String)> = Vec::new();
        for file in files {
            let shown = file.display().to_string();
            let bytes = std::fs::read(file).map_err(|source| VulnError::Read { path: shown.clone(), source })?;
            if bytes.starts_with(b"PK") {
                for (entry, text) in zip_records(&shown, &bytes)? {
                    let record = Record::parse(&text).map_err(|error| VulnError::Record {
                        file: format!("{shown}: entry {entry}"),
                        line: error.line,
                        column: error.column,
                        message: error.message,
                    })?;
                    records.push((record, text));
                }
            } else {
                let text = String::from_utf8(bytes).map_err(|_| VulnError::NotAnExport {
                    file: shown.clone(),
                    message: "is neither a zip archive nor UTF-8 JSON".to_owned(),
                })?;
                if !text.trim_start().starts_with('{') {
                    return Err(VulnError::NotAnExport {
                        file: shown,
                        message: "is neither a zip archive nor a JSON record".to_owned(),
                    });
                }
                let record = Record::parse(&text).map_err(|error| VulnError::Record {
                    file: shown.clone(),
                    line: error.line,
                    column: error.column,
                    message: error.message,
                })?;
                records.push((record, text));
            }
        }

        let mut meta = match self.meta() {
            Ok(meta) => meta,
            Err(VulnError::NoDatabase { .. }) => Meta { format: FORMAT, ecosystems: BTreeMap::new() },
            Err(error) => return Err(error),
        };
        let mut summary = ImportSummary { read: records.len(), ..ImportSummary::default() };
        let mut indexes: BTreeMap<String, Index> = BTreeMap::new();
        for (record, text) in &records {
            let mut by_ecosystem: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for affected in &record.affected {
                if let Some(package) = &affected.package {
                    let ecosystem = base_ecosystem(&package.ecosystem).to_owned();
                    let name = normalize_name(&ecosystem, &package.name);
                    by_ecosystem.entry(ecosystem).or_default().insert(name);
                }
            }
            if by_ecosystem.is_empty() {
                summary.without_package += 1;
                continue;
            }
            for (ecosystem, packages) in by_ecosystem {
                if !indexes.contains_key(&ecosystem) {
                    let index = self.read_index(&ecosystem)?.unwrap_or_else(|| Index {
                        format: FORMAT,
                        ecosystem: ecosystem.clone(),
                        records: BTreeMap::new(),
                    });
                    indexes.insert(ecosystem.clone(), index);
                }
                let Some(index) = indexes.get_mut(&ecosystem) else { continue };
                let counts = summary.ecosystems.entry(ecosystem.clone()).or_default();
                if record.is_withdrawn() {
                    counts.withdrawn += 1;
                }
                let entry = IndexEntry {
                    modified: record.modified.clone(),
                    withdrawn: record.is_withdrawn(),
                    packages: packages.into_iter().collect(),
                };
                match index.records.get(&record.id) {
                    Some(existing) => {
                        let newer = match (super::osv::parse_time(&existing.modified), record.modified_time()) {
                            (Some(old), Some(new)) => new > old,
                            _ => false,
                        };
                        if newer {
                            counts.updated += 1;
                        } else {
                            counts.unchanged += 1;
                            continue;
                        }
                    }
                    None => counts.added += 1,
                }
                let path = self.record_path(&ecosystem, &record.id);
                write_atomically(&path, text.as_bytes())?;
                index.records.insert(record.id.clone(), entry);
            }
        }
        let imported = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let sources: Vec<String> = files
            .iter()
            .map(|file| {
                file.file_name().map_or_else(|| file.display().to_string(), |name| name.to_string_lossy().into_owned())
            })
            .collect();
        for (ecosystem, index) in &indexes {
            let text = serde_json::to_string(index).unwrap_or_default();
            write_atomically(&self.ecosystem_directory(ecosystem).join("index.json"), text.as_bytes())?;
            meta.ecosystems.insert(
                ecosystem.clone(),
                EcosystemMeta {
                    records: index.records.len(),
                    withdrawn: index.records.values().filter(|entry| entry.withdrawn).count(),
                    imported: imported.clone(),
                    sources: sources.clone(),
                },
            );
        }
        let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
        write_atomically(&self.directory.join(META), text.as_bytes())?;
        Ok(summary)
    }

    /// The records (withdrawn ones left out) of the packages `names` (normalized) of an
    /// ecosystem, by name; `None` when nothing of the ecosystem was imported.
    ///
    /// # Errors
    /// [`VulnError::Database`] when a file of the database is not what it wrote.
    pub fn records_for(
        &self,
        ecosystem: &str,
        names: &BTreeSet<String>,
    ) -> Result<Option<BTreeMap<String, Vec<Record>>>, VulnError> {
        let Some(index) = self.read_index(ecosystem)? else { return Ok(None) };
        let mut found: BTreeMap<String, Vec<Record>> = BTreeMap::new();
        for (id, entry) in &index.records {
            if entry.withdrawn {
                continue;
            }
            let wanted: Vec<&String> = entry.packages.iter().filter(|package| names.contains(*package)).collect();
            if wanted.is_empty() {
                continue;
            }
            let path = self.record_path(ecosystem, id);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| VulnError::Read { path: path.display().to_string(), source })?;
            let record = Record::parse(&text).map_err(|error| VulnError::Database {
                path: path.display().to_string(),
                message: format!("{}:{}: {}", error.line, error.column, error.message),
            })?;
            for name in wanted {
                found.entry(name.clone()).or_default().push(record.clone());
            }
        }
        Ok(Some(found))
    }

    fn ecosystem_directory(&self, ecosystem: &str) -> PathBuf {
        self.directory.join(file_name(ecosystem))
    }

    fn record_path(&self, ecosystem: &str, id: &str) -> PathBuf {
        self.ecosystem_directory(ecosystem).join("records").join(format!("{}.json", file_name(id)))
    }

    fn read_index(&self, ecosystem: &str) -> Result<Option<Index>, VulnError> {
        let path = self.ecosystem_directory(ecosystem).join("index.json");
        if !path.is_file() {
            return Ok(None);
        }
        let index: Index = read_json(&path)?;
        Ok(Some(index))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, VulnError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| VulnError::Read { path: path.display().to_string(), source })?;
    serde_json::from_str(&text).map_err(|error| VulnError::Database {
        path: path.display().to_string(),
        message: format!("is not a file of Slipway's OSV database ({error}); import again into an empty directory"),
    })
}

/// A name safe as a file name: everything but `A-Za-z0-9.-_` percent-encoded.
fn file_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') || (byte == b'.' && !out.is_empty()) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), VulnError> {
    let shown = || path.display().to_string();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| VulnError::Write { path: parent.display().to_string(), source })?;
    }
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(|source| VulnError::Write { path: shown(), source })?;
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        VulnError::Write { path: shown(), source }
    })
}

/// The `.json` entries of an OSV export zip, as text.
fn zip_records(file: &str, bytes: &[u8]) -> Result<Vec<(String, String)>, VulnError> {
    let not_export = |message: String| VulnError::NotAnExport { file: file.to_owned(), message };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|error| not_export(format!("is not a readable zip archive ({error})")))?;
    let mut records = Vec::new();
    let mut others = Vec::new();
    for index in 0..archive.len() {
        let mut entry =
            archive.by_index(index).map_err(|error| not_export(format!("entry {index} cannot be read ({error})")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        if !name.to_ascii_lowercase().ends_with(".json") {
            others.push(name);
            continue;
        }
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(not_export(format!(
                "entry {name} is larger than {MAX_ENTRY_BYTES} bytes; OSV records are small"
            )));
        }
        let mut text = String::new();
        (&mut entry)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|error| not_export(format!("entry {name} is not UTF-8 text ({error})")))?;
        records.push((name, text));
    }
    if records.is_empty() {
        let found = if others.is_empty() {
            "it is empty".to_owned()
        } else {
            format!("it holds {} other file(s), like {}", others.len(), others[0])
        };
        return Err(not_export(format!("holds no OSV records (.json entries): {found}")));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("crates.io"), "crates.io");
        assert_eq!(file_name("GitHub Actions"), "GitHub%20Actions");
        assert_eq!(file_name("../x"), "%2E.%2Fx");
    }
}
