//! Retention's cleanup, which applies each pipeline's settings (kept runs excepted).
//!
//! [`cleanup`] runs hourly in the background ([`spawn`]) and can be called directly (tests, an
//! admin's command). It deletes the completed runs their pipeline's retention settings no longer
//! keep ([`Store::apply_retention`], which never deletes a run marked keep, the newest successful
//! run of a branch, or what a kept run needs), then:
//! - the blobs no artifact references any more: those the deleted runs used and any other
//!   stored blob nothing references (such as an upload that failed before it was recorded),
//!   except blobs stored within the grace period, which an artifact being recorded may be about
//!   to reference; the check and the deletion happen under [`BlobStore::sweeping`];
//! - the run directories (`runs/ID`: the checkout and the job workspaces) of deleted runs and of
//!   runs that completed longer ago than the grace period. Artifacts, logs and test results are
//!   kept elsewhere; a re-run of failed jobs checks the commit out again and puts the artifacts
//!   back ([`crate::reruns`]). Directories are checked and deleted under [`maintenance`], which
//!   re-runs take too, so a run being re-run keeps its directory;
//! - checkouts and uploads left behind by a server that stopped half-way (older than a day).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use slipway_store::{Run, RunId, RunStatus, Store, StoreError};

use crate::Core;
use crate::blobs::BlobStore;

/// How often the background cleanup runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// How long after the server starts the first background cleanup runs.
pub const FIRST_DELAY: Duration = Duration::from_secs(60);

/// Blobs stored more recently than this are never deleted (an artifact may be about to use them).
pub const BLOB_GRACE: Duration = Duration::from_secs(3600);

/// The directory of a run that completed more recently than this is kept.
pub const RUN_DIRECTORY_GRACE: Duration = Duration::from_secs(3600);

/// Checkouts and uploads older than this were left by a server that stopped half-way.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(86_400);

/// Held while run directories are deleted, and by re-runs while they prepare a run again.
static MAINTENANCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Takes the lock that keeps the cleanup from deleting run directories meanwhile.
pub async fn maintenance() -> tokio::sync::MutexGuard<'static, ()> {
    MAINTENANCE.lock().await
}

/// How [`cleanup`] runs.
#[derive(Clone, Copy, Debug)]
pub struct CleanupOptions {
    /// Blobs stored more recently are kept.
    pub blob_grace: Duration,
    /// Directories of runs completed more recently are kept.
    pub run_directory_grace: Duration,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        Self { blob_grace: BLOB_GRACE, run_directory_grace: RUN_DIRECTORY_GRACE }
    }
}

/// What a cleanup did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// The runs deleted.
    pub deleted_runs: Vec<RunId>,
    /// The blobs deleted.
    pub deleted_blobs: Vec<String>,
    /// The run directories deleted.
    pub deleted_run_directories: Vec<RunId>,
    /// What could not be deleted, and why (tried again next time).
    pub problems: Vec<String>,
}

/// Applies retention (see the module documentation) to the store and data directory of `state`.
///
/// # Errors
/// When the store fails; what was deleted before stays deleted.
pub async fn cleanup(store: &Store, data_dir: &Path, options: CleanupOptions) -> Result<CleanupReport, StoreError> {
    let retention = store.apply_retention().await?;
    let mut report = CleanupReport { deleted_runs: retention.deleted_runs.clone(), ..CleanupReport::default() };
    sweep_blobs(store, &BlobStore::new(data_dir), &retention.unreferenced_blobs, options.blob_grace, &mut report)
        .await?;
    remove_run_directories(store, data_dir, options.run_directory_grace, &mut report).await?;
    for leftovers in ["checkouts", "uploads"] {
        remove_old_entries(&data_dir.join(leftovers), LEFTOVER_AGE, &mut report).await;
    }
    Ok(report)
}

fn older_than(modified: Option<std::time::SystemTime>, age: Duration) -> bool {
    modified.and_then(|time| time.elapsed().ok()).is_some_and(|elapsed| elapsed >= age)
}

async fn sweep_blobs(
    store: &Store,
    blobs: &BlobStore,
    freed: &[String],
    grace: Duration,
    report: &mut CleanupReport,
) -> Result<(), StoreError> {
    let _sweeping = BlobStore::sweeping().await;
    let listed = {
        let blobs = blobs.clone();
        tokio::task::spawn_blocking(move || blobs.list()).await.unwrap_or_default()
    };
    let mut candidates: Vec<String> = freed.iter().chain(listed.iter()).cloned().collect();
    candidates.sort();
    candidates.dedup();
    for digest in candidates {
        if !blobs.contains(&digest) || !older_than(blobs.stored_at(&digest), grace) {
            continue;
        }
        if store.is_blob_referenced(&digest).await? {
            continue;
        }
        match blobs.remove(&digest) {
            Ok(true) => report.deleted_blobs.push(digest),
            Ok(false) => {}
            Err(error) => report.problems.push(format!("blob {digest}: {error}")),
        }
    }
    for temporary in blobs.stale_temporaries(LEFTOVER_AGE) {
        let _ = tokio::fs::remove_file(temporary).await;
    }
    Ok(())
}

/// Whether a run's directory may go: the run is deleted, or completed longer ago than `grace`.
fn directory_may_go(run: Option<&Run>, now_ms: i64, grace: Duration) -> bool {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    match run {
        None => true,
        Some(run) => {
            run.status == RunStatus::Completed
                && run.finished_at.is_some_and(|finished| now_ms.saturating_sub(finished.millis()) >= grace_ms)
        }
    }
}

async fn remove_run_directories(
    store: &Store,
    data_dir: &Path,
    grace: Duration,
    report: &mut CleanupReport,
) -> Result<(), StoreError> {
    let runs_dir = data_dir.join("runs");
    let Ok(mut entries) = tokio::fs::read_dir(&runs_dir).await else { return Ok(()) };
    let mut found: Vec<(RunId, PathBuf)> = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Some(id) = entry.file_name().to_str().and_then(|name| name.parse::<i64>().ok()) {
            found.push((RunId(id), entry.path()));
        }
    }
    found.sort();
    for (id, path) in found {
        let _maintenance = maintenance().await;
        let run = match store.run(id).await {
            Ok(run) => Some(run),
            Err(error) if error.is_not_found() => None,
            Err(error) => return Err(error),
        };
        if !directory_may_go(run.as_ref(), store.now().millis(), grace) {
            continue;
        }
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => report.deleted_run_directories.push(id),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => report.problems.push(format!("{}: {error}", path.display())),
        }
    }
    Ok(())
}

async fn remove_old_entries(directory: &Path, age: Duration, report: &mut CleanupReport) {
    let Ok(mut entries) = tokio::fs::read_dir(directory).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let modified = entry.metadata().await.ok().and_then(|metadata| metadata.modified().ok());
        if older_than(modified, age)
            && let Err(error) = tokio::fs::remove_dir_all(entry.path()).await
        {
            report.problems.push(format!("{}: {error}", entry.path().display()));
        }
    }
}

/// Runs [`cleanup`] in the background: first after [`FIRST_DELAY`], then every [`INTERVAL`],
/// until the server stops.
pub fn spawn(core: Core, mut stopping: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut delay = FIRST_DELAY;
        loop {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopping.changed() => return,
            }
            if *stopping.borrow() {
                return;
            }
            // A failed cleanup (the database was unreachable) is tried again next time.
            if let Err(error) = cleanup(core.store(), core.data_dir(), CleanupOptions::default()).await {
                tracing::warn!(%error, "the retention cleanup failed; it runs again later");
            }
            delay = INTERVAL;
        }
    })
}
