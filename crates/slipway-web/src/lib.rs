//! Slipway's web UI: server-rendered HTML pages over the service layer and the store, with a little script of our own for the
//! live parts (the run page's graph, steps and log follow the run through server-sent events).
//!
//! - `/`: pipelines with their latest run; `/pipelines/{name}`: a pipeline's runs, a page at a
//!   time; `/pipelines/{name}/run`: the "Run pipeline" form generated from the pipeline's
//!   `parameters:`; `/runs/{id}`: a run's stage and job graph (SVG), steps, live log, test results,
//!   coverage and artifacts, with cancel, re-run (whole, or the failed jobs in place) and keep
//!   buttons; admins set a pipeline's retention on its page.
//! - `/pipelines/{name}/variables`: a pipeline's variables; `/library` and `/library/{group}`:
//!   variable groups and the checks on them, which admins add and delete there (see [`library`]).
//! - `/agents`: agents with their state and current job, the pools with their settings and the
//!   checks on each; admins edit pools, add and delete their checks and create registration
//!   tokens there (see [`agents`]). The checks section of environments, groups and pools is one
//!   (see [`checks`]).
//! - `/environments` and `/environments/{name}`: environments, what runs where, their deployment
//!   history and the checks on them, which admins add and delete there (see [`environments`]);
//!   and their services: each router's address and state, its slots with their weights, share of
//!   the traffic, requests and success rate (and their last minute through the router), which
//!   contributors set, remove, weigh and swap there and admins create and delete, and each
//!   service's last analysis run with its measurements charted (see [`services`]); and their
//!   feature flags: each flag's state, variants, default variant and targeting, the OFREP address
//!   applications ask, and contributors' forms to set a flag's default variant and state over
//!   the revision they read (see [`flags`]).
//! - The run page's panel of what its stages wait for (checkpoints), with Approve and Reject
//!   buttons for an approval's approvers; `/approvals`: the approvals waiting for the signed-in
//!   user (see [`approvals`]).
//! - `/admin/users` and `/users/{id}/tokens`: users, roles and personal access tokens.
//! - `/login` and `/logout`: sign-in with a user name and a personal access token; the session
//!   cookie is `HttpOnly`, `SameSite=Lax` and `Secure` over https. Every form post carries a CSRF
//!   token tied to the session (see [`session`]).
//! - `/auth/oidc/start` and `/auth/oidc/callback`: sign-in with OpenID Connect, when the server
//!   offers it (a "Sign in with SSO" button on the sign-in page; see [`sso`]).
//!
//! Pages read what they show with a fixed number of store queries, none per run or per job (the
//! environments list reads each environment's newest deployment: one query per environment; an
//! environment's page each service's slots and last analysis runs: three queries per service, and
//! its flags two; the Agents page each pool's checks: one query per pool).
//! Everything shown is escaped ([`maud`] escapes by default; log lines go through [`log`]).

#![warn(unreachable_pub)]

mod admin;
mod agents;
mod approvals;
mod assets;
mod badge;
mod checks;
mod environments;
mod evidence;
mod flags;
mod graph;
mod insights;
mod library;
mod live;
mod log;
mod metrics;
mod notifications;
mod pages;
mod security;
mod services;
mod session;
mod sso;
mod team;
mod work_items;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use slipway_events::TaskResult;
use slipway_store::{JobStatus, RunStatus, StepStatus, StoreError, Timestamp};

pub use session::{SESSION_COOKIE, Viewer, cookie_caller};
use slipway_service::AppState;
use slipway_service::ServiceError;

/// The UI's routes, merged into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(work_items::routes())
        .merge(insights::routes())
        .merge(notifications::routes())
        .merge(metrics::routes())
        .merge(evidence::routes())
        .merge(team::routes())
        .route("/", get(pages::pipelines))
        .route("/pipelines", post(pages::create_pipeline))
        .route("/pipelines/{name}", get(pages::pipeline))
        .route("/pipelines/{name}/run", get(pages::run_form).post(pages::start_run))
        .route("/pipelines/{name}/badge.svg", get(badge::badge))
        .route("/pipelines/{name}/variables", get(library::pipeline_variables).post(library::set_pipeline_variable))
        .route("/pipelines/{name}/variables/{var}/delete", post(library::delete_pipeline_variable))
        .route("/library", get(library::library).post(library::create_group))
        .route("/library/{group}", get(library::group))
        .route("/library/{group}/delete", post(library::delete_group))
        .route("/library/{group}/variables", post(library::set_group_variable))
        .route("/library/{group}/variables/{var}/delete", post(library::delete_group_variable))
        .route("/library/{group}/checks", post(checks::add_check::<checks::OnVariableGroup>))
        .route("/library/{group}/checks/{id}/delete", post(checks::delete_check::<checks::OnVariableGroup>))
        .route("/runs/{id}", get(pages::run))
        .route("/runs/{id}/live", get(live::live))
        .route("/runs/{id}/security", get(security::run_security))
        .route("/pipelines/{name}/security", get(security::pipeline_security))
        .route("/.well-known/slipway/provenance-keys.json", get(security::provenance_keys))
        .route("/runs/{id}/log", get(pages::raw_log))
        .route("/runs/{id}/cancel", post(pages::cancel))
        .route("/runs/{id}/rerun", post(pages::rerun))
        .route("/runs/{id}/keep", post(pages::keep))
        .route("/pipelines/{name}/retention", post(pages::set_retention))
        .route("/pipelines/{name}/queue-status", post(pages::set_queue_status))
        .route("/pipelines/{name}/delete", post(pages::delete_pipeline))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/auth/oidc/start", get(sso::start))
        .route("/auth/oidc/callback", get(sso::callback))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}/role", post(admin::change_role))
        .route("/admin/users/{id}/disabled", post(admin::set_disabled))
        .route("/users/{id}/tokens", get(admin::tokens).post(admin::create_token))
        .route("/users/{id}/tokens/{token}/revoke", post(admin::revoke_token))
        .route("/agents", get(agents::agents))
        .route("/agents/registration-tokens", post(agents::create_registration_token))
        .route("/agents/pools/{name}", post(agents::set_pool))
        .route("/agents/pools/{name}/checks", post(checks::add_check::<checks::OnPool>))
        .route("/agents/pools/{name}/checks/{id}/delete", post(checks::delete_check::<checks::OnPool>))
        .route("/environments", get(environments::environments).post(environments::create_environment))
        .route("/environments/{name}", get(environments::environment))
        .route("/environments/{name}/update", post(environments::update_environment))
        .route("/environments/{name}/deployments/{id}/redeploy", post(environments::redeploy))
        .route("/environments/{name}/delete", post(environments::delete_environment))
        .route("/environments/{name}/checks", post(checks::add_check::<checks::OnEnvironment>))
        .route("/environments/{name}/checks/{id}/delete", post(checks::delete_check::<checks::OnEnvironment>))
        .route("/environments/{name}/services", post(services::create_service))
        .route("/environments/{name}/services/{service}/delete", post(services::delete_service))
        .route("/environments/{name}/services/{service}/slots", post(services::set_slot))
        .route("/environments/{name}/services/{service}/slots/{slot}/delete", post(services::delete_slot))
        .route("/environments/{name}/services/{service}/traffic", post(services::set_traffic))
        .route("/environments/{name}/services/{service}/swap", post(services::swap))
        .route("/environments/{name}/flags/{key}", post(flags::set_flag))
        .route("/analysis-runs/{id}/decision", post(services::decide_analysis))
        .route("/approvals", get(approvals::approvals))
        .route("/approvals/{id}", post(approvals::decide))
        .route("/assets/{file}", get(assets::asset))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(security_headers))
}

/// Whether the request asks for HTML (a browser's navigation does).
#[must_use]
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/html"))
}

/// The page for a path no route has, for a browser.
pub async fn not_found_page(uri: &Uri, viewer: Option<&Viewer>) -> Response {
    let error = UiError::not_found(format!("There is no page at {}.", uri.path()));
    security_headers(error.page(viewer)).await
}

/// What a UI path answers for a method it does not take (a form's address opened as a link).
async fn method_not_allowed(method: Method, uri: Uri, viewer: Option<Viewer>) -> Response {
    let message = format!("{} does not take {method} requests: use the page's links and buttons.", uri.path());
    UiError::new(StatusCode::METHOD_NOT_ALLOWED, message).page(viewer.as_ref())
}

/// Headers every UI response carries: no inline scripts or styles, no framing, no sniffing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What a page answers instead of itself: a status and a message, shown as a page.
#[derive(Debug)]
pub struct UiError {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, for the person reading.
    pub message: String,
}

impl UiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ServiceError> for UiError {
    fn from(error: ServiceError) -> Self {
        let status = match &error {
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match error {
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "a web UI request failed");
                "the server could not complete the request; its log has the details".to_owned()
            }
            other => other.to_string(),
        };
        Self { status, message }
    }
}

impl From<StoreError> for UiError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// A form that cannot be read (malformed, too large, the wrong content type): a 400 saying why.
impl From<axum::extract::rejection::FormRejection> for UiError {
    fn from(rejection: axum::extract::rejection::FormRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

/// A query string that cannot be read: a 400 saying why.
impl From<axum::extract::rejection::QueryRejection> for UiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

/// A path segment that cannot be read (an id that is not a number): a 400 saying why.
impl From<axum::extract::rejection::PathRejection> for UiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl UiError {
    /// The error as a page, with the navigation when someone is signed in.
    #[must_use]
    pub fn page(self, viewer: Option<&Viewer>) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = html! {
            section.error {
                h1 { (self.status.as_u16()) " " (title) }
                p.message { (self.message) }
                p { a href="/" { "Back to the pipelines" } }
            }
        };
        (self.status, page(title, viewer, &body)).into_response()
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        self.page(None)
    }
}

/// A whole page: the head, the navigation (for a signed-in viewer) and `body`.
pub fn page(title: &str, viewer: Option<&Viewer>, body: &Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Slipway" }
                link rel="stylesheet" href=(assets::css_url());
                script src=(assets::js_url()) defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Slipway" }
                    @if let Some(viewer) = viewer {
                        nav {
                            a href="/" { "Pipelines" }
                            a href="/environments" { "Environments" }
                            a href="/approvals" { "My approvals" }
                            a href="/work-items" { "Work items" }
                            a href="/insights" { "Insights" }
                            a href="/team" { "Team" }
                            a href="/notifications" { "Notifications" }
                            a href="/library" { "Library" }
                            a href="/agents" { "Agents" }
                            a href=(format!("/users/{}/tokens", viewer.user.id)) { "Tokens" }
                            @if viewer.user.role == slipway_store::UserRole::Admin {
                                a href="/admin/users" { "Users" }
                            }
                        }
                        form.signout method="post" action="/logout" {
                            span.who { (viewer.user.name) " · " (viewer.user.role) }
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

/// A hidden input with the viewer's CSRF token, for every form.
#[must_use]
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// The CSS class and the word for a run, job or step that may have a result.
#[must_use]
pub fn state_label(completed: bool, running: bool, result: Option<TaskResult>) -> (&'static str, &'static str) {
    if completed {
        match result {
            Some(TaskResult::Succeeded) => ("s-ok", "succeeded"),
            Some(TaskResult::SucceededWithIssues) => ("s-warn", "succeeded with issues"),
            Some(TaskResult::Failed) => ("s-fail", "failed"),
            Some(TaskResult::Canceled) => ("s-cancel", "canceled"),
            Some(TaskResult::Skipped) => ("s-skip", "skipped"),
            None => ("s-skip", "completed"),
        }
    } else if running {
        ("s-run", "running")
    } else {
        ("s-wait", "queued")
    }
}

/// The label of a run.
#[must_use]
pub fn run_label(status: RunStatus, result: Option<TaskResult>) -> (&'static str, &'static str) {
    state_label(status == RunStatus::Completed, status == RunStatus::Running, result)
}

/// The label of a job.
#[must_use]
pub fn job_label(status: JobStatus, result: Option<TaskResult>) -> (&'static str, &'static str) {
    match status {
        JobStatus::Pending => ("s-wait", "waiting"),
        JobStatus::Queued => ("s-wait", "queued"),
        JobStatus::Running => ("s-run", "running"),
        JobStatus::Completed => state_label(true, false, result),
    }
}

/// The label of a step.
#[must_use]
pub fn step_label(status: StepStatus, result: Option<TaskResult>) -> (&'static str, &'static str) {
    match status {
        StepStatus::Pending => ("s-wait", "pending"),
        StepStatus::Running => ("s-run", "running"),
        StepStatus::Completed => state_label(true, false, result),
    }
}

/// A badge for a label.
#[must_use]
pub fn badge((class, word): (&'static str, &'static str)) -> Markup {
    html! { span class=(format!("badge {class}")) { (word) } }
}

/// A duration for people: `850ms`, `12s`, `3m 05s`, `2h 03m`.
#[must_use]
pub fn format_duration(milliseconds: i64) -> String {
    let milliseconds = milliseconds.max(0);
    if milliseconds < 1000 {
        return format!("{milliseconds}ms");
    }
    let seconds = milliseconds / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// How long something ran: from `started` to `finished`, or to `now` while it runs.
#[must_use]
pub fn duration_between(started: Option<Timestamp>, finished: Option<Timestamp>, now: Timestamp) -> Option<String> {
    let started = started?;
    Some(format_duration(finished.unwrap_or(now).millis() - started.millis()))
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
#[must_use]
pub fn format_time(time: Timestamp) -> String {
    let seconds = time.millis().div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

/// `text` percent-encoded for a URL's path segment or query value: everything but ASCII letters,
/// digits and `-._~` is encoded.
#[must_use]
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A branch without `refs/heads/`.
#[must_use]
pub fn short_branch(branch: &str) -> &str {
    branch.strip_prefix("refs/heads/").unwrap_or(branch)
}

/// The first 8 characters of a commit.
#[must_use]
pub fn short_commit(commit: &str) -> &str {
    commit.get(..8).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(850), "850ms");
        assert_eq!(format_duration(12_300), "12s");
        assert_eq!(format_duration(185_000), "3m 05s");
        assert_eq!(format_duration(7_380_000), "2h 03m");
        assert_eq!(format_duration(-5), "0ms");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(format_time(Timestamp::from_millis(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(Timestamp::from_millis(1_709_210_096_000)), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(url_encode("Build.build"), "Build.build");
        assert_eq!(url_encode("a b/c?d&e=<f>"), "a%20b%2Fc%3Fd%26e%3D%3Cf%3E");
        assert_eq!(url_encode("é"), "%C3%A9");
    }

    #[test]
    fn branches_and_commits_are_shortened() {
        assert_eq!(short_branch("refs/heads/feature/x"), "feature/x");
        assert_eq!(short_branch("refs/tags/v1"), "refs/tags/v1");
        assert_eq!(short_commit("0123456789abcdef"), "01234567");
        assert_eq!(short_commit("abc"), "abc");
    }
}
