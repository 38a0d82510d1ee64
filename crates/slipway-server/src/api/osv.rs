//! The server's offline OSV vulnerability database: `GET /osv` (readers) shows what it holds,
//! `POST /osv/imports` (admins) imports OSV's exports into it, and agents download it with
//! `GET /agent/osv/{digest}` when a job names a version they lack. What the database is and how an
//! import replaces it atomically is the service's ([`slipway_service::osv`]).

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use slipway_api as wire;
use slipway_service::osv as service;
use slipway_store::UserRole;
use tokio::io::AsyncWriteExt as _;

use super::protocol::AgentCaller;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, osv_status);
    // Uploads are streamed to a file and limited by `import_osv` itself.
    let routes = route!(routes, import_osv; layer = DefaultBodyLimit::disable());
    route!(routes, download_osv)
}

/// What the server's OSV database holds: its ecosystems and their advisories, when it was
/// imported, and its version (the digest agents compare) (reader).
#[utoipa::path(get, path = "/osv", tag = "security",
    responses((status = 200, description = "The database; `present` is false when nothing was imported.", body = wire::OsvDatabase),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn osv_status(State(state): State<AppState>, caller: Caller) -> Result<Json<wire::OsvDatabase>, ApiError> {
    Ok(Json(service::status(&state, &caller).await?))
}

/// Imports OSV's exports into the server's database (admin): the body is one OSV zip export
/// (`<ecosystem>/all.zip`), one OSV record (`.json`), or a tar of several. Every record is checked
/// before anything changes; the database is replaced in one step, so a failed import leaves it as
/// it was. Records are added to what is there (the newer `modified` of each id kept), or replace
/// it with `replace=true`. Recorded in the audit log.
#[utoipa::path(post, path = "/osv/imports", tag = "security",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "An OSV zip export, an OSV record, or a tar of such files."),
    params(wire::OsvImportQuery),
    responses((status = 201, description = "What was imported, and the database now.", body = wire::OsvImport),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 413, response = wire::Problem)))]
async fn import_osv(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::OsvImportQuery>, QueryRejection>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<wire::OsvImport>), ApiError> {
    // Before the body is read: a non-admin's upload is not taken in.
    caller.require(UserRole::Admin)?;
    let Query(query) = query?;
    let too_large = || ApiError::BadRequest {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        detail: format!(
            "an OSV import may upload at most {} bytes: import the ecosystems' exports one at a time",
            wire::MAX_OSV_IMPORT_BYTES
        ),
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > wire::MAX_OSV_IMPORT_BYTES) {
        return Err(too_large());
    }
    let scratch = Scratch(
        state
            .data_dir()
            .join("uploads")
            .join(format!("osv-{}", slipway_engine::random_hex(12).map_err(ApiError::Internal)?)),
    );
    let internal = |error: std::io::Error| ApiError::Internal(error.to_string());
    tokio::fs::create_dir_all(&scratch.0).await.map_err(internal)?;
    let upload = scratch.0.join("upload");
    let mut file = tokio::fs::File::create(&upload).await.map_err(internal)?;
    let mut stream = body.into_data_stream();
    let mut received = 0_u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ApiError::bad_request(format!("the upload was cut short: {error}")))?;
        received += chunk.len() as u64;
        if received > wire::MAX_OSV_IMPORT_BYTES {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    drop(file);
    let imported = service::import(&state, &caller, &upload, &query).await?;
    Ok((StatusCode::CREATED, Json(imported)))
}

/// Removes an upload's scratch directory when the request ends, however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One version of the server's OSV database, as a gzip-compressed tar whose SHA-256 is `digest`,
/// for agents to keep in their tools directory (`_tool/osv`).
#[utoipa::path(get, path = "/agent/osv/{digest}", tag = "agent protocol", security(("agentCredential" = [])),
    params(("digest" = String, Path, description = "The version a job message named."),
        ("slipway-agent-protocol" = u32, Header, description = "The protocol version the agent speaks.")),
    responses((status = 200, description = "The archive.", content_type = "application/gzip"),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 426, response = wire::Problem)))]
async fn download_osv(
    State(state): State<AppState>,
    _agent: AgentCaller,
    digest: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(digest) = digest?;
    let path = service::archive(&state, &digest).await?;
    let file = tokio::fs::File::open(&path).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    let length = file.metadata().await.map_err(|error| ApiError::Internal(error.to_string()))?.len();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buffer = vec![0_u8; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(count) => {
                buffer.truncate(count);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buffer)), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/gzip".to_owned()), (header::CONTENT_LENGTH, length.to_string())],
        Body::from_stream(stream),
    )
        .into_response())
}
