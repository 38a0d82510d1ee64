//! Webhooks: `POST /api/v1/webhooks/{provider}/{pipeline}` for `github`, `gitlab`, `gitea`,
//! `forgejo` and `azure` (Azure Repos service hooks), and the pipeline's webhook secret
//! (`/api/v1/pipelines/{name}/webhook`, admin).
//!
//! A delivery carries no token: it is verified with the pipeline's webhook secret, as its
//! provider proves it (GitHub's and Gitea/Forgejo's HMAC signatures of the body, GitLab's secret
//! token, and for Azure Repos basic authentication with the user name `slipway` and the secret as
//! password). A delivery that is unsigned, wrongly signed or malformed is answered with a 4xx
//! problem saying exactly what is wrong, and recorded in the audit log. A verified push goes
//! through the same decision as polling, a pull request through the `pr` trigger; the answer
//! lists what each gave, or is `202 Accepted` when the decision takes longer than the
//! configured wait (it goes on).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use slipway_api as wire;
use slipway_service::wire as to_wire;
use slipway_store::{NewAuditEntry, Pipeline, UserRole};
use slipway_triggers::webhook::{
    self, AzureReposAuth, Headers, Provider, Secret, WebhookConfig, WebhookError, WebhookEvent,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_engine::LogFailure as _;

/// The largest webhook body read (GitHub sends up to 25 MB, but pushes are far smaller).
pub const MAX_WEBHOOK_BYTES: usize = 8 * 1024 * 1024;

/// The user name Azure Repos service hooks send with basic authentication.
pub const AZURE_USER_NAME: &str = "slipway";

/// The providers, as they appear in webhook URLs.
pub const PROVIDERS: [&str; 5] = ["github", "gitlab", "gitea", "forgejo", "azure"];

/// The routes of webhooks and webhook secrets.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, receive; layer = DefaultBodyLimit::max(MAX_WEBHOOK_BYTES));
    route!(routes, show_webhook, set_webhook_secret, delete_webhook_secret)
}

fn provider(name: &str) -> Option<Provider> {
    match name.to_ascii_lowercase().as_str() {
        "github" => Some(Provider::GitHub),
        "gitlab" => Some(Provider::GitLab),
        "gitea" | "forgejo" => Some(Provider::Gitea),
        "azure" | "azure-repos" => Some(Provider::AzureRepos),
        _ => None,
    }
}

async fn find_pipeline(state: &AppState, name: &str) -> Result<Pipeline, ApiError> {
    state.store().pipeline_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("no pipeline named '{name}'")))
}

/// The problem for a refused delivery, after it is recorded in the audit log.
async fn refuse(state: &AppState, provider: &str, pipeline: &str, error: &WebhookError) -> ApiError {
    let entry = NewAuditEntry {
        actor: format!("webhook:{provider}"),
        action: "webhook.rejected".to_owned(),
        target: Some(format!("pipeline:{pipeline}")),
        details: json!({ "status": error.status(), "reason": error.to_string() }),
    };
    state.store().record_audit(&entry).await.log_failure("recording a refused webhook delivery in the audit log");
    let detail = format!("webhook delivery refused: {error}");
    match error.status() {
        401 => ApiError::Unauthorized(detail),
        403 => ApiError::Forbidden(detail),
        _ => ApiError::bad_request(detail),
    }
}

/// Receives a webhook delivery: push and pull request events start runs as the pipeline's
/// triggers say. No token: the delivery is verified with the pipeline's webhook secret (GitHub's
/// `X-Hub-Signature-256`, GitLab's `X-Gitlab-Token`, Gitea's and Forgejo's signatures, Azure
/// Repos' basic authentication as user `slipway`).
#[utoipa::path(post, path = "/webhooks/{provider}/{pipeline}", tag = "triggers", security(()),
    request_body(content = Object, description = "The provider's event, as it sends it."),
    params(("provider" = String, Path, description = "github, gitlab, gitea, forgejo or azure."),
        ("pipeline" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "Verified and decided: what each ref or pull request gave.",
            body = wire::WebhookDelivery),
        (status = 202, description = "Verified; the decision is still being made.", body = wire::WebhookDelivery),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 413, response = wire::Problem)))]
async fn receive(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((provider_name, pipeline_name)) = path?;
    let provider = provider(&provider_name).ok_or_else(|| {
        ApiError::NotFound(format!("'{provider_name}' is not a webhook provider: use {}", PROVIDERS.join(", ")))
    })?;
    let body =
        body.map_err(|rejection| ApiError::BadRequest { status: rejection.status(), detail: rejection.body_text() })?;
    let pipeline = find_pipeline(&state, &pipeline_name).await?;
    let secret = Secret::new(state.store().webhook_secret(pipeline.id).await?.unwrap_or_default());
    let config = match provider {
        Provider::GitHub => WebhookConfig::GitHub { secret },
        Provider::GitLab => WebhookConfig::GitLab { token: secret },
        Provider::Gitea => WebhookConfig::Gitea { secret },
        Provider::AzureRepos => {
            WebhookConfig::AzureRepos(AzureReposAuth::Basic { username: AZURE_USER_NAME.to_owned(), password: secret })
        }
    };
    let headers: Headers = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let event = match webhook::receive(&config, &headers, &body) {
        Ok(event) => event,
        Err(error) => return Err(refuse(&state, &provider_name, &pipeline.name, &error).await),
    };
    let delivery = |event: &str| wire::WebhookDelivery {
        event: event.to_owned(),
        pipeline: pipeline.name.clone(),
        ..wire::WebhookDelivery::default()
    };
    let kind = match &event {
        WebhookEvent::Ping => return Ok(Json(delivery("ping")).into_response()),
        WebhookEvent::Ignored { event } => {
            return Ok(Json(wire::WebhookDelivery { ignored: true, ..delivery(event) }).into_response());
        }
        WebhookEvent::Push(_) => "push",
        WebhookEvent::PullRequest(_) => "pullRequest",
    };
    let work = {
        let (state, pipeline, provider_name) = (state.clone(), pipeline.clone(), provider_name.to_ascii_lowercase());
        tokio::spawn(async move {
            slipway_triggering::webhooks::decide(state.triggering(), &pipeline, &provider_name, event).await
        })
    };
    let wait = state.triggers().config().webhook_wait;
    match tokio::time::timeout(wait, work).await {
        Ok(Ok(decided)) => {
            let decisions = decided.iter().map(to_wire::decision).collect();
            Ok(Json(wire::WebhookDelivery { decisions: Some(decisions), ..delivery(kind) }).into_response())
        }
        Ok(Err(error)) => Err(ApiError::Internal(error.to_string())),
        Err(_) => {
            let status = Some("the decision is still being made".to_owned());
            Ok((StatusCode::ACCEPTED, Json(wire::WebhookDelivery { status, ..delivery(kind) })).into_response())
        }
    }
}

/// A pipeline's webhook as answered.
fn webhook(pipeline: &str, secret_set: bool, secret: Option<String>) -> wire::Webhook {
    let urls = PROVIDERS
        .iter()
        .map(|provider| {
            ((*provider).to_owned(), format!("/api/v1/webhooks/{provider}/{}", wire::path_segment(pipeline)))
        })
        .collect();
    wire::Webhook {
        pipeline: pipeline.to_owned(),
        secret_set,
        secret,
        urls,
        azure_user_name: AZURE_USER_NAME.to_owned(),
    }
}

fn check_secret(secret: &str) -> Result<(), ApiError> {
    let length = secret.chars().count();
    if !(8..=256).contains(&length) {
        return Err(ApiError::bad_request("a webhook secret must be 8 to 256 characters long"));
    }
    if secret.chars().any(char::is_control) || secret.trim() != secret {
        return Err(ApiError::bad_request(
            "a webhook secret cannot hold control characters, or begin or end with spaces",
        ));
    }
    Ok(())
}

/// Whether the pipeline has a webhook secret, and the URLs to give providers (admin).
#[utoipa::path(get, path = "/pipelines/{name}/webhook", tag = "triggers",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "The webhook.", body = wire::Webhook),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn show_webhook(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::Webhook>, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    let pipeline = find_pipeline(&state, &name).await?;
    let set = state.store().webhook_secret(pipeline.id).await?.is_some();
    Ok(Json(webhook(&pipeline.name, set, None)))
}

/// Sets the pipeline's webhook secret, or makes a random one when the body gives none (admin);
/// the answer shows it, with the URLs to give providers.
#[utoipa::path(put, path = "/pipelines/{name}/webhook", tag = "triggers",
    request_body(content = Option<wire::SetWebhookSecret>, description = "The secret (optional)."),
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "The webhook with its secret.", body = wire::Webhook),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 415, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn set_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Option<Json<wire::SetWebhookSecret>>, JsonRejection>,
) -> Result<Json<wire::Webhook>, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    let body = body?.map(|Json(body)| body).unwrap_or_default();
    let pipeline = find_pipeline(&state, &name).await?;
    let secret = match body.secret {
        Some(secret) => {
            check_secret(&secret)?;
            secret
        }
        None => slipway_engine::random_hex(24).map_err(ApiError::Internal)?,
    };
    state.store().set_webhook_secret(pipeline.id, Some(&secret)).await?;
    let entry = NewAuditEntry {
        actor: caller.user.name.clone(),
        action: "webhook.secret.set".to_owned(),
        target: Some(format!("pipeline:{}", pipeline.name)),
        details: json!({}),
    };
    state.store().record_audit(&entry).await.log_failure("recording a new webhook secret in the audit log");
    Ok(Json(webhook(&pipeline.name, true, Some(secret))))
}

/// Removes the pipeline's webhook secret: deliveries are refused then (admin).
#[utoipa::path(delete, path = "/pipelines/{name}/webhook", tag = "triggers",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn delete_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    let pipeline = find_pipeline(&state, &name).await?;
    state.store().set_webhook_secret(pipeline.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_named_in_urls() {
        assert_eq!(
            PROVIDERS.map(provider),
            [
                Some(Provider::GitHub),
                Some(Provider::GitLab),
                Some(Provider::Gitea),
                Some(Provider::Gitea),
                Some(Provider::AzureRepos)
            ]
        );
        assert_eq!(provider("GitHub"), Some(Provider::GitHub));
        assert_eq!(provider("bitbucket"), None);
    }

    #[test]
    fn secrets_are_checked() {
        assert!(check_secret("It's a Secret to Everybody").is_ok());
        assert!(check_secret("short").is_err());
        assert!(check_secret("ends with a space ").is_err());
        assert!(check_secret("tab\tinside").is_err());
        assert!(check_secret(&"x".repeat(257)).is_err());
    }
}
