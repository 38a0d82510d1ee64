//! The REST API under `/api/v1`, one module per resource, over the service layer
//! ([`slipway_service`]). Every handler reads and answers the wire types of [`slipway_api`] and is
//! registered through [`utoipa_axum`]'s router with its `#[utoipa::path]`, so that the OpenAPI
//! document (`GET /openapi.json`, [`document`]) is generated from the same types and routes the
//! server serves: a route cannot be added without being documented (the `routes!` macro needs
//! the handler's path item), and a test checks that every documented operation is served.
//!
//! Every error is one [`ApiError`](crate::ApiError), answered as a [`slipway_api::Problem`].

pub(crate) mod agents;
pub(crate) mod artifacts;
pub(crate) mod follow;
pub(crate) mod pipelines;
pub(crate) mod protocol;
pub(crate) mod runs;
pub(crate) mod users;
pub(crate) mod variables;
pub(crate) mod webhooks;

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use utoipa::OpenApi as _;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

/// What the document says before the routes add theirs.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Slipway API",
        description = "Pipelines, runs and their logs, variables, artifacts, agents. Errors are \
            application/problem+json. Every route but health, this document, webhooks and the agent \
            protocol needs `Authorization: Bearer TOKEN` (or the web UI's session); readers read, \
            contributors run, cancel and set variables, admins create pipelines and users."
    ),
    servers((url = "/api/v1")),
    modifiers(&SecuritySchemes),
    components(schemas(wire::Problem), responses(wire::Problem)),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "server", description = "The server itself."),
        (name = "pipelines", description = "Pipelines: a repository and a YAML file in it."),
        (name = "runs", description = "Runs, their jobs and logs."),
        (name = "artifacts", description = "A run's artifacts and test results."),
        (name = "variables", description = "A pipeline's variables and the variable groups."),
        (name = "users", description = "Users and personal access tokens."),
        (name = "triggers", description = "Webhooks from git hosts."),
        (name = "agents", description = "Agents, pools and registration tokens, for admins."),
        (name = "agent protocol", description = "What agents call (see docs/agent-protocol.md).")
    )
)]
struct BaseDocument;

/// Adds the ways a caller authenticates.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(utoipa::openapi::Components::new);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("A personal access token (slw_...).".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                slipway_web::session::SESSION_COOKIE,
                "The web UI's session, accepted wherever a token is: for reading as is, for changes only with \
                 the session's CSRF token in the X-CSRF-Token header.",
            ))),
        );
        let mut agent = Http::new(HttpAuthScheme::Bearer);
        agent.description = Some("An agent's credential (slwagent_...).".into());
        components.add_security_scheme("agentCredential", SecurityScheme::Http(agent));
    }
}

/// Every route of the API with its documentation, before the state is given.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(BaseDocument::openapi())
        .routes(routes!(health))
        .routes(routes!(openapi))
        .merge(pipelines::routes())
        .merge(runs::routes())
        .merge(artifacts::routes())
        .merge(variables::routes())
        .merge(users::routes())
        .merge(webhooks::routes())
        .merge(agents::routes())
        .merge(protocol::routes())
}

/// The OpenAPI 3.1 document of the API, generated from its routes and wire types.
#[must_use]
pub fn document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The document as served.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_json().unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}")));

/// The server is up, and which database it uses.
#[utoipa::path(get, path = "/health", tag = "server", security(()),
    responses((status = 200, description = "The server is up.", body = wire::Health)))]
async fn health(State(state): State<AppState>) -> Json<wire::Health> {
    Json(wire::Health { status: "ok".into(), database: state.store().backend_name().into() })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "server", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of the API.", content_type = "application/json")))]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

/// Answers routes that do not exist.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound(wire::UNKNOWN_ROUTE.into())
}

/// Answers methods a route does not take.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::BadRequest { status: StatusCode::METHOD_NOT_ALLOWED, detail: "the route does not take this method".into() }
}

/// The run a path names, or a 404.
pub(crate) async fn find_run(state: &AppState, id: i64) -> Result<slipway_store::Run, ApiError> {
    state.store().run(slipway_store::RunId(id)).await.map_err(|error| {
        if error.is_not_found() { ApiError::NotFound(format!("no run {id}")) } else { ApiError::from(error) }
    })
}
