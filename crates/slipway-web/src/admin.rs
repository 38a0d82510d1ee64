//! Users and personal access tokens: admins create users, change roles and disable users (which
//! ends their sessions, those opened with a token and those of an OpenID Connect sign-in, and
//! stops their tokens until enabled again); every user manages their own tokens, and admins
//! anyone's. A new token is shown once, on the page that answers
//! the form that made it.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_store::{AccessTokenId, NewAuditEntry, User, UserId, UserRole};

use super::session::CsrfForm;
use super::{UiError, Viewer, csrf_field, format_time, page};
use slipway_service::AppState;

/// The longest token name.
const MAX_TOKEN_NAME: usize = 100;

/// The longest token lifetime a form may ask for, in days.
const MAX_TOKEN_DAYS: u32 = 3650;

const ROLES: [UserRole; 3] = [UserRole::Reader, UserRole::Contributor, UserRole::Admin];

fn parse_role(text: &str) -> Result<UserRole, UiError> {
    ROLES
        .into_iter()
        .find(|role| role.as_str() == text)
        .ok_or_else(|| UiError::bad_request(format!("'{text}' is not a role: use reader, contributor or admin.")))
}

async fn audit(state: &AppState, viewer: &Viewer, action: &str, target: String, details: serde_json::Value) {
    let entry =
        NewAuditEntry { actor: viewer.user.name.clone(), action: action.to_owned(), target: Some(target), details };
    if let Err(error) = state.store().record_audit(&entry).await {
        tracing::error!(%error, action, "an audit entry was not recorded");
    }
}

pub(super) fn shown_once(what: &str, secret: &str) -> Markup {
    html! {
        div.secret role="status" {
            p { strong { (what) } " Copy it now: it is shown this once and stored only as a hash." }
            code #new-token { (secret) }
        }
    }
}

fn users_page(viewer: &Viewer, users: &[User], created: Option<(&User, &str)>) -> Markup {
    html! {
        h1 { "Users" }
        @if let Some((user, secret)) = created {
            (shown_once(&format!("User '{}' was created with a personal access token.", user.name), secret))
        }
        table.list {
            thead { tr { th { "User" } th { "Role" } th { "Signs in with" } th { "Created" } th { "Tokens" } th { "State" } } }
            tbody {
                @for user in users {
                    tr {
                        td { (user.name) }
                        td {
                            @if user.id == viewer.user.id {
                                (user.role) span.muted { " (you)" }
                            } @else {
                                form.inline method="post" action=(format!("/admin/users/{}/role", user.id)) {
                                    (csrf_field(viewer))
                                    select name="role" aria-label=(format!("Role of {}", user.name)) {
                                        @for role in ROLES {
                                            option value=(role.as_str()) selected[role == user.role] { (role.as_str()) }
                                        }
                                    }
                                    button type="submit" { "Change" }
                                }
                            }
                        }
                        td {
                            @match &user.external {
                                Some(identity) => { "SSO " span.muted title=(format!("subject {}", identity.subject)) { (identity.issuer) } }
                                None => { "tokens" }
                            }
                        }
                        td { (format_time(user.created_at)) }
                        td { a href=(format!("/users/{}/tokens", user.id)) { "Tokens" } }
                        td {
                            @if user.disabled_at.is_some() { span.state.disabled { "disabled" } " " }
                            @if user.id != viewer.user.id {
                                form.inline method="post" action=(format!("/admin/users/{}/disabled", user.id)) {
                                    (csrf_field(viewer))
                                    input type="hidden" name="disabled" value=(if user.disabled_at.is_some() { "false" } else { "true" });
                                    button type="submit" aria-label=(format!("{} {}", if user.disabled_at.is_some() { "Enable" } else { "Disable" }, user.name)) {
                                        @if user.disabled_at.is_some() { "Enable" } @else { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { "New user" }
            form.grid method="post" action="/admin/users" {
                (csrf_field(viewer))
                label { "Name" input type="text" name="name" required pattern="[A-Za-z0-9._\\-]{1,100}"; }
                label { "Role"
                    select name="role" {
                        @for role in ROLES { option value=(role.as_str()) selected[role == UserRole::Contributor] { (role.as_str()) } }
                    }
                }
                button type="submit" { "Create user" }
            }
        }
    }
}

/// `GET /admin/users` (admin).
pub(crate) async fn users(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    viewer.require(UserRole::Admin)?;
    let users = state.store().list_users().await?;
    Ok(page("Users", Some(&viewer), &users_page(&viewer, &users, None)).into_response())
}

/// The "New user" form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users` (admin): creates a user with a first token, shown once.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewUserForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let name = form.name.trim();
    slipway_service::check_name(name)?;
    let role = parse_role(&form.role)?;
    let store = state.store();
    let user = store.create_user(name, role).await?;
    let token = store.create_access_token(user.id, "first token", None).await?;
    audit(&state, &viewer, "user.create", user.name.clone(), serde_json::json!({ "role": role })).await;
    let users = store.list_users().await?;
    let body = users_page(&viewer, &users, Some((&user, &token.secret)));
    Ok((StatusCode::CREATED, page("Users", Some(&viewer), &body)).into_response())
}

/// The role form.
#[derive(Debug, Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users/{id}/role` (admin): changes a user's role (not one's own, so that the last
/// admin cannot lock everyone out by mistake).
pub(crate) async fn change_role(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(id) = id.map_err(|_| UiError::bad_request("a user's id is a number"))?;
    let role = parse_role(&form.role)?;
    if UserId(id) == viewer.user.id {
        return Err(UiError::new(StatusCode::CONFLICT, "You cannot change your own role; ask another admin."));
    }
    let user = state.store().set_user_role(UserId(id), role).await?;
    audit(&state, &viewer, "user.role", user.name.clone(), serde_json::json!({ "role": role })).await;
    Ok(Redirect::to("/admin/users").into_response())
}

/// The disable form.
#[derive(Debug, Deserialize)]
pub(crate) struct DisabledForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    disabled: String,
}

/// `POST /admin/users/{id}/disabled` (admin): disables a user (ending their sessions and stopping
/// their tokens) or enables them again; not oneself.
pub(crate) async fn set_disabled(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<DisabledForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(id) = id.map_err(|_| UiError::bad_request("a user's id is a number"))?;
    let disabled = match form.disabled.as_str() {
        "true" => true,
        "false" => false,
        other => return Err(UiError::bad_request(format!("'{other}' is not true or false."))),
    };
    if UserId(id) == viewer.user.id {
        return Err(UiError::new(StatusCode::CONFLICT, "You cannot disable yourself; ask another admin."));
    }
    let user = match state.store().set_user_disabled(UserId(id), disabled).await {
        Ok(user) => user,
        Err(error) if error.is_not_found() => return Err(UiError::not_found(format!("There is no user {id}."))),
        Err(error) => return Err(error.into()),
    };
    let action = if disabled { "user.disable" } else { "user.enable" };
    audit(&state, &viewer, action, user.name.clone(), serde_json::json!({})).await;
    Ok(Redirect::to("/admin/users").into_response())
}

/// The user whose tokens a page is about, when the viewer may see them (themselves, or any
/// user for an admin).
async fn token_owner(state: &AppState, viewer: &Viewer, id: Result<Path<i64>, PathRejection>) -> Result<User, UiError> {
    let Path(id) = id.map_err(|_| UiError::bad_request("a user's id is a number"))?;
    if UserId(id) == viewer.user.id {
        return Ok(viewer.user.clone());
    }
    viewer.require(UserRole::Admin)?;
    match state.store().user(UserId(id)).await {
        Ok(user) => Ok(user),
        Err(error) if error.is_not_found() => Err(UiError::not_found(format!("There is no user {id}."))),
        Err(error) => Err(error.into()),
    }
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    owner: &User,
    created: Option<&str>,
) -> Result<Markup, UiError> {
    let tokens = state.store().list_access_tokens(owner.id).await?;
    let now = state.store().now();
    Ok(html! {
        h1 { "Tokens of " (owner.name) }
        @if let Some(secret) = created { (shown_once("A new token was created.", secret)) }
        @if tokens.is_empty() {
            p.empty { "No tokens." }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Starts with" } th { "Created" } th { "Last used" } th { "Expires" } th { "" } } }
                tbody {
                    @for token in &tokens {
                        @let active = token.revoked_at.is_none() && token.expires_at.is_none_or(|expires| expires > now);
                        tr class=(if active { "" } else { "inactive" }) {
                            td { (token.name) }
                            td { code { (token.prefix) "…" } }
                            td { (format_time(token.created_at)) }
                            td { (token.last_used_at.map(format_time).unwrap_or_else(|| "never".to_owned())) }
                            td { (token.expires_at.map(format_time).unwrap_or_else(|| "never".to_owned())) }
                            td {
                                @if let Some(revoked) = token.revoked_at {
                                    "revoked " (format_time(revoked))
                                } @else {
                                    form.inline method="post" action=(format!("/users/{}/tokens/{}/revoke", owner.id, token.id)) {
                                        (csrf_field(viewer))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { "New token" }
            form.grid method="post" action=(format!("/users/{}/tokens", owner.id)) {
                (csrf_field(viewer))
                label { "Name" input type="text" name="name" required maxlength=(MAX_TOKEN_NAME); }
                label { "Expires after (days; empty: never)" input type="number" name="days" min="1" max=(MAX_TOKEN_DAYS); }
                button type="submit" { "Create token" }
            }
        }
    })
}

/// `GET /users/{id}/tokens` (the user, or an admin).
pub(crate) async fn tokens(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, UiError> {
    let owner = token_owner(&state, &viewer, id).await?;
    let body = tokens_page(&state, &viewer, &owner, None).await?;
    Ok(page("Tokens", Some(&viewer), &body).into_response())
}

/// The "New token" form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    days: String,
}

/// `POST /users/{id}/tokens` (the user, or an admin): a new token, shown once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<NewTokenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let owner = token_owner(&state, &viewer, id).await?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME || name.chars().any(char::is_control) {
        return Err(UiError::bad_request(format!("A token's name has 1 to {MAX_TOKEN_NAME} characters.")));
    }
    let expires_at = match form.days.trim() {
        "" => None,
        text => {
            let days: u32 =
                text.parse().ok().filter(|days| (1..=MAX_TOKEN_DAYS).contains(days)).ok_or_else(|| {
                    UiError::bad_request(format!("Expiry is 1 to {MAX_TOKEN_DAYS} days, not '{text}'."))
                })?;
            Some(state.store().now().plus(std::time::Duration::from_secs(u64::from(days) * 86_400)))
        }
    };
    let token = state.store().create_access_token(owner.id, name, expires_at).await?;
    audit(&state, &viewer, "token.create", owner.name.clone(), serde_json::json!({ "name": name })).await;
    let body = tokens_page(&state, &viewer, &owner, Some(&token.secret)).await?;
    Ok((StatusCode::CREATED, page("Tokens", Some(&viewer), &body)).into_response())
}

/// `POST /users/{id}/tokens/{token}/revoke` (the user, or an admin).
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    ids: Result<Path<(i64, i64)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((user, token)) = ids.map_err(|_| UiError::bad_request("user and token ids are numbers"))?;
    let owner = token_owner(&state, &viewer, Ok(Path(user))).await?;
    let tokens = state.store().list_access_tokens(owner.id).await?;
    let Some(found) = tokens.iter().find(|found| found.id == AccessTokenId(token)) else {
        return Err(UiError::not_found(format!("{} has no token {token}.", owner.name)));
    };
    state.store().revoke_access_token(found.id).await?;
    audit(&state, &viewer, "token.revoke", owner.name.clone(), serde_json::json!({ "name": found.name })).await;
    Ok(Redirect::to(&format!("/users/{}/tokens", owner.id)).into_response())
}
