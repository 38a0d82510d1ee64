//! Variables in the web UI: a pipeline's variables (`/pipelines/{name}/variables`) and the
//! Library's variable groups (`/library`, `/library/{group}`); a group's page also shows the
//! checks on the group, which admins add and delete there (see [`super::checks`]).
//!
//! Every change goes through the functions the API uses ([`slipway_service::variables`]), with the
//! signed-in user as the caller, so names, roles (readers see, contributors change variables,
//! admins create and delete groups) and the audit log are the same. A secret's value never
//! reaches a page: lists say "secret", and the form that changes a secret starts empty.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_store::UserRole;

use super::checks::{CheckForm, action_base, checks_section};
use super::{UiError, Viewer, csrf_field, page, url_encode};
use slipway_api::{CreateGroup, SetVariable, Variable as ShownVariable};
use slipway_service::AppState;
use slipway_service::environments::{self, ResourceRef};
use slipway_service::variables;

/// The table of `variables`, with forms to change and delete each for a contributor; `action`
/// is where the forms post (`.../variables`, and `.../variables/{var}/delete`).
fn variables_table(viewer: &Viewer, variables: &[ShownVariable], action: &str) -> Markup {
    let editor = viewer.user.role != UserRole::Reader;
    html! {
        @if variables.is_empty() {
            p.empty { "No variables." }
        } @else {
            table.list.variables {
                thead { tr { th { "Name" } th { "Value" } @if editor { th { "Change" } th { "" } } } }
                tbody {
                    @for variable in variables {
                        tr {
                            td { code { (variable.name) } }
                            td {
                                @match (&variable.value, variable.secret) {
                                    (_, true) => span.badge.s-secret { "secret" },
                                    (Some(value), false) => code.value { (value) },
                                    (None, false) => "",
                                }
                            }
                            @if editor {
                                td {
                                    form.inline method="post" action=(action) {
                                        (csrf_field(viewer))
                                        input type="hidden" name="name" value=(variable.name);
                                        @if variable.secret {
                                            input type="password" name="value" autocomplete="off" placeholder="new secret value"
                                                aria-label=(format!("New value of {}", variable.name));
                                        } @else {
                                            input type="text" name="value" autocomplete="off" value=(variable.value.as_deref().unwrap_or_default())
                                                aria-label=(format!("Value of {}", variable.name));
                                        }
                                        label.check { input type="checkbox" name="secret" value="true" checked[variable.secret]; " secret" }
                                        button type="submit" { "Save" }
                                    }
                                }
                                td {
                                    form.inline method="post" action=(format!("{action}/{}/delete", url_encode(&variable.name))) {
                                        (csrf_field(viewer))
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if editor {
            section.panel {
                h2 { "Add or change a variable" }
                form.grid method="post" action=(action) {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="name" required maxlength="100" pattern="[A-Za-z0-9._]{1,100}" autocomplete="off"; }
                    label { "Value" input type="text" name="value" autocomplete="off"; }
                    div.check { label { input type="checkbox" name="secret" value="true"; " Secret: encrypted, never shown again, masked in logs" } }
                    button.primary type="submit" { "Save variable" }
                }
            }
        }
    }
}

/// The form that sets a variable.
#[derive(Debug, Deserialize)]
pub(crate) struct VariableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    secret: String,
}

impl VariableForm {
    fn body(self) -> (String, SetVariable) {
        (self.name.trim().to_owned(), SetVariable { value: self.value, secret: self.secret == "true" })
    }
}

// ----- a pipeline's variables -----

/// `GET /pipelines/{name}/variables` (reader).
pub(crate) async fn pipeline_variables(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(name) = name?;
    let (pipeline, variables) = variables::pipeline_variables(&state, &viewer.caller(), &name).await?;
    let encoded = url_encode(&pipeline.name);
    let body = html! {
        h1 { a href=(format!("/pipelines/{encoded}")) { (pipeline.name) } " · variables" }
        p.meta {
            "The pipeline's own variables, given to every run. A variable of the same name in the YAML overrides one set here; "
            "runs may be queued with other values for those that are not secret. Secret values are encrypted, never shown, "
            "and masked in logs. As in Azure, a secret is not put in a step's environment by itself: a step reads it as "
            code { "$(name)" } " in its script or inputs, or as an environment variable it maps with " code { "env:" } ". Variables shared by pipelines are in the "
            a href="/library" { "Library" } "."
        }
        (variables_table(&viewer, &variables, &format!("/pipelines/{encoded}/variables")))
    };
    Ok(page(&format!("Variables of {}", pipeline.name), Some(&viewer), &body).into_response())
}

/// `POST /pipelines/{name}/variables` (contributor): sets a variable.
pub(crate) async fn set_pipeline_variable(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<VariableForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name?;
    let (variable, body) = form.body();
    variables::set_pipeline_variable(&state, &viewer.caller(), &name, &variable, body).await?;
    Ok(Redirect::to(&format!("/pipelines/{}/variables", url_encode(&name))).into_response())
}

/// `POST /pipelines/{name}/variables/{var}/delete` (contributor).
pub(crate) async fn delete_pipeline_variable(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<super::session::CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, variable)) = path?;
    variables::delete_pipeline_variable(&state, &viewer.caller(), &name, &variable).await?;
    Ok(Redirect::to(&format!("/pipelines/{}/variables", url_encode(&name))).into_response())
}

// ----- the Library: variable groups -----

/// `GET /library` (reader): the variable groups.
pub(crate) async fn library(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let groups = variables::variable_groups(&state, &viewer.caller()).await?;
    let body = html! {
        h1 { "Library" }
        p.meta {
            "Variable groups: variables shared by pipelines. A pipeline uses a group by naming it in a "
            code { "variables:" } " list (" code { "- group: NAME" } "); a run of a pipeline that names a group that does not exist fails, saying so."
        }
        @if groups.is_empty() {
            p.empty { "No variable groups." }
        } @else {
            table.list.groups {
                thead { tr { th { "Group" } th { "Description" } th { "Variables" } } }
                tbody {
                    @for group in &groups {
                        @let secrets = group.variables.iter().filter(|variable| variable.secret).count();
                        tr {
                            td { a href=(format!("/library/{}", url_encode(&group.name))) { (group.name) } }
                            td { (group.description) }
                            td {
                                (group.variables.len())
                                @if secrets > 0 { span.muted { " (" (secrets) " secret)" } }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.user.role == UserRole::Admin {
            section.panel {
                h2 { "New variable group" }
                form.grid method="post" action="/library" {
                    (csrf_field(&viewer))
                    label { "Name" input type="text" name="name" required maxlength="100" pattern="[A-Za-z0-9._\\- ]{1,100}"; }
                    label { "Description" textarea name="description" rows="2" maxlength="1000" {} }
                    button.primary type="submit" { "Create group" }
                }
            }
        }
    };
    Ok(page("Library", Some(&viewer), &body).into_response())
}

/// The "New variable group" form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewGroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// `POST /library` (admin): creates a variable group.
pub(crate) async fn create_group(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewGroupForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let body = CreateGroup { name: form.name.trim().to_owned(), description: form.description.trim().to_owned() };
    let group = variables::create_variable_group(&state, &viewer.caller(), body).await?;
    Ok(Redirect::to(&format!("/library/{}", url_encode(&group.name))).into_response())
}

/// A group's page: its variables, the checks on it, and for admins the forms that add checks and
/// delete the group; `form` is what a refused form to add a check held.
async fn group_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    form: Option<&CheckForm>,
) -> Result<(String, Markup), UiError> {
    let caller = viewer.caller();
    let group = variables::variable_group(state, &caller, name).await?;
    let resource = ResourceRef::VariableGroup(&group.name);
    let checks = environments::checks(state, &caller, resource).await?;
    let encoded = url_encode(&group.name);
    let body = html! {
        h1 { a href="/library" { "Library" } " · " (group.name) }
        @if !group.description.is_empty() { p.description { (group.description) } }
        p.meta { "Pipelines use these variables with " code { "- group: " (group.name) } " in a " code { "variables:" } " list." }
        (variables_table(viewer, &group.variables, &format!("/library/{encoded}/variables")))
        (checks_section(viewer, &action_base(resource), resource, &checks, form))
        @if viewer.user.role == UserRole::Admin {
            section.panel.danger-zone {
                h2 { "Delete this group" }
                p.muted { "Runs of pipelines that name it will fail until a group of that name exists again." }
                form.inline method="post" action=(format!("/library/{encoded}/delete")) {
                    (csrf_field(viewer))
                    label { "Type the group's name to confirm" input type="text" name="confirm" required autocomplete="off"; }
                    button.danger type="submit" { "Delete group" }
                }
            }
        }
    };
    Ok((group.name, body))
}

/// `GET /library/{group}` (reader): a group's variables and the checks on it.
pub(crate) async fn group(
    State(state): State<AppState>,
    viewer: Viewer,
    group: Result<Path<String>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(group) = group?;
    let (title, body) = group_page(&state, &viewer, &group, None).await?;
    Ok(page(&title, Some(&viewer), &body).into_response())
}

/// The group's page again, with a refused form to add a check (its words and what it held),
/// answered with the refusal's status.
pub(crate) async fn refused_group_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    status: StatusCode,
    form: &CheckForm,
) -> Result<Response, UiError> {
    let (title, body) = group_page(state, viewer, name, Some(form)).await?;
    Ok((status, page(&title, Some(viewer), &body)).into_response())
}

/// `POST /library/{group}/variables` (contributor): sets a variable of the group.
pub(crate) async fn set_group_variable(
    State(state): State<AppState>,
    viewer: Viewer,
    group: Result<Path<String>, PathRejection>,
    form: Result<Form<VariableForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(group) = group?;
    let (variable, body) = form.body();
    variables::set_group_variable(&state, &viewer.caller(), &group, &variable, body).await?;
    Ok(Redirect::to(&format!("/library/{}", url_encode(&group))).into_response())
}

/// `POST /library/{group}/variables/{var}/delete` (contributor).
pub(crate) async fn delete_group_variable(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<super::session::CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((group, variable)) = path?;
    variables::delete_group_variable(&state, &viewer.caller(), &group, &variable).await?;
    Ok(Redirect::to(&format!("/library/{}", url_encode(&group))).into_response())
}

/// The form that deletes a group.
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteGroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /library/{group}/delete` (admin): deletes the group, when the form repeats its name.
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    viewer: Viewer,
    group: Result<Path<String>, PathRejection>,
    form: Result<Form<DeleteGroupForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    viewer.require(UserRole::Admin)?;
    let Path(group) = group?;
    let found = variables::variable_group(&state, &viewer.caller(), &group).await?;
    if form.confirm.trim() != found.name {
        return Err(UiError::bad_request(format!(
            "The group was not deleted: type its name, '{}', to confirm.",
            found.name
        )));
    }
    variables::delete_variable_group(&state, &viewer.caller(), &found.name).await?;
    Ok(Redirect::to("/library").into_response())
}
