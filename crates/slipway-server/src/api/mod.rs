//! The REST API under `/api/v1`, one module per resource, over the service layer
//! ([`slipway_service`]). Every handler reads and answers the wire types of [`slipway_api`] and is
//! registered with `route!`, which takes its path and methods from its `#[utoipa::path]`: a route
//! cannot be added without being documented, and the OpenAPI document (`GET /api/v1/openapi.json`,
//! [`document`]) is generated from the same handlers and types. The server serves the routes
//! built without their documentation ([`Routes::Served`]: building the document runs megabytes of
//! generated code, 6 MB of resident memory the server would keep), and builds the document the
//! first time it is asked for; a test checks that every documented operation is served.
//!
//! Every error is one [`ApiError`](crate::ApiError), answered as a [`slipway_api::Problem`].

/// Registers handlers that share a path (their `#[utoipa::path]`'s), optionally under a layer:
/// served from each handler's path item, or documented through `utoipa_axum::routes!`.
macro_rules! route {
    ($routes:expr, $($handler:ident),+ $(; layer = $layer:expr)?) => {{
        match $routes {
            $crate::api::Routes::Documented(router) => {
                let (schemas, paths, method) = utoipa_axum::routes!($($handler),+);
                $(let method = method.layer($layer);)?
                $crate::api::Routes::Documented(Box::new(router.routes((schemas, paths, method))))
            }
            $crate::api::Routes::Served(router) => {
                let mut method = axum::routing::MethodRouter::new();
                let mut paths: Vec<String> = Vec::new();
                $(
                    utoipa_axum::paste! {
                        paths.push(<[<__path_ $handler>] as utoipa::Path>::path());
                        for verb in <[<__path_ $handler>] as utoipa::Path>::methods() {
                            method = method.on(utoipa_axum::PathItemExt::to_method_filter(&verb), $handler);
                        }
                    }
                )+
                debug_assert!(paths.windows(2).all(|pair| pair[0] == pair[1]), "one route!, one path: {paths:?}");
                let path = paths.swap_remove(0);
                $(let method = method.layer($layer);)?
                // The one place a route is added by path: the handlers' own, from their path item.
                $crate::api::Routes::Served(router.route(&path, method))
            }
        }
    }};
}

pub(crate) mod agents;
pub(crate) mod artifacts;
pub(crate) mod audit;
pub(crate) mod delivery;
pub(crate) mod environments;
pub(crate) mod events;
pub(crate) mod evidence;
pub(crate) mod flags;
pub(crate) mod follow;
pub(crate) mod insights;
pub(crate) mod notifications;
pub(crate) mod osv;
pub(crate) mod pipelines;
pub(crate) mod protocol;
pub(crate) mod runs;
pub(crate) mod security;
pub(crate) mod team;
pub(crate) mod users;
pub(crate) mod variables;
pub(crate) mod webhooks;
pub(crate) mod work_items;

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use utoipa::OpenApi as _;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

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
        (name = "environments", description = "Environments, their deployments and checks, what stages wait for, and approvals."),
        (name = "delivery", description = "Services in environments, their slots and traffic weights, and the router's metrics."),
        (name = "flags", description = "Environments' feature flags (flagd documents), and their evaluation over OFREP."),
        (name = "insights", description = "Delivery performance: DORA's four keys of an environment."),
        (name = "security", description = "What runs' security reports say, and artifacts' signed provenance."),
        (name = "events", description = "The event stream (CDEvents as CloudEvents): read it, and push deployments and incidents into it."),
        (name = "work items", description = "Work items and incidents: bugs, tasks and incidents, opened by hand or by failures."),
        (name = "audit", description = "The audit log, its export and the check of its hash chain."),
        (name = "evidence", description = "Evidence bundles: a deployment or run with its changes, approvals, checks, tests and security results, signed."),
        (name = "team", description = "The team dashboard: pipeline health, flaky tests, queue times and agent use."),
        (name = "notifications", description = "Subscriptions to the event stream (Slack, Microsoft Teams, e-mail, webhooks) and their deliveries."),
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
                slipway_web::SESSION_COOKIE,
                "The web UI's session, accepted wherever a token is: for reading as is, for changes only with \
                 the session's CSRF token in the X-CSRF-Token header.",
            ))),
        );
        let mut agent = Http::new(HttpAuthScheme::Bearer);
        agent.description = Some("An agent's credential (slwagent_...).".into());
        components.add_security_scheme("agentCredential", SecurityScheme::Http(agent));
    }
}

/// The API's routes as they are being put together: served, or documented.
pub(crate) enum Routes {
    /// The routes the server serves, without their documentation.
    Served(axum::Router<AppState>),
    /// The same routes with their documentation, for the OpenAPI document.
    Documented(Box<OpenApiRouter<AppState>>),
}

/// Every route of the API.
fn all(routes: Routes) -> Routes {
    let routes = route!(routes, health);
    let routes = route!(routes, openapi);
    let routes = pipelines::routes(routes);
    let routes = runs::routes(routes);
    let routes = artifacts::routes(routes);
    let routes = variables::routes(routes);
    let routes = users::routes(routes);
    let routes = webhooks::routes(routes);
    let routes = agents::routes(routes);
    let routes = environments::routes(routes);
    let routes = delivery::routes(routes);
    let routes = flags::routes(routes);
    let routes = insights::routes(routes);
    let routes = security::routes(routes);
    let routes = osv::routes(routes);
    let routes = events::routes(routes);
    let routes = work_items::routes(routes);
    let routes = audit::routes(routes);
    let routes = evidence::routes(routes);
    let routes = team::routes(routes);
    let routes = notifications::routes(routes);
    protocol::routes(routes)
}

/// The routes the server serves (under `/api/v1`), before the state is given.
pub(crate) fn served() -> axum::Router<AppState> {
    match all(Routes::Served(axum::Router::new())) {
        Routes::Served(router) => router,
        Routes::Documented(router) => router.split_for_parts().0,
    }
}

/// The OpenAPI 3.1 document of the API, generated from its handlers and wire types.
#[must_use]
pub fn document() -> utoipa::openapi::OpenApi {
    match all(Routes::Documented(Box::new(OpenApiRouter::with_openapi(BaseDocument::openapi())))) {
        Routes::Documented(router) => router.into_openapi(),
        Routes::Served(_) => BaseDocument::openapi(),
    }
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
    ApiError::BadRequest {
        status: StatusCode::METHOD_NOT_ALLOWED,
        detail: "the route does not take this method".into(),
    }
}

/// The run a path names, or a 404.
pub(crate) async fn find_run(state: &AppState, id: i64) -> Result<slipway_store::Run, ApiError> {
    state.store().run(slipway_store::RunId(id)).await.map_err(|error| {
        if error.is_not_found() { ApiError::NotFound(format!("no run {id}")) } else { ApiError::from(error) }
    })
}
