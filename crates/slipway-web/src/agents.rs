//! Agents in the web UI (`/agents`): every agent with its pool, version, state, current job and
//! capabilities; the pools with their settings (what becomes of a job whose agent is lost, the
//! demands each `vmImage` stands for), which admins edit there; a section per pool with the checks
//! on it, which admins add and delete there (see [`super::checks`]); and for admins a form that
//! creates a registration token.
//!
//! The list and the token come from the functions the API uses ([`slipway_service::agents`]), with the
//! signed-in user as the caller, so roles and states are the same as `GET /api/v1/agents`. A new
//! registration token is shown once, on the page that answers the form. The pools shown are those
//! with settings or agents (as `GET /api/v1/pools` lists them); their checks are read with one
//! query per pool.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_store::{Timestamp, UserRole};

use super::checks::{CheckForm, action_base, checks_section, section_id};
use super::{UiError, Viewer, csrf_field, format_time, page, url_encode};
use slipway_api::{Agent, AgentLostAction, AgentState, Check, CreateRegistrationToken, Pool, PoolSettings};
use slipway_service::AppState;
use slipway_service::agents as agents_api;
use slipway_service::environments::{self as environments_api, ResourceRef};

/// The CSS class and the word for an agent's state, in the badge styles of run results.
#[must_use]
pub(crate) fn agent_label(state: AgentState) -> (&'static str, &'static str) {
    match state {
        AgentState::Idle => ("s-ok", "idle"),
        AgentState::Busy => ("s-run", "busy"),
        AgentState::Draining => ("s-warn", "draining"),
        AgentState::Offline => ("s-skip", "offline"),
    }
}

fn agents_table(agents: &[Agent]) -> Markup {
    html! {
        @if agents.is_empty() {
            p.empty { "No agents are registered." }
        } @else {
            table.list.agents {
                thead { tr { th { "Name" } th { "Pool" } th { "Version" } th { "State" } th { "Current job" } th { "Last seen" } th { "Capabilities" } } }
                tbody {
                    @for agent in agents {
                        tr {
                            td { (agent.name) @if agent.in_process { " " span.muted { "(in the server)" } } }
                            td { (agent.pool) }
                            td { (agent.version) }
                            td { (super::badge(agent_label(agent.state))) }
                            td {
                                @if let Some(job) = &agent.current_job {
                                    a href=(format!("/runs/{}?job={}", job.run, url_encode(&job.key))) { "run " (job.run) " · " (job.key) }
                                } @else { span.muted { "none" } }
                            }
                            td { @if let Some(seen) = agent.last_seen_at { (format_time(Timestamp::from_millis(seen))) } @else { span.muted { "never" } } }
                            td {
                                details {
                                    summary { (agent.capabilities.len()) " capabilities" }
                                    dl.capabilities {
                                        @for (key, value) in &agent.capabilities { dt { code { (key) } } dd { code { (value) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `vmImages` as the form shows them: a line per image, `image: demand, demand`.
fn vm_images_text(settings: &PoolSettings) -> String {
    settings
        .vm_images
        .iter()
        .map(|(image, demands)| format!("{image}: {}", demands.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the form's `vmImages` text back: a line per image, `image: demand, demand`.
fn read_vm_images(text: &str) -> Result<std::collections::BTreeMap<String, Vec<String>>, UiError> {
    let mut images = std::collections::BTreeMap::new();
    for (number, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let Some((image, demands)) = line.split_once(':') else {
            return Err(UiError::bad_request(format!(
                "vmImages line {}: expected `image: demand, demand` (such as `ubuntu-latest: Agent.OS -equals Linux`)",
                number + 1
            )));
        };
        let demands: Vec<String> =
            demands.split(',').map(str::trim).filter(|demand| !demand.is_empty()).map(str::to_owned).collect();
        images.insert(image.trim().to_owned(), demands);
    }
    Ok(images)
}

/// The checks on a pool, for its section of the page.
struct PoolChecks {
    /// The pool's name (in lower case, as pools are named).
    name: String,
    checks: Vec<Check>,
}

fn pools_section(viewer: &Viewer, pools: &[Pool], checks: &[PoolChecks]) -> Markup {
    html! {
        section.panel #pools {
            h2 { "Pools" }
            @if pools.is_empty() {
                p.muted { "No pool has settings or agents yet." }
            } @else {
                table.list.pools {
                    thead { tr { th { "Pool" } th { "Agents" } th { "When an agent is lost" } th { "vmImage demands" } th { "Checks" } } }
                    tbody {
                        @for pool in pools {
                            tr {
                                td { (pool.name) }
                                td { (pool.agents) }
                                td { @match pool.settings.on_agent_lost { AgentLostAction::Fail => "the job fails", AgentLostAction::Requeue => "the job runs again" } }
                                td { @if pool.settings.vm_images.is_empty() { span.muted { "none" } } @else { code { (vm_images_text(&pool.settings)) } } }
                                td {
                                    @let count = checks.iter().find(|listed| listed.name == pool.name).map_or(0, |listed| listed.checks.len());
                                    a href=(format!("#{}", section_id(ResourceRef::Pool(&pool.name)))) {
                                        @if count == 0 { "none" } @else if count == 1 { "1 check" } @else { (count) " checks" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if viewer.user.role == UserRole::Admin {
                @for pool in pools {
                    form.grid.pool-settings method="post" action=(format!("/agents/pools/{}", url_encode(&pool.name))) {
                        (csrf_field(viewer))
                        h3 { "Settings of " (pool.name) }
                        label { "When an agent is lost"
                            select name="on_agent_lost" {
                                option value="fail" selected[pool.settings.on_agent_lost == AgentLostAction::Fail] { "the job fails" }
                                option value="requeue" selected[pool.settings.on_agent_lost == AgentLostAction::Requeue] { "the job runs again on another agent" }
                            }
                        }
                        label { "vmImage demands (a line each: image: demand, demand)"
                            textarea name="vm_images" rows="3" { (vm_images_text(&pool.settings)) }
                        }
                        button type="submit" { "Save" }
                    }
                }
            }
        }
    }
}

fn agents_page(
    viewer: &Viewer,
    agents: &[Agent],
    pools: &[Pool],
    checks: &[PoolChecks],
    created: Option<&str>,
    refused: Option<(&str, &CheckForm)>,
) -> Markup {
    html! {
        h1 { "Agents" }
        p.meta { "Agents lease the jobs of their pool whose demands their capabilities meet." }
        @if let Some(secret) = created {
            (super::admin::shown_once("A registration token was created.", secret))
            p { "Register an agent with " code { "slipway agent --server URL --token TOKEN --name NAME --pool POOL" } "; the token works once." }
        }
        (agents_table(agents))
        (pools_section(viewer, pools, checks))
        @for pool in checks {
            @let resource = ResourceRef::Pool(&pool.name);
            @let form = refused.filter(|(name, _)| *name == pool.name).map(|(_, form)| form);
            (checks_section(viewer, &action_base(resource), resource, &pool.checks, form))
        }
        @if viewer.user.role == UserRole::Admin {
            section.panel {
                h2 { "New registration token" }
                p.muted { "A one-time token that registers one agent; the agent names its pool when it registers." }
                form.grid method="post" action="/agents/registration-tokens" {
                    (csrf_field(viewer))
                    label { "Expires in hours (empty: never)" input type="number" name="expires_in_hours" min="1" max="8760"; }
                    button.primary type="submit" { "Create token" }
                }
            }
        }
    }
}

/// The Agents page: the agents, the pools and the checks on each; `created` is a registration
/// token just made, `refused` the pool (as the address named it) whose form to add a check was
/// refused, with what the form held; a pool named there that is not listed gets its section too.
async fn agents_markup(
    state: &AppState,
    viewer: &Viewer,
    created: Option<&str>,
    refused: Option<(&str, &CheckForm)>,
) -> Result<Markup, UiError> {
    let caller = viewer.caller();
    let agents = agents_api::listed_agents(state, &caller).await?;
    let pools = agents_api::pools(state, &caller).await?;
    let mut names: Vec<String> = pools.iter().map(|pool| pool.name.clone()).collect();
    let refused = match refused {
        Some((name, form)) => {
            let name = agents_api::checked_pool_name(name)?;
            if !names.contains(&name) {
                names.push(name.clone());
            }
            Some((name, form))
        }
        None => None,
    };
    let mut checks = Vec::with_capacity(names.len());
    for name in names {
        // One query per pool (pools are few).
        let listed = environments_api::checks(state, &caller, ResourceRef::Pool(&name)).await?;
        checks.push(PoolChecks { name, checks: listed });
    }
    let refused = refused.as_ref().map(|(name, form)| (name.as_str(), *form));
    Ok(agents_page(viewer, &agents, &pools, &checks, created, refused))
}

/// `GET /agents` (reader): the agents.
pub(crate) async fn agents(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let markup = agents_markup(&state, &viewer, None, None).await?;
    Ok(page("Agents", Some(&viewer), &markup).into_response())
}

/// The Agents page again, with the refused form to add a check to pool `name` (its words and what
/// it held), answered with the refusal's status.
pub(crate) async fn refused_pool_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    status: StatusCode,
    form: &CheckForm,
) -> Result<Response, UiError> {
    let markup = agents_markup(state, viewer, None, Some((name, form))).await?;
    Ok((status, page("Agents", Some(viewer), &markup)).into_response())
}

/// The form that sets a pool's settings.
#[derive(Debug, Deserialize)]
pub(crate) struct PoolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on_agent_lost: String,
    #[serde(default)]
    vm_images: String,
}

/// `POST /agents/pools/{name}` (admin): sets a pool's settings, as `PUT /api/v1/pools/{name}`.
pub(crate) async fn set_pool(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<PoolForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(name) = name?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let on_agent_lost = match form.on_agent_lost.as_str() {
        "fail" => AgentLostAction::Fail,
        "requeue" => AgentLostAction::Requeue,
        other => {
            return Err(UiError::bad_request(format!(
                "'{other}' is not what becomes of a lost agent's job: fail or requeue"
            )));
        }
    };
    let settings = PoolSettings { on_agent_lost, vm_images: read_vm_images(&form.vm_images)? };
    agents_api::set_pool(&state, &viewer.caller(), &name, &settings).await?;
    Ok(Redirect::to("/agents#pools").into_response())
}

/// The form that creates a registration token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expires_in_hours: String,
}

/// `POST /agents/registration-tokens` (admin): a new registration token, shown once.
pub(crate) async fn create_registration_token(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let hours = form.expires_in_hours.trim();
    let expires_in_hours = if hours.is_empty() {
        None
    } else {
        Some(hours.parse().map_err(|_| UiError::bad_request("The expiry must be a number of hours from 1 to 8760."))?)
    };
    let body = CreateRegistrationToken { expires_in_hours };
    let created = agents_api::issue_registration_token(&state, &viewer.caller(), &body).await?;
    let markup = agents_markup(&state, &viewer, Some(&created.token), None).await?;
    Ok((StatusCode::CREATED, page("Agents", Some(&viewer), &markup)).into_response())
}
