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
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
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

/// The routes of webhooks and webhook secrets, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{provider}/{pipeline}", post(receive).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)))
        .route("/pipelines/{name}/webhook", get(show_webhook).put(set_webhook_secret).delete(delete_webhook_secret))
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

/// `POST /webhooks/{provider}/{pipeline}` (no token: the delivery proves the webhook secret).
pub async fn receive(
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
    let kind = match &event {
        WebhookEvent::Ping => return Ok(Json(json!({ "event": "ping", "pipeline": pipeline.name })).into_response()),
        WebhookEvent::Ignored { event } => {
            return Ok(Json(json!({ "event": event, "ignored": true, "pipeline": pipeline.name })).into_response());
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
            Ok(Json(json!({ "event": kind, "pipeline": pipeline.name, "decisions": decided })).into_response())
        }
        Ok(Err(error)) => Err(ApiError::Internal(error.to_string())),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "event": kind, "pipeline": pipeline.name, "status": "the decision is still being made" })),
        )
            .into_response()),
    }
}

/// What to set a webhook secret to.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetWebhookSecret {
    /// The secret; a random one is made when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The webhook URLs of a pipeline, relative to the server.
fn urls(pipeline: &str) -> Value {
    let mut urls = serde_json::Map::new();
    for provider in PROVIDERS {
        urls.insert(provider.to_owned(), json!(format!("/api/v1/webhooks/{provider}/{pipeline}")));
    }
    Value::Object(urls)
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

/// `GET /pipelines/{name}/webhook` (admin): whether a secret is set, and the URLs to give
/// providers.
pub async fn show_webhook(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    let pipeline = find_pipeline(&state, &name).await?;
    let set = state.store().webhook_secret(pipeline.id).await?.is_some();
    Ok(Json(
        json!({ "pipeline": pipeline.name, "secretSet": set, "urls": urls(&pipeline.name), "azureUserName": AZURE_USER_NAME }),
    ))
}

/// `PUT /pipelines/{name}/webhook` (admin): sets the webhook secret (a random one when the body
/// gives none) and answers it, with the URLs to give providers.
pub async fn set_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Option<Json<SetWebhookSecret>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({
        "pipeline": pipeline.name,
        "secret": secret,
        "urls": urls(&pipeline.name),
        "azureUserName": AZURE_USER_NAME,
    })))
}

/// `DELETE /pipelines/{name}/webhook` (admin): removes the secret; deliveries are refused then.
pub async fn delete_webhook_secret(
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

/// The OpenAPI paths of these routes, merged into the document's `paths`.
#[must_use]
pub fn openapi_paths() -> serde_json::Map<String, Value> {
    let problem = |codes: &[&str]| {
        codes
            .iter()
            .map(|code| {
                (
                    (*code).to_owned(),
                    json!({ "description": "A problem (RFC 9457).",
                        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }),
                )
            })
            .collect::<serde_json::Map<String, Value>>()
    };
    let with = |mut responses: serde_json::Map<String, Value>, code: &str, description: &str| {
        responses.insert(code.to_owned(), json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } }));
        Value::Object(responses)
    };
    let name = json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } });
    let mut delivery_responses = problem(&["400", "401", "403", "404", "413"]);
    delivery_responses
        .insert("202".to_owned(), json!({ "description": "Verified; the decision is still being made." }));
    let delivery_responses =
        with(delivery_responses, "200", "Verified and decided: what each ref or pull request gave (`decisions`).");
    let mut delete_responses = problem(&["400", "401", "403", "404"]);
    delete_responses.insert("204".to_owned(), json!({ "description": "Removed." }));
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/webhooks/{provider}/{pipeline}".to_owned(),
        json!({ "post": {
            "summary": "Receives a webhook delivery: push and pull request events start runs as the pipeline's triggers say. \
                No token: the delivery is verified with the pipeline's webhook secret (GitHub X-Hub-Signature-256, \
                GitLab X-Gitlab-Token, Gitea/Forgejo X-Gitea-Signature/X-Forgejo-Signature, Azure Repos basic \
                authentication as user `slipway`).",
            "security": [],
            "parameters": [
                { "name": "provider", "in": "path", "required": true, "schema": { "enum": PROVIDERS } },
                { "name": "pipeline", "in": "path", "required": true, "schema": { "type": "string" } }
            ],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
            "responses": delivery_responses
        } }),
    );
    paths.insert(
        "/pipelines/{name}/webhook".to_owned(),
        json!({
            "get": { "summary": "Whether the pipeline has a webhook secret, and its webhook URLs (admin).",
                "parameters": [name], "responses": with(problem(&["400", "401", "403", "404"]), "200", "The webhook.") },
            "put": { "summary": "Sets the pipeline's webhook secret, or makes a random one when the body has none (admin). \
                    The answer shows it.",
                "parameters": [name],
                "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object",
                    "properties": { "secret": { "type": "string", "minLength": 8, "maxLength": 256 } } } } } },
                "responses": with(problem(&["400", "401", "403", "404", "415", "422"]), "200", "The secret and the URLs.") },
            "delete": { "summary": "Removes the pipeline's webhook secret: deliveries are refused (admin).",
                "parameters": [name],
                "responses": delete_responses }
        }),
    );
    paths
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
