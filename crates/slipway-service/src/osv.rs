//! The server's offline OSV vulnerability database: what is there (readers), imports (admins),
//! and the archive agents download.
//!
//! The database is `DATA_DIR/osv`, in `slipway-security`'s directory format, so that
//! `SlipwayVulnScan` reads it as it reads one made with `slipway osv import`. It is a symbolic
//! link to one version of it, each version a directory of its own, never changed once made:
//!
//! ```text
//! DATA_DIR/osv -> osv-versions/<digest>/database
//! DATA_DIR/osv-versions/<digest>/database/         the database
//! DATA_DIR/osv-versions/<digest>/database.tar.gz   the archive agents download (its SHA-256 is <digest>)
//! DATA_DIR/osv-versions/<digest>/import.json       who imported what, when
//! ```
//!
//! An import reads the uploaded files (one OSV zip export or record, or a tar of several) into a
//! staging directory beside the versions, starting from a copy of the current database (hard
//! links: the importer replaces files, never writes into them) unless it replaces it; every record
//! is checked before anything is written, and the current database is untouched until the new
//! version is complete, when the link is replaced in one rename. A killed server or a bad upload
//! leaves the current version as it was (and a staging directory the next import removes). The
//! version before the current one is kept, so that jobs reading it while an import lands finish
//! with it. Imports run one at a time.

use std::io::{Read as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use slipway_api as api;
use slipway_engine::local_agents::OSV_DIRECTORY;
use slipway_security::vulns::{Database, VulnError};
use slipway_store::UserRole;

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The directory of the database's versions, in the data directory.
const VERSIONS: &str = "osv-versions";
/// A version's database directory.
const DATABASE: &str = "database";
/// A version's archive.
const ARCHIVE: &str = "database.tar.gz";
/// A version's record of its import.
const RECORD: &str = "import.json";
/// The prefix of staging directories (a killed import's is removed by the next).
const STAGING: &str = ".staging-";

/// One import at a time (the link is replaced by whoever finishes; two at once would lose one's
/// records).
static IMPORTING: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// Who imported what into a version, and its archive.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ImportRecord {
    digest: String,
    bytes: u64,
    imported_at: i64,
    imported_by: String,
    sources: Vec<String>,
    replaced: bool,
}

/// The version of the database agents should have: its archive's digest and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsvVersion {
    /// The archive's SHA-256, hex.
    pub digest: String,
    /// The archive's size in bytes.
    pub bytes: u64,
}

/// The database's directory, `DATA_DIR/osv` (a link to the current version).
#[must_use]
pub fn database_directory(data_dir: &Path) -> PathBuf {
    data_dir.join(OSV_DIRECTORY)
}

/// What the server's database holds (reader).
///
/// # Errors
/// When the caller may not read, or the database's files cannot be read.
pub async fn status(state: &AppState, caller: &Caller) -> Result<api::OsvDatabase, ServiceError> {
    caller.require(UserRole::Reader)?;
    let data_dir = state.data_dir().to_path_buf();
    blocking(move || describe(&data_dir)).await
}

/// The version agents should have, when the server has a database made by an import.
pub async fn version(state: &AppState) -> Option<OsvVersion> {
    let data_dir = state.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (_, record) = current(&data_dir)?;
        Some(OsvVersion { digest: record.digest, bytes: record.bytes })
    })
    .await
    .ok()
    .flatten()
}

/// The archive of version `digest` (the current one or the one before), for an agent that
/// authenticated with its credential.
///
/// # Errors
/// [`ServiceError::NotFound`] when the server does not have that version (any more).
pub async fn archive(state: &AppState, digest: &str) -> Result<PathBuf, ServiceError> {
    let not_found = || {
        ServiceError::NotFound(format!(
            "the server has no OSV database of version {digest} (a newer one was imported since): take the version \
             the next job names"
        ))
    };
    if digest.len() != 64 || !digest.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)) {
        return Err(not_found());
    }
    let path = state.data_dir().join(VERSIONS).join(digest).join(ARCHIVE);
    if tokio::fs::metadata(&path).await.is_ok_and(|metadata| metadata.is_file()) { Ok(path) } else { Err(not_found()) }
}

/// Imports the uploaded file `upload` (an OSV zip export, a JSON record, or a tar of such files)
/// into the server's database (admin), atomically; with `replace`, the new database holds only
/// what was uploaded. Recorded in the audit log.
///
/// # Errors
/// [`ServiceError::Forbidden`] for a caller who is not an admin; [`ServiceError::BadRequest`]
/// naming the file (and the entry and line:col) that is not an OSV export or holds a malformed
/// record; [`ServiceError::Internal`] when the database cannot be written.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    upload: &Path,
    query: &api::OsvImportQuery,
) -> Result<api::OsvImport, ServiceError> {
    caller.require(UserRole::Admin)?;
    let name = match query.name.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => check_file_name(name)?.to_owned(),
        None => "upload".to_owned(),
    };
    let _one_at_a_time = IMPORTING.lock().await;
    let data_dir = state.data_dir().to_path_buf();
    let (upload, replace, who) = (upload.to_path_buf(), query.replace, caller.user.name.clone());
    let (summary, record) = blocking(move || import_blocking(&data_dir, &upload, &name, replace, &who)).await?;
    crate::audit::record(
        state,
        caller,
        "osv.import",
        "osv",
        serde_json::json!({
            "digest": record.digest,
            "bytes": record.bytes,
            "sources": record.sources,
            "replace": replace,
            "read": summary.read,
        }),
    )
    .await;
    let data_dir = state.data_dir().to_path_buf();
    let database = blocking(move || describe(&data_dir)).await?;
    Ok(api::OsvImport {
        read: summary.read,
        without_package: summary.without_package,
        ecosystems: summary
            .ecosystems
            .into_iter()
            .map(|(ecosystem, counts)| api::OsvImportCounts {
                ecosystem,
                added: counts.added,
                updated: counts.updated,
                unchanged: counts.unchanged,
                withdrawn: counts.withdrawn,
            })
            .collect(),
        replaced: replace,
        database,
    })
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ServiceError::Internal(error.to_string()))?
}

/// A file name as an upload may give it: one plain path segment.
fn check_file_name(name: &str) -> Result<&str, ServiceError> {
    let plain = name.len() <= 200
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if plain {
        Ok(name)
    } else {
        Err(ServiceError::bad_request(format!(
            "'{name}' is not a usable file name: give a plain name such as PyPI-all.zip (no '/', not starting with '.')"
        )))
    }
}

/// The current version (its directory and record), when `DATA_DIR/osv` is a link an import made.
fn current(data_dir: &Path) -> Option<(PathBuf, ImportRecord)> {
    let target = std::fs::read_link(database_directory(data_dir)).ok()?;
    let version = data_dir.join(target).parent()?.to_path_buf();
    let text = std::fs::read_to_string(version.join(RECORD)).ok()?;
    let record: ImportRecord = serde_json::from_str(&text).ok()?;
    Some((version, record))
}

/// What the database at `DATA_DIR/osv` holds.
fn describe(data_dir: &Path) -> Result<api::OsvDatabase, ServiceError> {
    let directory = database_directory(data_dir);
    let meta = match Database::at(&directory).meta() {
        Ok(meta) => meta,
        Err(VulnError::NoDatabase { .. }) => return Ok(api::OsvDatabase::default()),
        Err(error) => return Err(ServiceError::Internal(error.to_string())),
    };
    let record = current(data_dir).map(|(_, record)| record).unwrap_or_default();
    let ecosystems: Vec<api::OsvEcosystem> = meta
        .ecosystems
        .into_iter()
        .map(|(name, entry)| api::OsvEcosystem {
            name,
            records: entry.records,
            withdrawn: entry.withdrawn,
            imported: entry.imported,
            sources: entry.sources,
        })
        .collect();
    Ok(api::OsvDatabase {
        present: true,
        digest: record.digest,
        bytes: record.bytes,
        imported_at: record.imported_at,
        imported_by: record.imported_by,
        sources: record.sources,
        records: ecosystems.iter().map(|ecosystem| ecosystem.records).sum(),
        ecosystems,
    })
}

fn internal(path: &Path) -> impl Fn(std::io::Error) -> ServiceError + '_ {
    move |error| ServiceError::Internal(format!("{}: {error}", path.display()))
}

/// The import itself (see the module documentation): the import's summary and the new version's
/// record.
fn import_blocking(
    data_dir: &Path,
    upload: &Path,
    name: &str,
    replace: bool,
    who: &str,
) -> Result<(slipway_security::vulns::db::ImportSummary, ImportRecord), ServiceError> {
    let versions = data_dir.join(VERSIONS);
    std::fs::create_dir_all(&versions).map_err(internal(&versions))?;
    remove_stale_staging(&versions);
    let staging = versions.join(format!("{STAGING}{}", slipway_engine::random_hex(8).map_err(ServiceError::Internal)?));
    let result = stage(data_dir, &staging, upload, name, replace, who);
    let (summary, record) = match result {
        Ok(done) => done,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    let version = versions.join(&record.digest);
    if version.exists() {
        // The same archive again (to the byte): the version is there already.
        let _ = std::fs::remove_dir_all(&staging);
    } else {
        std::fs::rename(&staging, &version).map_err(internal(&version))?;
    }
    let previous = current(data_dir).map(|(directory, _)| directory);
    point_at(data_dir, &record.digest)?;
    prune(&versions, &record.digest, previous.as_deref());
    tracing::info!(digest = %record.digest, bytes = record.bytes, who, "the OSV database was imported");
    Ok((summary, record))
}

/// Fills the staging directory: the files, the database, its archive and the record.
fn stage(
    data_dir: &Path,
    staging: &Path,
    upload: &Path,
    name: &str,
    replace: bool,
    who: &str,
) -> Result<(slipway_security::vulns::db::ImportSummary, ImportRecord), ServiceError> {
    let files_dir = staging.join("files");
    std::fs::create_dir_all(&files_dir).map_err(internal(&files_dir))?;
    let files = split_upload(upload, name, &files_dir)?;
    let database_dir = staging.join(DATABASE);
    let existing = database_directory(data_dir);
    if !replace && existing.join("slipway-osv.json").is_file() {
        copy_tree(&existing, &database_dir)?;
    }
    let now = jiff::Timestamp::now();
    let summary = Database::at(&database_dir).import(&files, now).map_err(|error| upload_error(&error, &files_dir))?;
    std::fs::remove_dir_all(&files_dir).map_err(internal(&files_dir))?;
    let archive = staging.join(ARCHIVE);
    let (digest, bytes) = write_archive(&database_dir, &archive)?;
    let sources =
        files.iter().filter_map(|file| file.file_name().map(|name| name.to_string_lossy().into_owned())).collect();
    let record = ImportRecord {
        digest,
        bytes,
        imported_at: now.as_millisecond(),
        imported_by: who.to_owned(),
        sources,
        replaced: replace,
    };
    let text = serde_json::to_vec_pretty(&record).map_err(|error| ServiceError::Internal(error.to_string()))?;
    std::fs::write(staging.join(RECORD), text).map_err(internal(staging))?;
    Ok((summary, record))
}

/// The importer's error as the uploader should read it: bad input is theirs (400, naming the
/// file, without the server's paths), anything else the server's.
fn upload_error(error: &VulnError, files_dir: &Path) -> ServiceError {
    let shown = |text: &str| text.replace(&format!("{}/", files_dir.display()), "");
    match error {
        VulnError::NotAnExport { file, message } => ServiceError::bad_request(format!(
            "{}: not an OSV export: {message}; upload OSV's per-ecosystem exports \
             (https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip) or OSV record files (.json)",
            shown(file)
        )),
        VulnError::Record { file, line, column, message } => ServiceError::bad_request(format!(
            "{}:{line}:{column}: {message}; OSV records follow https://ossf.github.io/osv-schema/: fix or remove this \
             record and import again",
            shown(file)
        )),
        other => ServiceError::Internal(shown(&other.to_string())),
    }
}

/// The uploaded files, written into `files_dir`: a tar's regular files (by their base names, in
/// order), or the upload itself as one file named `name`.
fn split_upload(upload: &Path, name: &str, files_dir: &Path) -> Result<Vec<PathBuf>, ServiceError> {
    let mut head = [0_u8; 262];
    let read = std::fs::File::open(upload).and_then(|mut file| file.read(&mut head)).map_err(internal(upload))?;
    if read == 0 {
        return Err(ServiceError::bad_request(
            "the upload is empty: send an OSV zip export, an OSV record (.json), or a tar of such files",
        ));
    }
    let is_tar = read >= 262 && &head[257..262] == b"ustar";
    if !is_tar {
        let file = files_dir.join(name);
        std::fs::rename(upload, &file).map_err(internal(&file))?;
        return Ok(vec![file]);
    }
    let bad_tar = |detail: String| ServiceError::bad_request(format!("the uploaded tar {detail}"));
    let opened = std::fs::File::open(upload).map_err(internal(upload))?;
    let mut archive = tar::Archive::new(opened);
    let entries = archive.entries().map_err(|error| bad_tar(format!("cannot be read: {error}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|error| bad_tar(format!("cannot be read: {error}")))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let path = entry.path().map_err(|error| bad_tar(format!("names a path that cannot be read: {error}")))?;
        let shown = path.display().to_string();
        if !kind.is_file() {
            return Err(bad_tar(format!(
                "holds {shown}, which is not a regular file: put only OSV zip exports and .json records in it"
            )));
        }
        let base = match path.components().next_back() {
            Some(Component::Normal(base))
                if path.components().all(|part| matches!(part, Component::Normal(_) | Component::CurDir)) =>
            {
                base.to_string_lossy().into_owned()
            }
            _ => return Err(bad_tar(format!("holds {shown}, which is not a plain relative path"))),
        };
        let base = check_file_name(&base)?.to_owned();
        let target = files_dir.join(&base);
        if target.exists() {
            return Err(bad_tar(format!("holds two files named {base}: give each file its own name")));
        }
        let mut out = std::fs::File::create(&target).map_err(internal(&target))?;
        std::io::copy(&mut entry, &mut out).map_err(|error| bad_tar(format!("broke off in {shown}: {error}")))?;
        files.push(target);
    }
    if files.is_empty() {
        return Err(bad_tar("holds no files: put OSV zip exports or .json records in it".to_owned()));
    }
    let _ = std::fs::remove_file(upload);
    Ok(files)
}

/// Copies the directory tree `from` to `to` (which must not exist) with hard links, or copies
/// where a link cannot be made.
fn copy_tree(from: &Path, to: &Path) -> Result<(), ServiceError> {
    std::fs::create_dir_all(to).map_err(internal(to))?;
    let entries = std::fs::read_dir(from).map_err(internal(from))?;
    for entry in entries {
        let entry = entry.map_err(internal(from))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(internal(&source))?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() && std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(internal(&source))?;
        }
    }
    Ok(())
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the database at `directory` as a gzip-compressed tar (paths relative to it, in name
/// order, no owners or times) to `archive`: its SHA-256 (hex) and size.
fn write_archive(directory: &Path, archive: &Path) -> Result<(String, u64), ServiceError> {
    let file = std::fs::File::create(archive).map_err(internal(archive))?;
    let hashing = Hashing { inner: std::io::BufWriter::new(file), hasher: sha2::Sha256::new(), bytes: 0 };
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(hashing, flate2::Compression::default()));
    builder.mode(tar::HeaderMode::Deterministic);
    append_tree(&mut builder, directory, Path::new(""))?;
    let encoder = builder.into_inner().map_err(internal(archive))?;
    let mut hashing = encoder.finish().map_err(internal(archive))?;
    hashing.flush().map_err(internal(archive))?;
    let Hashing { inner, hasher, bytes } = hashing;
    let file = inner.into_inner().map_err(|error| internal(archive)(error.into_error()))?;
    file.sync_all().map_err(internal(archive))?;
    Ok((format!("{:x}", hasher.finalize()), bytes))
}

fn append_tree<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    directory: &Path,
    relative: &Path,
) -> Result<(), ServiceError> {
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(directory)
        .map_err(internal(directory))?
        .collect::<Result<_, _>>()
        .map_err(internal(directory))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = relative.join(entry.file_name());
        let kind = entry.file_type().map_err(internal(&path))?;
        if kind.is_dir() {
            builder.append_dir(&name, &path).map_err(internal(&path))?;
            append_tree(builder, &path, &name)?;
        } else if kind.is_file() {
            builder.append_path_with_name(&path, &name).map_err(internal(&path))?;
        }
    }
    Ok(())
}

/// Points `DATA_DIR/osv` at version `digest`, in one rename. A directory there (a database made
/// by hand with `slipway osv import --db`) is moved into the versions first.
fn point_at(data_dir: &Path, digest: &str) -> Result<(), ServiceError> {
    let link = database_directory(data_dir);
    let is_directory = std::fs::symlink_metadata(&link).is_ok_and(|metadata| metadata.is_dir());
    if is_directory {
        let aside = data_dir
            .join(VERSIONS)
            .join(format!("{STAGING}by-hand-{}", slipway_engine::random_hex(4).map_err(ServiceError::Internal)?));
        std::fs::rename(&link, &aside).map_err(internal(&link))?;
    }
    let temporary = data_dir
        .join(format!(".{OSV_DIRECTORY}-link-{}", slipway_engine::random_hex(6).map_err(ServiceError::Internal)?));
    let target = Path::new(VERSIONS).join(digest).join(DATABASE);
    std::os::unix::fs::symlink(&target, &temporary).map_err(internal(&temporary))?;
    std::fs::rename(&temporary, &link).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        internal(&link)(error)
    })
}

/// Removes the versions but the current one and the one before it, and staging directories.
fn prune(versions: &Path, digest: &str, previous: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(versions) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let keep = entry.file_name() == digest || previous.is_some_and(|previous| previous == path);
        if !keep && let Err(error) = std::fs::remove_dir_all(&path) {
            tracing::warn!(%error, path = %path.display(), "an old version of the OSV database could not be removed");
        }
    }
}

/// Removes staging directories of imports that never finished (the server was stopped).
fn remove_stale_staging(versions: &Path) {
    let Ok(entries) = std::fs::read_dir(versions) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(STAGING) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_must_be_plain() {
        assert!(check_file_name("PyPI-all.zip").is_ok());
        for bad in ["../x.zip", "a/b.zip", ".hidden", "a\nb", &"x".repeat(201)] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn archives_are_the_same_for_the_same_files() {
        let root = std::env::temp_dir().join(format!("slipway-osv-archive-{}", std::process::id()));
        let database = root.join("db");
        let _ = std::fs::remove_dir_all(&root);
        assert!(std::fs::create_dir_all(database.join("PyPI/records")).is_ok());
        assert!(std::fs::write(database.join("slipway-osv.json"), "{}").is_ok());
        assert!(std::fs::write(database.join("PyPI/records/A.json"), "{\"id\":\"A\"}").is_ok());
        let first = write_archive(&database, &root.join("one.tar.gz")).ok();
        let second = write_archive(&database, &root.join("two.tar.gz")).ok();
        let _ = std::fs::remove_dir_all(&root);
        assert!(first.as_ref().is_some_and(|(digest, bytes)| digest.len() == 64 && *bytes > 0), "{first:?}");
        assert_eq!(first, second);
    }
}
