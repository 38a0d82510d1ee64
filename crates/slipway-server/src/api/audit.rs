//! The audit log: its export and the check of its hash chain (admin).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use slipway_service::audit as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, export_audit);
    route!(routes, verify_audit)
}

/// The audit log as JSON lines, oldest first (admin): each line an entry with the hash of the
/// one before it (`prev_hash`) and its own (`hash`), so that it can be checked offline with
/// `slipway audit verify --file`. Entries are read in pages as the answer is written; a failure
/// part way ends the answer early.
#[utoipa::path(get, path = "/audit", tag = "audit", params(wire::AuditQuery),
    responses((status = 200, description = "The entries, one JSON object per line.",
            content_type = "application/x-ndjson", body = wire::AuditEntry),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn export_audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    service::prepare_export(&state, &caller).await?;
    // `None` once the last page was written.
    let start = Some(query.after);
    let stream = futures_util::stream::unfold(start, move |cursor| {
        let (state, caller) = (state.clone(), caller.clone());
        async move {
            let after = cursor?;
            match service::export_page(&state, &caller, after).await {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = page.last().map(|entry| entry.id);
                    let text: String = page.iter().map(service::export_line).collect();
                    Some((Ok(Bytes::from(text)), next.map(Some)))
                }
                Err(error) => {
                    tracing::error!(%error, "the audit log's export broke off");
                    Some((Err(std::io::Error::other(error.to_string())), None))
                }
            }
        }
    });
    Ok(([(header::CONTENT_TYPE, wire::AUDIT_EXPORT_MEDIA_TYPE)], Body::from_stream(stream)).into_response())
}

/// Checks the audit log's hash chain from its first entry (admin): how many entries were
/// checked, the newest one's id and hash, and the first break (an entry changed, deleted or out
/// of order; with an anchor noted earlier, the chain cut off or rewritten) with what was expected
/// and found.
#[utoipa::path(get, path = "/audit/verify", tag = "audit", params(wire::AuditVerifyQuery),
    responses((status = 200, description = "What the check found.", body = wire::AuditVerification),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn verify_audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::AuditVerifyQuery>, QueryRejection>,
) -> Result<Json<wire::AuditVerification>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::verify(&state, &caller, query.anchor.as_deref()).await?))
}
