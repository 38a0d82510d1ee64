//! The artifacts and test results API: `GET /runs/{id}/artifacts`, downloading an artifact as a
//! tar, uploading one, and `GET /runs/{id}/tests`. What artifacts are and how they are kept is
//! the engine's ([`slipway_engine::artifacts`]).

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use slipway_api as wire;
use slipway_engine::artifacts::{
    ArtifactError, MAX_UPLOAD_BYTES, blocking, check_artifact_name, extract_tar, ingest_directory, manifest_of,
    safe_relative_path,
};
use slipway_engine::blobs::BlobStore;
use slipway_events::ArtifactManifest;
use slipway_service::wire as to_wire;
use slipway_store::{JobId, RunId, RunStatus, UserRole};
use tokio::io::AsyncWriteExt as _;

use super::find_run;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

impl From<ArtifactError> for ApiError {
    fn from(error: ArtifactError) -> Self {
        match error {
            ArtifactError::Invalid(detail) => ApiError::bad_request(detail),
            ArtifactError::Io(error) => ApiError::Internal(error.to_string()),
            ArtifactError::Store(error) => ApiError::from(error),
        }
    }
}

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_artifacts);
    // Uploads are streamed to a file and limited by `upload_artifact` itself.
    let routes = route!(routes, download_artifact, upload_artifact; layer = DefaultBodyLimit::disable());
    route!(routes, run_tests)
}

/// An artifact as the API lists it: `job` is its job's key.
fn listed(run: RunId, artifact: slipway_store::Artifact, job: Option<String>) -> wire::Artifact {
    wire::Artifact {
        download_url: format!("/api/v1/runs/{run}/artifacts/{}", wire::path_segment(&artifact.name)),
        job,
        name: artifact.name,
        digest: artifact.digest,
        files: artifact.files,
        bytes: artifact.bytes,
        created_at: artifact.created_at.millis(),
    }
}

/// A run's artifacts (reader).
#[utoipa::path(get, path = "/runs/{id}/artifacts", tag = "artifacts",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "Its artifacts, by name.", body = Vec<wire::Artifact>),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn list_artifacts(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<UrlPath<i64>, PathRejection>,
) -> Result<axum::Json<Vec<wire::Artifact>>, ApiError> {
    caller.require(UserRole::Reader)?;
    let UrlPath(id) = id?;
    let run = find_run(&state, id).await?;
    let jobs: HashMap<JobId, String> =
        state.store().jobs_of_run(run.id).await?.into_iter().map(|job| (job.id, job.key)).collect();
    let listed = state
        .store()
        .artifacts_of_run(run.id)
        .await?
        .into_iter()
        .map(|artifact| {
            let job = artifact.job.and_then(|job| jobs.get(&job).cloned());
            listed(run.id, artifact, job)
        })
        .collect();
    Ok(axum::Json(listed))
}

async fn find_artifact(
    state: &AppState,
    path: Result<UrlPath<(i64, String)>, PathRejection>,
) -> Result<(slipway_store::Run, String), ApiError> {
    let UrlPath((id, name)) = path?;
    let run = find_run(state, id).await?;
    check_artifact_name(&name)?;
    Ok((run, name))
}

/// A writer that sends what is written, in chunks, to a response body.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    const CHUNK: usize = 64 * 1024;

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(Self::CHUNK)));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= Self::CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Writes an artifact as a tar to `writer`.
fn write_tar(blobs: &BlobStore, manifest: &ArtifactManifest, modified: u64, writer: ChannelWriter) -> io::Result<()> {
    let mut builder = tar::Builder::new(writer);
    for file in &manifest.files {
        let path = safe_relative_path(&file.path).map_err(|error| io::Error::other(error.to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(file.size);
        header.set_mode(if file.executable { 0o755 } else { 0o644 });
        header.set_mtime(modified);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, &path, blobs.open(&file.digest)?)?;
    }
    let mut writer = builder.into_inner()?;
    writer.flush()
}

/// An artifact's files as a tar, streamed (reader).
#[utoipa::path(get, path = "/runs/{id}/artifacts/{name}", tag = "artifacts",
    params(("id" = i64, Path, description = "The run's id."), ("name" = String, Path, description = "The artifact's name.")),
    responses(
        (status = 200, description = "The artifact's files.", content_type = "application/x-tar"),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn download_artifact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<UrlPath<(i64, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Reader)?;
    let (run, name) = find_artifact(&state, path).await?;
    let artifact = state
        .store()
        .artifacts_of_run(run.id)
        .await?
        .into_iter()
        .find(|artifact| artifact.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("run {} has no artifact named '{name}'", run.id)))?;
    let manifest = manifest_of(&artifact)?;
    let blobs = BlobStore::new(state.data_dir());
    if let Some(missing) = manifest.files.iter().find(|file| !blobs.contains(&file.digest)) {
        return Err(ApiError::Internal(format!("blob {} of artifact '{name}' is missing", missing.digest)));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let modified = u64::try_from(artifact.created_at.millis() / 1000).unwrap_or_default();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter { sender: sender.clone(), buffer: Vec::with_capacity(ChannelWriter::CHUNK) };
        if let Err(error) = write_tar(&blobs, &manifest, modified, writer) {
            // The client sees the body end with an error instead of a short archive.
            let _ = sender.blocking_send(Err(error));
        }
    });
    let file_name: String = name
        .chars()
        .map(|character| if character.is_ascii_graphic() && character != '"' { character } else { '_' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}.tar\"")),
        ],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver)),
    )
        .into_response())
}

/// Removes a directory tree when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Publishes an artifact (contributor): a tar of its files, for a run that has not completed;
/// replaces an artifact of that name.
#[utoipa::path(put, path = "/runs/{id}/artifacts/{name}", tag = "artifacts",
    request_body(content = Vec<u8>, content_type = "application/x-tar", description = "A tar of the files."),
    params(("id" = i64, Path, description = "The run's id."), ("name" = String, Path, description = "The artifact's name."),
        wire::UploadQuery),
    responses(
        (status = 201, description = "The artifact.", body = wire::Artifact),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 413, response = wire::Problem)))]
async fn upload_artifact(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<UrlPath<(i64, String)>, PathRejection>,
    query: Result<Query<wire::UploadQuery>, QueryRejection>,
    body: Body,
) -> Result<(StatusCode, axum::Json<wire::Artifact>), ApiError> {
    caller.require(UserRole::Contributor)?;
    let Query(query) = query?;
    let (run, name) = find_artifact(&state, path).await?;
    if run.status == RunStatus::Completed {
        return Err(ApiError::Conflict(format!("run {} has completed: artifacts are published while it runs", run.id)));
    }
    let job = match &query.job {
        None => None,
        Some(key) => Some(
            state
                .store()
                .jobs_of_run(run.id)
                .await?
                .into_iter()
                .find(|job| &job.key == key)
                .ok_or_else(|| ApiError::NotFound(format!("run {} has no job '{key}'", run.id)))?,
        ),
    };
    let scratch =
        Scratch(state.data_dir().join("uploads").join(slipway_engine::random_hex(12).map_err(ApiError::Internal)?));
    let internal = |error: io::Error| ApiError::Internal(error.to_string());
    tokio::fs::create_dir_all(scratch.0.join("files")).await.map_err(internal)?;
    let archive = scratch.0.join("upload.tar");
    let mut file = tokio::fs::File::create(&archive).await.map_err(internal)?;
    let mut stream = body.into_data_stream();
    let mut received = 0_u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ApiError::bad_request(format!("the upload was cut short: {error}")))?;
        received += chunk.len() as u64;
        if received > MAX_UPLOAD_BYTES {
            return Err(ApiError::BadRequest {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                detail: format!("an artifact upload may hold at most {MAX_UPLOAD_BYTES} bytes"),
            });
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    drop(file);
    let files = scratch.0.join("files");
    {
        let (archive, files) = (archive.clone(), files.clone());
        blocking(move || extract_tar(&archive, &files)).await?;
    }
    let blobs = BlobStore::new(state.data_dir());
    let artifact =
        ingest_directory(state.store(), &blobs, run.id, job.as_ref().map(|job| job.id), &name, &files).await?;
    Ok((StatusCode::CREATED, axum::Json(listed(run.id, artifact, job.map(|job| job.key)))))
}

/// A run's test results and coverage (reader).
#[utoipa::path(get, path = "/runs/{id}/tests", tag = "artifacts",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The totals, each published set of results and coverage summary.",
            body = wire::RunTests),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn run_tests(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<UrlPath<i64>, PathRejection>,
) -> Result<axum::Json<wire::RunTests>, ApiError> {
    caller.require(UserRole::Reader)?;
    let UrlPath(id) = id?;
    let run = find_run(&state, id).await?;
    let store = state.store();
    Ok(axum::Json(wire::RunTests {
        totals: to_wire::test_totals(store.test_totals(run.id).await?),
        runs: store.test_runs(run.id).await?.iter().map(to_wire::test_results).collect(),
        coverage: store.coverage_summaries(run.id).await?.iter().map(to_wire::coverage).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_and_names_are_refused() {
        assert_eq!(safe_relative_path("./a/./b.txt").ok().as_deref(), Some("a/b.txt"));
        for bad in ["../x", "a/../../x", "/etc/passwd", "", ".", "a/\0b"] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?}");
        }
        assert!(check_artifact_name("drop").is_ok());
        for bad in ["", ".hidden", "a/b", "a\\b", "new\nline", &"x".repeat(201)] {
            assert!(check_artifact_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(wire::path_segment("a b/c"), "a%20b%2Fc");
    }
}
