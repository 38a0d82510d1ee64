//! Pipeline artifacts and test results on the server.
//!
//! Artifacts are recorded in the store ([`Store::record_artifact`]) with their manifest (the
//! [`ArtifactManifest`]: every file's path, digest, size and mode) and their files kept once
//! each in the [`BlobStore`]. They arrive two ways:
//! - a job run by the server's own worker slots publishes into the run's local artifact store
//!   (`runs/ID/work/artifacts`); when the job ends, [`ingest_local_store`] records what it
//!   published and stores its files as blobs;
//! - an uploaded tar (`PUT /runs/{id}/artifacts/{name}`), extracted by [`extract_tar`], which
//!   refuses hostile paths (`..`, absolute paths, links), and recorded by [`ingest_directory`]
//!   (which remote agents' uploads can use too).
//!
//! (Test results and coverage summaries come as events, `testResultsPublished` and
//! `coveragePublished`, which the engine records as it stores a job's events; `GET
//! /runs/{id}/tests` serves them.)
//!
//! [`materialize`] writes an artifact's files back out (for a job on another machine, or a run
//! directory rebuilt for a re-run), and `GET /runs/{id}/artifacts/{name}` streams it as a tar.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};

use slipway_events::{ArtifactFile, ArtifactManifest};
use slipway_runtime::artifacts::ArtifactStore;
use slipway_store::{Artifact, JobId, NewArtifact, RunId, Store, StoreError};

use crate::LogFailure as _;
use crate::blobs::BlobStore;

/// The largest artifact upload (a tar) the API takes.
pub const MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The most entries an uploaded tar may hold.
pub const MAX_UPLOAD_ENTRIES: usize = 100_000;

/// Why an artifact could not be taken in or written out.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// What was sent is not acceptable (a hostile path, a link, a malformed archive).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks an artifact name: 1 to 200 characters, no `/`, `\` or control characters, not
/// starting with `.` (the runtime's rule, bounded).
///
/// # Errors
/// [`ArtifactError::Invalid`] saying why.
pub fn check_artifact_name(name: &str) -> Result<(), ArtifactError> {
    let valid = !name.is_empty()
        && name.chars().count() <= 200
        && !name.starts_with('.')
        && !name.chars().any(|character| character == '/' || character == '\\' || character.is_control());
    if valid {
        Ok(())
    } else {
        Err(ArtifactError::Invalid(format!(
            "'{}' is not a valid artifact name: use 1 to 200 characters, no '/', '\\' or control characters, not starting with '.'",
            name.escape_debug()
        )))
    }
}

/// A path inside an artifact made safe to join to a directory: relative, `/`-separated, with
/// only normal components (`.` is dropped).
///
/// # Errors
/// [`ArtifactError::Invalid`] for an absolute path, one with `..`, or an empty one.
pub fn safe_relative_path(path: &str) -> Result<String, ArtifactError> {
    let invalid = || ArtifactError::Invalid(format!("'{}' is not a path inside the artifact", path.escape_debug()));
    if path.contains('\0') {
        return Err(invalid());
    }
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(invalid)?.to_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(invalid()),
        }
    }
    if parts.is_empty() { Err(invalid()) } else { Ok(parts.join("/")) }
}

/// Records an artifact whose files are stored as blobs, with its signed provenance when the
/// server can sign it (see [`crate::provenance`]; when it cannot, the artifact is recorded
/// without, and why is logged).
async fn record(
    store: &Store,
    blobs: &BlobStore,
    run: RunId,
    job: Option<JobId>,
    manifest: &ArtifactManifest,
) -> Result<Artifact, ArtifactError> {
    let mut digests: Vec<String> = manifest.files.iter().map(|file| file.digest.clone()).collect();
    digests.sort();
    digests.dedup();
    let provenance = match blobs.root().parent() {
        Some(data_dir) => match crate::provenance::sign(store, data_dir, run, manifest).await {
            Ok(envelope) => Some(envelope),
            Err(reason) => {
                tracing::warn!(run = run.get(), artifact = %manifest.name, %reason, "the artifact is recorded without signed provenance");
                None
            }
        },
        None => None,
    };
    let artifact = NewArtifact {
        run,
        job,
        name: manifest.name.clone(),
        digest: manifest.digest(),
        manifest: serde_json::to_value(manifest).map_err(|error| io::Error::other(error.to_string()))?,
        blobs: digests,
        files: i64::try_from(manifest.files.len()).unwrap_or(i64::MAX),
        bytes: i64::try_from(manifest.bytes()).unwrap_or(i64::MAX),
        provenance,
    };
    Ok(store.record_artifact(&artifact).await?)
}

/// Runs blocking work on a blocking thread.
/// Runs blocking artifact work (file I/O, archives) on a blocking thread.
///
/// # Errors
/// What `work` gives, or [`ArtifactError::Io`] when the thread could not be joined.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ArtifactError> + Send + 'static,
) -> Result<T, ArtifactError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ArtifactError::Io(io::Error::other(error.to_string())))?
}

/// Takes in a directory as artifact `name` of `run` (published by `job`, if known), replacing an
/// artifact of that name: its files are stored as blobs and the artifact recorded. Symbolic
/// links are refused, so nothing outside `directory` is read.
///
/// # Errors
/// When the name is invalid, the directory holds a link, files cannot be read, or the store fails.
pub async fn ingest_directory(
    store: &Store,
    blobs: &BlobStore,
    run: RunId,
    job: Option<JobId>,
    name: &str,
    directory: &Path,
) -> Result<Artifact, ArtifactError> {
    check_artifact_name(name)?;
    let _writing = BlobStore::writing().await;
    let keeper = blobs.clone();
    let (root, blobs, name) = (directory.to_path_buf(), blobs.clone(), name.to_owned());
    let manifest = blocking(move || {
        let mut files = Vec::new();
        walk(&root, "", &mut files)?;
        let mut manifest = ArtifactManifest { name, files: Vec::with_capacity(files.len()) };
        for (path, source, executable) in files {
            let (digest, size) = blobs.put_file(&source, None)?;
            manifest.files.push(ArtifactFile { path, digest, size, executable });
        }
        manifest.files.sort_by(|left, right| left.path.cmp(&right.path));
        Ok(manifest)
    })
    .await?;
    record(store, &keeper, run, job, &manifest).await
}

/// Lists the regular files under `directory` as (artifact path, file, executable), refusing links.
fn walk(directory: &Path, prefix: &str, files: &mut Vec<(String, PathBuf, bool)>) -> Result<(), ArtifactError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut entries: Vec<_> = std::fs::read_dir(directory)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name =
            entry.file_name().to_str().map(str::to_owned).ok_or_else(|| {
                ArtifactError::Invalid(format!("{} is not a UTF-8 file name", entry.path().display()))
            })?;
        let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let metadata = std::fs::symlink_metadata(entry.path())?;
        if metadata.is_dir() {
            walk(&entry.path(), &path, files)?;
        } else if metadata.is_file() {
            files.push((path, entry.path(), metadata.permissions().mode() & 0o111 != 0));
        } else {
            return Err(ArtifactError::Invalid(format!("'{path}' is a link or a special file: artifacts hold files")));
        }
    }
    Ok(())
}

/// Records what a job published in the run's local artifact store (the runtime's, at `root`):
/// every artifact whose content differs from what is recorded under its name is recorded as
/// `job`'s, its files stored as blobs (hard links where the file system allows). Jobs running at
/// the same time share the local store, so an artifact another running job just published may be
/// recorded as this job's; its content is right either way.
///
/// # Errors
/// When the local store cannot be read, blobs cannot be stored, or the store fails.
pub async fn ingest_local_store(
    store: &Store,
    blobs: &BlobStore,
    run: RunId,
    job: Option<JobId>,
    root: &Path,
) -> Result<Vec<Artifact>, ArtifactError> {
    let local = ArtifactStore::new(root);
    let recorded: HashMap<String, String> =
        store.artifacts_of_run(run).await?.into_iter().map(|artifact| (artifact.name, artifact.digest)).collect();
    let _writing = BlobStore::writing().await;
    let keeper = blobs.clone();
    let (blobs, reader) = (blobs.clone(), local.clone());
    let manifests = blocking(move || {
        let mut changed = Vec::new();
        for name in reader.names() {
            let Ok(manifest) = reader.manifest(&name) else { continue };
            if recorded.get(&name) == Some(&manifest.digest()) || check_artifact_name(&name).is_err() {
                continue;
            }
            for file in &manifest.files {
                blobs.put_file(&reader.blob_path(&file.digest), Some(&file.digest))?;
            }
            changed.push(manifest);
        }
        Ok(changed)
    })
    .await?;
    let mut ingested = Vec::with_capacity(manifests.len());
    for manifest in &manifests {
        ingested.push(record(store, &keeper, run, job, manifest).await?);
    }
    Ok(ingested)
}

/// Records what a job run by this server's worker slots published in its run's local artifact
/// store ([`ingest_local_store`]); a failure is told in the job's log as a warning.
pub async fn keep_job_artifacts(
    store: &Store,
    data_dir: &Path,
    run: RunId,
    job: JobId,
    context: &slipway_runtime::RunContext,
) {
    let root = context.run_dir.join("artifacts");
    if let Err(error) = ingest_local_store(store, &BlobStore::new(data_dir), run, Some(job), &root).await {
        let line = context.masker.mask(
            &slipway_events::LogKind::Warning
                .line(&format!("The artifacts the job published could not be kept: {error}")),
        );
        store
            .append_log_lines(job, &[line])
            .await
            .log_failure("noting in a job's log that its artifacts were not kept");
    }
}

/// An artifact record's manifest.
///
/// # Errors
/// [`ArtifactError::Invalid`] when the stored manifest cannot be read.
pub fn manifest_of(artifact: &Artifact) -> Result<ArtifactManifest, ArtifactError> {
    serde_json::from_value(artifact.manifest.clone()).map_err(|error| {
        ArtifactError::Invalid(format!("the manifest of artifact '{}' is damaged: {error}", artifact.name))
    })
}

/// Writes an artifact's files into `destination` (created if needed), from the blob store.
/// Blocking: call it from a blocking thread.
///
/// # Errors
/// When the manifest is damaged (a path leaving the destination), a blob is missing, or files
/// cannot be written.
pub fn materialize(
    blobs: &BlobStore,
    artifact: &Artifact,
    destination: &Path,
) -> Result<ArtifactManifest, ArtifactError> {
    let manifest = manifest_of(artifact)?;
    std::fs::create_dir_all(destination)?;
    for file in &manifest.files {
        let relative = safe_relative_path(&file.path)?;
        let target = destination.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        blobs.copy_to(&file.digest, &target, file.executable)?;
    }
    Ok(manifest)
}

/// Puts a run's recorded artifacts that its local artifact store (at `root`) lacks back into it,
/// so that jobs run again (a re-run of failed jobs, after the cleanup removed the run's
/// directory) can download what earlier jobs published.
///
/// # Errors
/// When a blob is missing or files cannot be written.
pub async fn restore_local_store(
    store: &Store,
    blobs: &BlobStore,
    run: RunId,
    root: &Path,
) -> Result<(), ArtifactError> {
    let artifacts = store.artifacts_of_run(run).await?;
    let (blobs, root) = (blobs.clone(), root.to_path_buf());
    blocking(move || {
        let local = ArtifactStore::new(&root);
        let present = local.names();
        for artifact in artifacts {
            if present.contains(&artifact.name) {
                continue;
            }
            let staging = root.join(format!(".restore-{}", crate::random_hex(8).map_err(io::Error::other)?));
            let restored = materialize(&blobs, &artifact, &staging).and_then(|_| {
                local.publish(&artifact.name, &staging).map_err(|error| io::Error::other(error.to_string()).into())
            });
            let _ = std::fs::remove_dir_all(&staging);
            restored?;
        }
        Ok(())
    })
    .await
}

/// Extracts an uploaded tar into `destination` (which must exist and be empty), refusing what
/// could write outside it: absolute paths, `..`, and any link or special file. Blocking.
///
/// # Errors
/// [`ArtifactError::Invalid`] for such an entry or a malformed archive.
pub fn extract_tar(archive: &Path, destination: &Path) -> Result<usize, ArtifactError> {
    let malformed =
        |error: io::Error| ArtifactError::Invalid(format!("the upload is not a valid tar archive: {error}"));
    let mut archive = tar::Archive::new(io::BufReader::new(std::fs::File::open(archive)?));
    let mut files = 0;
    for (index, entry) in archive.entries().map_err(malformed)?.enumerate() {
        if index >= MAX_UPLOAD_ENTRIES {
            return Err(ArtifactError::Invalid(format!("the upload holds more than {MAX_UPLOAD_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(malformed)?;
        let raw = entry.path().map_err(malformed)?.to_string_lossy().into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() || kind.is_gnu_longname() {
            continue;
        }
        let is_root = Path::new(&raw).components().all(|component| component == Component::CurDir);
        if kind.is_dir() && is_root {
            continue;
        }
        let relative = safe_relative_path(&raw)?;
        let target = destination.join(&relative);
        // Only directories and files are ever made here, so a path that cannot be made is one
        // that is both a file and a directory in the archive.
        let clash = |error: io::Error| {
            ArtifactError::Invalid(format!(
                "'{relative}' cannot be written ({error}): is it both a file and a directory?"
            ))
        };
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(clash)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(clash)?;
            }
            if std::fs::symlink_metadata(&target).is_ok_and(|metadata| metadata.is_dir()) {
                return Err(ArtifactError::Invalid(format!("'{relative}' is both a directory and a file")));
            }
            let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
            let mut output = std::fs::File::create(&target).map_err(clash)?;
            io::copy(&mut entry, &mut output).map_err(malformed)?;
            output.flush()?;
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }))?;
            files += 1;
        } else {
            return Err(ArtifactError::Invalid(format!(
                "'{relative}' is a link or a special file: artifacts hold only files and directories"
            )));
        }
    }
    Ok(files)
}
