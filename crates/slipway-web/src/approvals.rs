//! What runs' stages wait for, in the web UI: the run page's panel of checkpoints (each stage that
//! deploys to an environment, its state and every check with its state; for a pending approval
//! its instructions, approvers and decisions, with Approve and Reject buttons for a user who may
//! decide it), `/approvals` ("My approvals": the pending approvals the signed-in user may
//! decide), and `POST /approvals/{id}`, the decision, as `POST /api/v1/approvals/{id}` makes it.
//!
//! Who may decide is the service's answer ([`slipway_service::environments::list_approvals`] with
//! `mine`), so the buttons show exactly where the decision would be taken. The run page's panel
//! is outside its live part: it shows the state when the page was loaded (the live updates would
//! otherwise wipe a comment being typed), and a decision brings the page back.

use std::collections::HashSet;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value as Json;
use slipway_store::Run;

use super::checks::{format_minutes, kind_label, page_of, strings};
use super::environments::time_of;
use super::{UiError, Viewer, csrf_field, page, url_encode};
use slipway_api::{Approval, ApprovalDecision, CheckRun, Checkpoint, DecideApproval};
use slipway_service::AppState;
use slipway_service::environments::{self as service, ResourceRef};

/// The longest comment a decision takes (the service's limit, in bytes).
const MAX_COMMENT: usize = 4096;

/// The CSS class and the word for a checkpoint's state.
fn checkpoint_label(state: &str) -> (&'static str, &str) {
    match state {
        "waiting" => ("s-wait", "waiting"),
        "passed" => ("s-ok", "passed"),
        "failed" => ("s-fail", "failed"),
        "canceled" => ("s-cancel", "canceled"),
        other => ("s-skip", other),
    }
}

/// The CSS class and the word for a check's state.
fn check_label(state: &str) -> (&'static str, &str) {
    match state {
        "pending" => ("s-wait", "pending"),
        "passed" => ("s-ok", "passed"),
        "failed" => ("s-fail", "failed"),
        "rejected" => ("s-fail", "rejected"),
        "timedOut" => ("s-fail", "timed out"),
        "canceled" => ("s-cancel", "canceled"),
        other => ("s-skip", other),
    }
}

fn label_badge((class, word): (&'static str, &str)) -> Markup {
    html! { span class=(format!("badge {class}")) { (word) } }
}

/// A protected resource as a link where it has a page: `environment production`,
/// `variable group release` (the Library), `agent pool default` (its checks on the Agents page).
fn resource_link(kind: &str, name: &str) -> Markup {
    match kind {
        "environment" => html! { "environment " a href=(format!("/environments/{}", url_encode(name))) { (name) } },
        "variableGroup" => html! { "variable group " a href=(format!("/library/{}", url_encode(name))) { (name) } },
        "pool" => html! { "agent pool " a href=(page_of(ResourceRef::Pool(name))) { (name) } },
        other => html! { (other) " " (name) },
    }
}

/// An approval's settings as a checkpoint's copy holds them.
struct ApprovalSettings {
    approvers: Vec<String>,
    required: usize,
    requester_cannot_approve: bool,
    instructions: String,
}

impl ApprovalSettings {
    fn read(settings: &Json) -> Self {
        let approvers = strings(settings.get("approvers").unwrap_or(&Json::Null));
        let minimum = settings
            .get("minRequiredApprovers")
            .and_then(Json::as_u64)
            .and_then(|minimum| usize::try_from(minimum).ok())
            .unwrap_or(0);
        Self {
            required: if minimum == 0 { approvers.len() } else { minimum },
            approvers,
            requester_cannot_approve: settings
                .get("requesterCannotBeApprover")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            instructions: settings.get("instructions").and_then(Json::as_str).unwrap_or_default().to_owned(),
        }
    }
}

fn decisions_list(decisions: &[ApprovalDecision]) -> Markup {
    html! {
        @if decisions.is_empty() {
            p.muted.decisions { "No decisions yet." }
        } @else {
            ul.decisions {
                @for decision in decisions {
                    li {
                        strong { (decision.user) } " "
                        @match decision.status.as_str() {
                            "approved" => { span.badge.s-ok { "approved" } }
                            "rejected" => { span.badge.s-fail { "rejected" } }
                            other => { span.badge.s-skip { (other) } }
                        }
                        span.muted { " " (time_of(decision.decided_at)) }
                        @if decision.effective_at > decision.decided_at {
                            span.muted { " · takes effect " (time_of(decision.effective_at)) }
                        }
                        @if !decision.comment.is_empty() { div.comment { (decision.comment) } }
                    }
                }
            }
        }
    }
}

/// The Approve and Reject form of approval `id`; `back` says where the answer goes (`approvals`:
/// the "My approvals" page; else the run's page).
fn decision_form(viewer: &Viewer, id: i64, back: Option<&str>) -> Markup {
    html! {
        form.approval-form method="post" action=(format!("/approvals/{id}")) {
            (csrf_field(viewer))
            @if let Some(back) = back { input type="hidden" name="back" value=(back); }
            label { "Comment (kept with the decision and in the audit log)"
                textarea name="comment" rows="2" maxlength=(MAX_COMMENT) {}
            }
            label.defer { "Approve with effect from (UTC; leave empty for now)"
                input type="datetime-local" name="defer_until" step="60";
            }
            div.actions {
                button.primary type="submit" name="status" value="approved" { "Approve" }
                button.danger type="submit" name="status" value="rejected" { "Reject" }
            }
        }
    }
}

/// Why `viewer` may not decide a pending approval, for the panel; `None` when nothing on the page
/// says they may not (the service has the last word when the form is sent).
fn why_not(viewer: &Viewer, settings: &ApprovalSettings, check: &CheckRun, run: &Run) -> Option<&'static str> {
    let me = viewer.user.name.as_str();
    if check.decisions.iter().any(|decision| decision.user.eq_ignore_ascii_case(me)) {
        Some("You have decided it; it waits for the other approvers.")
    } else if !settings.approvers.iter().any(|approver| approver.eq_ignore_ascii_case(me)) {
        Some("Only its approvers may decide it.")
    } else if settings.requester_cannot_approve
        && run.requested_by.as_deref().is_some_and(|requester| requester.eq_ignore_ascii_case(me))
    {
        Some("You started this run, and this approval's approvers may not approve their own runs.")
    } else {
        None
    }
}

fn check_item(viewer: &Viewer, run: &Run, check: &CheckRun, decidable: &HashSet<i64>) -> Markup {
    let pending = check.state == "pending";
    html! {
        li.check-run data-check=(check.id) {
            div.check-head {
                strong { (kind_label(&check.kind)) } " on " (resource_link(&check.resource_type, &check.resource)) " "
                (label_badge(check_label(&check.state)))
                @if pending { span.muted { " · times out after " (format_minutes(check.timeout_minutes)) } }
                @if let Some(finished) = check.finished_at { span.muted { " · decided " (time_of(finished)) } }
            }
            @if let Some(message) = &check.message { div.check-message { (message) } }
            @if check.kind == "approval" {
                @let settings = ApprovalSettings::read(&check.settings);
                @if !settings.instructions.is_empty() {
                    div.instructions { strong { "Instructions: " } (settings.instructions) }
                }
                p.meta {
                    "Approvers: " (settings.approvers.join(", "))
                    " · " (settings.required) " of " (settings.approvers.len()) " must approve"
                    @if settings.requester_cannot_approve { " · the person who started the run may not approve it" }
                }
                (decisions_list(&check.decisions))
                @if pending {
                    @let reason = why_not(viewer, &settings, check, run);
                    @match reason {
                        Some(reason) if !decidable.contains(&check.id) => { p.muted.not-yours { (reason) } }
                        _ => { (decision_form(viewer, check.id, None)) }
                    }
                }
            }
        }
    }
}

fn checkpoint_block(viewer: &Viewer, run: &Run, checkpoint: &Checkpoint, decidable: &HashSet<i64>) -> Markup {
    html! {
        div class=(format!("checkpoint {}", checkpoint_label(&checkpoint.state).0)) data-stage=(checkpoint.stage) {
            h3 {
                "Stage " (checkpoint.stage) " "
                (label_badge(checkpoint_label(&checkpoint.state)))
                span.muted {
                    " reached " (time_of(checkpoint.created_at))
                    @if let Some(finished) = checkpoint.finished_at { " · decided " (time_of(finished)) }
                }
            }
            @if let Some(message) = &checkpoint.message { p.checkpoint-message { (message) } }
            @if checkpoint.checks.is_empty() {
                p.muted { "No checks." }
            } @else {
                ul.check-runs {
                    @for check in &checkpoint.checks { (check_item(viewer, run, check, decidable)) }
                }
            }
        }
    }
}

/// The run page's panel of the run's checkpoints (nothing when no stage waited for checks).
///
/// # Errors
/// When the service fails.
pub(crate) async fn checkpoints_panel(state: &AppState, viewer: &Viewer, run: &Run) -> Result<Markup, UiError> {
    let caller = viewer.caller();
    let checkpoints = service::run_checkpoints(state, &caller, run.id.get()).await?;
    if checkpoints.is_empty() {
        return Ok(html! {});
    }
    let any_pending = checkpoints
        .iter()
        .flat_map(|checkpoint| &checkpoint.checks)
        .any(|check| check.kind == "approval" && check.state == "pending");
    let decidable: HashSet<i64> = if any_pending {
        service::list_approvals(state, &caller, Some("pending"), true)
            .await?
            .into_iter()
            .filter(|approval| approval.run == run.id.get())
            .map(|approval| approval.id)
            .collect()
    } else {
        HashSet::new()
    };
    let waiting = checkpoints.iter().any(|checkpoint| checkpoint.state == "waiting");
    Ok(html! {
        section.panel.checkpoints #checkpoints {
            h2 { "Checks" }
            p.meta {
                "Stages that deploy to an environment, or use a variable group or an agent pool with checks, wait here until those checks pass."
                @if waiting { " This panel shows the state when the page was loaded; reload the page to see it change." }
            }
            @for checkpoint in &checkpoints { (checkpoint_block(viewer, run, checkpoint, &decidable)) }
        }
    })
}

// ----- my approvals -----

fn approval_card(viewer: &Viewer, approval: &Approval) -> Markup {
    html! {
        section.panel.approval data-approval=(approval.id) {
            h2 {
                a href=(format!("/runs/{}", approval.run)) { (approval.pipeline_name) " #" (approval.run_number) }
                " · stage " (approval.stage) " · " (resource_link(&approval.resource_type, &approval.resource))
            }
            p.meta {
                @if let Some(who) = &approval.requested_by { "Run started by " (who) " · " }
                "waiting since " (time_of(approval.created_at))
                " · times out " (time_of(approval.timeout_at))
            }
            @if !approval.instructions.is_empty() {
                div.instructions { strong { "Instructions: " } (approval.instructions) }
            }
            p.meta {
                "Approvers: " (approval.approvers.join(", "))
                " · " (approval.min_required_approvers) " of " (approval.approvers.len()) " must approve"
                @if let Some(message) = &approval.message { " · " (message) }
            }
            (decisions_list(&approval.decisions))
            (decision_form(viewer, approval.id, Some("approvals")))
        }
    }
}

/// `GET /approvals` (reader): the pending approvals the signed-in user may decide.
pub(crate) async fn approvals(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let mine = service::list_approvals(&state, &viewer.caller(), Some("pending"), true).await?;
    let body = html! {
        h1 { "My approvals" }
        p.meta {
            "Deployments waiting for your decision: approvals on environments that name you as an approver. "
            "A rejection fails the waiting stage, with your comment as the reason."
        }
        @if mine.is_empty() {
            p.empty #no-approvals { "Nothing waits for your approval." }
        }
        @for approval in &mine { (approval_card(&viewer, approval)) }
    };
    Ok(page("My approvals", Some(&viewer), &body).into_response())
}

/// The Approve and Reject form.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    comment: String,
    /// A deferred approval's time, `YYYY-MM-DDTHH:MM` in UTC (the browser's datetime-local).
    #[serde(default)]
    defer_until: String,
    #[serde(default)]
    back: String,
}

/// A datetime-local value read as UTC, in milliseconds since the Unix epoch.
fn utc_millis(text: &str) -> Result<i64, String> {
    let civil: jiff::civil::DateTime = text.trim().parse().map_err(|_| {
        format!("'{text}' is not a date and time; give it as YYYY-MM-DDTHH:MM (UTC), or leave it empty to approve now")
    })?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .map(|timestamp| timestamp.as_millisecond())
        .map_err(|error| format!("'{text}' cannot be a time: {error}"))
}

/// `POST /approvals/{id}` (an approver): approves or rejects, as `POST /api/v1/approvals/{id}`
/// does; back to the run's page (or to "My approvals" when the form came from there).
pub(crate) async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(id) = id.map_err(|_| UiError::bad_request("an approval's id is a number"))?;
    let deferred_until = match form.defer_until.trim() {
        "" => None,
        text => Some(utc_millis(text).map_err(UiError::bad_request)?),
    };
    let body = DecideApproval { status: form.status, comment: form.comment.trim().to_owned(), deferred_until };
    let decided = service::decide(&state, &viewer.caller(), id, &body).await?;
    let to =
        if form.back == "approvals" { "/approvals".to_owned() } else { format!("/runs/{}#checkpoints", decided.run) };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferral_is_read_as_utc() {
        assert_eq!(utc_millis("2026-12-08T09:00"), Ok(1_796_720_400_000));
        assert!(utc_millis("tomorrow").is_err_and(|error| error.contains("YYYY-MM-DDTHH:MM")));
    }

    #[test]
    fn approval_settings_are_read_from_a_checkpoints_copy() {
        let settings = ApprovalSettings::read(&serde_json::json!({
            "approvers": ["ana", "bo"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true, "instructions": "look"
        }));
        assert_eq!((settings.approvers.len(), settings.required), (2, 1));
        assert!(settings.requester_cannot_approve);
        let all = ApprovalSettings::read(&serde_json::json!({ "approvers": ["ana", "bo"] }));
        assert_eq!(all.required, 2);
        let odd = ApprovalSettings::read(&serde_json::json!("not an object"));
        assert_eq!((odd.approvers.len(), odd.required, odd.instructions.as_str()), (0, 0, ""));
    }
}
