//! Sign-in with OpenID Connect (`slipway serve --oidc-issuer ...`; see docs/oidc.md).
//!
//! `GET /auth/oidc/start` begins a sign-in: the server keeps its `state`, `nonce` and PKCE
//! verifier (see `slipway_service::sso`) under a random id that the browser gets in the
//! `slipway_oidc` cookie (`HttpOnly; SameSite=Lax`, ten minutes; `Lax` so that it comes back
//! with the provider's redirect), and sends the browser to the provider. `GET
//! /auth/oidc/callback` is where the provider sends it back: the attempt must be known, fresh and
//! of this browser, the `state` must match, the code is exchanged with the verifier and the ID
//! token checked (signature, issuer, audience, expiry, nonce); the claims must give a role. Then
//! the person's Slipway user (keyed by issuer and subject) gets a session of its own, which ends
//! when it expires, at sign-out, or when the user is disabled or deleted. Each refusal is a page
//! that says what happened and how to go on, and is recorded in the audit log.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use slipway_service::AppState;
use slipway_service::sso::{ATTEMPT_LIFETIME, AttemptLookup, SignInRefused};

use super::page;
use super::session::{SESSION_COOKIE, SESSION_LIFETIME, cookie, safe_next, secure, set_cookie};

/// The cookie that names a sign-in in progress.
pub(crate) const ATTEMPT_COOKIE: &str = "slipway_oidc";

/// A page that says why a sign-in with the provider did not work, with a way on.
fn refused(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        section.error.sso-refused {
            h1 { (title) }
            p.message role="alert" { (message) }
            p { a href="/login" { "Back to sign-in" } }
        }
    };
    (status, page(title, None, &body)).into_response()
}

/// The answer when the server offers no sign-in with OpenID Connect.
fn not_configured() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "Single sign-on is not set up",
        "This server does not offer sign-in with OpenID Connect (it was started without --oidc-issuer). Sign in \
         with a personal access token instead.",
    )
}

/// The query of `GET /auth/oidc/start`.
#[derive(Debug, Deserialize)]
pub(crate) struct StartQuery {
    next: Option<String>,
}

/// `GET /auth/oidc/start`: keeps the sign-in's secrets and sends the browser to the provider.
pub(crate) async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(sso) = state.sso() else { return not_configured() };
    let next = query.ok().and_then(|Query(query)| query.next);
    let next = safe_next(next.as_deref()).to_owned();
    let (id, url) = match sso.begin(&next) {
        Ok(begun) => begun,
        Err(error) => {
            tracing::error!(%error, "a sign-in with OpenID Connect could not begin");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in could not begin",
                "The server could not begin the sign-in; its log has the details.",
            );
        }
    };
    let mut response = Redirect::to(&url).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(ATTEMPT_COOKIE, &id, ATTEMPT_LIFETIME, secure(&state, &headers)));
    response
}

/// The query the provider sends the browser back with.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/callback`: checks the provider's answer and signs the person in.
pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(sso) = state.sso() else { return not_configured() };
    let secure = secure(&state, &headers);
    let mut response = callback_page(&state, &sso, &headers, query.map(|Query(query)| query).unwrap_or_default()).await;
    // The attempt is used up whatever happened.
    response.headers_mut().append(header::SET_COOKIE, set_cookie(ATTEMPT_COOKIE, "", Duration::ZERO, secure));
    response
}

async fn callback_page(
    state: &AppState,
    sso: &std::sync::Arc<slipway_service::sso::Sso>,
    headers: &HeaderMap,
    query: CallbackQuery,
) -> Response {
    let issuer = sso.issuer().to_owned();
    let refuse = |status: StatusCode, title: &'static str, reason: &'static str, message: String| {
        let state = state.clone();
        let issuer = issuer.clone();
        async move {
            slipway_service::sso::record_refusal(&state, &issuer, reason).await;
            refused(status, title, &message)
        }
    };
    let lookup = match cookie(headers, ATTEMPT_COOKIE) {
        Some(id) => sso.take_attempt(id),
        None => AttemptLookup::Unknown,
    };
    let attempt = match lookup {
        AttemptLookup::Found(attempt) => attempt,
        AttemptLookup::Expired => {
            let message = format!(
                "This sign-in took longer than {} minutes, so it was given up. Start again from the sign-in page.",
                ATTEMPT_LIFETIME.as_secs() / 60
            );
            return refuse(StatusCode::BAD_REQUEST, "Sign-in expired", "expired attempt", message).await;
        }
        AttemptLookup::Unknown => {
            let message = "This sign-in is not known to this browser: it was begun in another browser or tab, \
                           used already, or the server restarted meanwhile. Start again from the sign-in page."
                .to_owned();
            return refuse(StatusCode::BAD_REQUEST, "Sign-in not recognised", "unknown attempt", message).await;
        }
    };
    let state_matches = query.state.as_deref().is_some_and(|given| super::session::tokens_match(&attempt.state, given));
    if !state_matches {
        let message = "The provider's answer does not belong to the sign-in this browser began (its state does not \
                       match), so it was refused. Start again from the sign-in page."
            .to_owned();
        return refuse(StatusCode::BAD_REQUEST, "Sign-in refused", "wrong state", message).await;
    }
    if let Some(error) = query.error {
        let description = query.error_description.map(|text| format!(" ({text})")).unwrap_or_default();
        let (title, reason, message) = if error == "access_denied" {
            (
                "Sign-in cancelled",
                "denied consent",
                format!(
                    "The provider says access was denied{description}: the sign-in was cancelled or Slipway was not \
                     given consent. Sign in again and allow Slipway, or ask your administrator."
                ),
            )
        } else {
            (
                "Sign-in failed",
                "provider error",
                format!(
                    "The provider answered with the error '{error}'{description}. Try again, or ask your administrator."
                ),
            )
        };
        return refuse(StatusCode::FORBIDDEN, title, reason, message).await;
    }
    let Some(code) = query.code.filter(|code| !code.is_empty()) else {
        let message =
            "The provider sent the browser back without a code. Start again from the sign-in page.".to_owned();
        return refuse(StatusCode::BAD_REQUEST, "Sign-in failed", "no code", message).await;
    };
    let worker = std::sync::Arc::clone(sso);
    let finished = tokio::task::spawn_blocking(move || worker.finish(&attempt, &code).map(|token| (token, attempt)))
        .await
        .map_err(|error| error.to_string());
    let (token, attempt) = match finished {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            tracing::warn!(%error, "a sign-in with OpenID Connect was refused");
            let message = format!("The sign-in could not be completed: {error}.");
            return refuse(StatusCode::BAD_GATEWAY, "Sign-in failed", "token refused", message).await;
        }
        Err(error) => {
            tracing::error!(%error, "a sign-in with OpenID Connect failed");
            let message = "The server could not complete the sign-in; its log has the details.".to_owned();
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "internal error", message).await;
        }
    };
    let user = match slipway_service::sso::sign_in(state, sso, &token).await {
        Ok(user) => user,
        Err(SignInRefused::Store(error)) => {
            tracing::error!(%error, "a sign-in with OpenID Connect failed");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The server could not complete the sign-in; its log has the details.",
            );
        }
        Err(refusal @ SignInRefused::NoRole { .. }) => {
            return refused(
                StatusCode::FORBIDDEN,
                "No Slipway role",
                &format!("You are signed in at the provider as '{}', but {refusal}.", token.name),
            );
        }
        Err(refusal) => return refused(StatusCode::FORBIDDEN, "Sign-in refused", &format!("{refusal}.")),
    };
    if let Err(error) = state.store().delete_expired_sessions().await {
        tracing::warn!(%error, "ended sessions could not be deleted");
    }
    let session = match state.store().create_user_session(user.id, SESSION_LIFETIME).await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "a session could not be opened");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The server could not open a session; its log has the details.",
            );
        }
    };
    let mut response = Redirect::to(safe_next(Some(&attempt.next))).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session.secret, SESSION_LIFETIME, secure(state, headers)),
    );
    response
}
