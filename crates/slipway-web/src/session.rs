//! Sign-in, sessions and CSRF protection.
//!
//! A person signs in with their user name and one of their personal access tokens (or, when the
//! server offers it, with OpenID Connect: see [`crate::sso`]); the server then keeps a session in
//! the store and gives the browser its secret in the `slipway_session` cookie (`HttpOnly; SameSite=Lax; Path=/`, and `Secure` when the request came over https or
//! the server was started with `--secure-cookies`).
//!
//! Every form post carries a CSRF token in a hidden `csrf` field: a hash of the session's secret
//! under a label of its own, so it is fixed for the session, unknown to other sites, and not the
//! hash the store keeps. The sign-in form, which has no session yet, uses a random value kept in
//! the short-lived `slipway_login` cookie instead (double submit). A post whose token does not
//! match is refused with 403. The API accepts the session cookie too (for the UI's links and
//! scripts): for reading, and for changes only with the `X-CSRF-Token` header.

use std::time::Duration;

use axum::Form;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use slipway_store::{User, UserRole};

use super::{UiError, page};
use slipway_service::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "slipway_session";

/// The cookie that carries the sign-in form's CSRF value.
pub(crate) const LOGIN_COOKIE: &str = "slipway_login";

/// The header that state-changing API calls authenticated by the session cookie must carry.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// How long a session lasts.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The value of cookie `name` in the request's `Cookie` headers.
#[must_use]
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The CSRF token of the session whose secret is `session_secret`.
#[must_use]
pub(crate) fn csrf_token(session_secret: &str) -> String {
    let digest = Sha256::new().chain_update(b"slipway csrf token\0").chain_update(session_secret.as_bytes()).finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `given` equals `expected`, compared in time that does not depend on where they differ.
#[must_use]
pub(crate) fn tokens_match(expected: &str, given: &str) -> bool {
    let (expected, given) = (expected.as_bytes(), given.as_bytes());
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected.iter().zip(given).fold(0_u8, |difference, (left, right)| difference | (left ^ right)) == 0
}

/// The answer to a form post whose CSRF token is missing or wrong.
#[must_use]
pub(crate) fn csrf_rejected() -> UiError {
    UiError::new(
        StatusCode::FORBIDDEN,
        "The form could not be accepted: its security token (CSRF) is missing or does not match your \
         session. Reload the page and send it again.",
    )
}

/// Whether cookies are to be marked `Secure`: the server says so, or the request came over https
/// (as a reverse proxy in front of the server reports it).
pub(crate) fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.secure_cookies()
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.as_secs());
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// The signed-in person of a page request. Extracting it redirects to `/login` when there is no
/// valid session.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The user.
    pub user: User,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    session: String,
}

impl Viewer {
    /// Checks that the viewer has at least `role`.
    ///
    /// # Errors
    /// A 403 when the role is lower.
    pub fn require(&self, role: UserRole) -> Result<(), UiError> {
        let rank = |role: UserRole| match role {
            UserRole::Reader => 0,
            UserRole::Contributor => 1,
            UserRole::Admin => 2,
        };
        if rank(self.user.role) >= rank(role) {
            Ok(())
        } else {
            Err(UiError::new(
                StatusCode::FORBIDDEN,
                format!("This needs the {role} role; you ({}) are a {}.", self.user.name, self.user.role),
            ))
        }
    }

    /// The viewer as the API's caller, for the operations the API and the UI share (which check
    /// roles themselves).
    #[must_use]
    pub fn caller(&self) -> slipway_service::Caller {
        slipway_service::Caller { user: self.user.clone() }
    }

    /// Checks a form's CSRF token.
    ///
    /// # Errors
    /// A 403 when it does not match the session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), UiError> {
        if tokens_match(&self.csrf, given) { Ok(()) } else { Err(csrf_rejected()) }
    }

    /// A viewer for the tests of pages, with `csrf` as its token.
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str, role: UserRole) -> Self {
        let user = User {
            id: slipway_store::UserId(1),
            name: name.to_owned(),
            role,
            created_at: slipway_store::Timestamp::from_millis(0),
            external: None,
            disabled_at: None,
        };
        Self { user, csrf: "csrf".to_owned(), session: String::new() }
    }

    async fn from_parts(parts: &Parts, state: &AppState) -> Result<Option<Self>, UiError> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(None) };
        Ok(state.store().session(secret).await?.map(|(user, _)| Self {
            user,
            csrf: csrf_token(secret),
            session: secret.to_owned(),
        }))
    }
}

/// Where to send a person who must sign in first, coming back to `uri` afterwards.
fn to_login(parts: &Parts) -> Response {
    let next = parts.uri.path_and_query().map_or("/", axum::http::uri::PathAndQuery::as_str);
    Redirect::to(&format!("/login?next={}", super::url_encode(next))).into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Self::from_parts(parts, state).await {
            Ok(Some(viewer)) => Ok(viewer),
            Ok(None) => Err(to_login(parts)),
            Err(error) => Err(error.into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Self::from_parts(parts, state).await.map_err(IntoResponse::into_response)
    }
}

/// A local path to go back to after signing in; anything else (another site) becomes `/`.
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => next,
        _ => "/",
    }
}

/// The query of `GET /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

fn login_form(next: &str, csrf: &str, user: &str, problem: Option<&str>, sso: bool) -> maud::Markup {
    html! {
        section.login {
            h1 { "Sign in to Slipway" }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            @if sso {
                p.sso {
                    a.button #sso-sign-in href=(format!("/auth/oidc/start?next={}", super::url_encode(next))) { "Sign in with SSO" }
                }
                p.hint { "Or with a personal access token:" }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label { "User name" input type="text" name="user" value=(user) autocomplete="username" required autofocus; }
                label { "Personal access token" input type="password" name="token" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
            p.hint { "Use one of your personal access tokens (" code { "slw_…" } "). On first start the server printed the admin's token and wrote it to " code { "admin-token" } " in its data directory." }
        }
    }
}

/// `GET /login`.
pub(crate) async fn login_page(
    State(state): State<AppState>,
    viewer: Option<Viewer>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, UiError> {
    let next = query.ok().and_then(|Query(query)| query.next);
    let next = safe_next(next.as_deref()).to_owned();
    if viewer.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let value = match cookie(&headers, LOGIN_COOKIE) {
        Some(value) if value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit()) => value.to_owned(),
        _ => slipway_engine::random_hex(32)
            .map_err(|error| UiError::from(slipway_service::ServiceError::Internal(error)))?,
    };
    let body = login_form(&next, &value, "", None, state.sso().is_some());
    let mut response = page("Sign in", None, &body).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &value, Duration::from_secs(3600), secure(&state, &headers)),
    );
    Ok(response)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    token: String,
}

/// `POST /login`: checks the form's CSRF value, the user and the token, then starts a session.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(expected, &form.csrf) {
        return Err(csrf_rejected());
    }
    let next = safe_next(Some(&form.next)).to_owned();
    let token = match state.store().authenticate_token(form.token.trim()).await? {
        Some((user, token)) if user.name == form.user.trim() => token,
        _ => {
            let problem = Some("The user name and token do not match a user.");
            let body = login_form(&next, &form.csrf, &form.user, problem, state.sso().is_some());
            return Ok((StatusCode::UNAUTHORIZED, page("Sign in", None, &body)).into_response());
        }
    };
    // Sign-ins are rare enough to tidy up ended sessions on the way.
    if let Err(error) = state.store().delete_expired_sessions().await {
        tracing::warn!(%error, "ended sessions could not be deleted");
    }
    // The session belongs to the token: revoking or deleting it (or its user) ends the session.
    let session = state.store().create_session(token.id, SESSION_LIFETIME).await?;
    let secure = secure(&state, &headers);
    let mut response = Redirect::to(&next).into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &session.secret, SESSION_LIFETIME, secure));
    cookies.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", Duration::ZERO, secure));
    Ok(response)
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    /// The CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`: ends the session.
pub(crate) async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    state.store().delete_session(&viewer.session).await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Duration::ZERO, secure(&state, &headers)));
    Ok(response)
}

/// For the API's [`slipway_service::Caller`]: the user of the session cookie, when the request has
/// one; a state-changing request (not `GET` or `HEAD`) must also carry the session's CSRF token
/// in the `X-CSRF-Token` header.
///
/// # Errors
/// `Err` with the reason when the cookie is there but not good enough.
pub async fn cookie_caller(parts: &Parts, state: &AppState) -> Result<Option<User>, slipway_service::ServiceError> {
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(None) };
    let Some((user, _)) = state.store().session(secret).await? else {
        return Err(slipway_service::ServiceError::Unauthorized("the session has ended: sign in again".into()));
    };
    let safe = parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
    if !safe {
        let given = parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
        if !tokens_match(&csrf_token(secret), given) {
            return Err(slipway_service::ServiceError::Forbidden(
                "a request authenticated by the session cookie must carry the session's X-CSRF-Token header".into(),
            ));
        }
    }
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; slipway_session=abc ; b=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("slipway_login=xyz"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn csrf_tokens_are_tied_to_the_session() {
        let token = csrf_token("secret-one");
        assert_eq!(token.len(), 64);
        assert_eq!(token, csrf_token("secret-one"));
        assert_ne!(token, csrf_token("secret-two"));
        assert!(tokens_match(&token, &csrf_token("secret-one")));
        assert!(!tokens_match(&token, &csrf_token("secret-two")));
        assert!(!tokens_match(&token, ""));
        assert!(!tokens_match("", ""));
        assert!(!tokens_match(&token, &token[..63]));
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/runs/5?job=a")), "/runs/5?job=a");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn session_cookies_are_http_only_and_lax() {
        let plain = set_cookie(SESSION_COOKIE, "abc", SESSION_LIFETIME, false);
        assert_eq!(plain.to_str().ok(), Some("slipway_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800"));
        let secure = set_cookie(SESSION_COOKIE, "abc", Duration::ZERO, true);
        assert!(secure.to_str().is_ok_and(|text| text.ends_with("Max-Age=0; Secure")));
    }
}
