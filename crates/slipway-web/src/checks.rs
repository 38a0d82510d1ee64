//! Checks on protected resources in the web UI: environments (`/environments/{name}`), variable
//! groups (`/library/{group}`) and agent pools (a section per pool on `/agents`). One section
//! ([`checks_section`]) lists a resource's checks readably, with the admins' delete buttons and
//! form to add one (fields per type; other types' settings as JSON); one pair of handlers
//! ([`add_check`], [`delete_check`]), generic over the page the form is on ([`CheckPage`]), adds
//! and removes them through the functions the API uses ([`slipway_service::environments`]'s
//! `checks`, `add_check`, `delete_check` with a [`ResourceRef`]).
//!
//! A check the service refuses (400 or 422) shows the page it came from again, with the service's
//! words beside the form and what was typed kept; no permission (403) or nothing there (404) is a
//! page of its own.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value as Json, json};
use slipway_store::UserRole;

use super::environments::{Drafts, problem_note, refused, time_of};
use super::{UiError, Viewer, csrf_field, url_encode};
use slipway_api::{Check, NewCheck};
use slipway_service::AppState;
use slipway_service::environments::{self as service, ResourceRef};

/// The types of checks the form has fields for, with their names for people.
const CHECK_KINDS: [(&str, &str); 4] = [
    ("approval", "Approval"),
    ("branchControl", "Branch control"),
    ("businessHours", "Business hours"),
    ("exclusiveLock", "Exclusive lock"),
];

/// The names for people of the other types of checks, whose settings the form takes as JSON.
const OTHER_KINDS: [(&str, &str); 5] = [
    ("invokeRestApi", "Invoke REST API"),
    ("queryMetrics", "Query metrics"),
    ("requiredTemplate", "Required template"),
    ("verifyProvenance", "Verified provenance"),
    ("policy", "Policy (Rego)"),
];

/// The form's choice for a check of another type, with its settings as JSON.
const JSON_KIND: &str = "json";

/// The days business hours may name, as the form offers them.
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The name of a check's type for people.
#[must_use]
pub(crate) fn kind_label(kind: &str) -> &str {
    CHECK_KINDS.iter().chain(&OTHER_KINDS).find(|(name, _)| *name == kind).map_or(kind, |(_, label)| label)
}

/// A timeout in minutes for people: `30 days`, `2 hours`, `90 minutes`.
#[must_use]
pub(crate) fn format_minutes(minutes: u32) -> String {
    let plural = |count: u32, unit: &str| if count == 1 { format!("1 {unit}") } else { format!("{count} {unit}s") };
    if minutes > 0 && minutes.is_multiple_of(1440) {
        plural(minutes / 1440, "day")
    } else if minutes > 0 && minutes.is_multiple_of(60) {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// Strings of a settings field: a list, or text separated by commas (as Azure's forms take it).
#[must_use]
pub(crate) fn strings(value: &Json) -> Vec<String> {
    match value {
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(text) => text.trim().to_owned(),
                other => other.to_string(),
            })
            .filter(|item| !item.is_empty())
            .collect(),
        Json::String(text) => {
            text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// A check's settings for people, by type; settings of a type this page does not know are shown
/// as their JSON.
#[must_use]
pub(crate) fn settings_summary(kind: &str, settings: &Json) -> Markup {
    let text = |key: &str| settings.get(key).and_then(Json::as_str).unwrap_or_default().to_owned();
    html! {
        @match kind {
            "approval" => {
                @let approvers = strings(settings.get("approvers").unwrap_or(&Json::Null));
                @let minimum = settings.get("minRequiredApprovers").and_then(Json::as_u64).unwrap_or(0);
                @let instructions = text("instructions");
                ul.settings {
                    li { "Approvers: " (approvers.join(", ")) }
                    li {
                        @if minimum == 0 || minimum >= u64::try_from(approvers.len()).unwrap_or(u64::MAX) {
                            "Every approver must approve"
                        } @else {
                            (minimum) " of " (approvers.len()) " must approve"
                        }
                    }
                    @if settings.get("requesterCannotBeApprover").and_then(Json::as_bool).unwrap_or(false) {
                        li { "The person who started the run may not approve it" }
                    }
                    @if !instructions.is_empty() { li.instructions { "Instructions: " (instructions) } }
                    @match settings.get("order").and_then(Json::as_str) {
                        Some("preCheck") => li { "Asked before the other checks (a pre-check approval)" },
                        Some("postCheck") => li { "Asked once the other checks passed (a post-check approval)" },
                        _ => {},
                    }
                }
            }
            "branchControl" => {
                @let branches = strings(settings.get("allowedBranches").unwrap_or(&Json::Null));
                ul.settings {
                    li {
                        "Allowed branches: "
                        @for (index, branch) in branches.iter().enumerate() {
                            @if index > 0 { ", " }
                            code { (branch) }
                        }
                    }
                }
            }
            "businessHours" => {
                @let days = strings(settings.get("days").unwrap_or(&Json::Null));
                ul.settings {
                    li { "Days: " @if days.is_empty() { "every day" } @else { (days.join(", ")) } }
                    li { "Hours: " (text("startTime")) "–" (text("endTime")) " (" (text("timeZone")) ")" }
                }
            }
            "exclusiveLock" => {
                ul.settings {
                    li { "One run's stage at a time; the pipeline's " code { "lockBehavior" } " says which goes next" }
                }
            }
            _ => { code.settings { (settings.to_string()) } }
        }
    }
}

/// An approval's `order` values, as the form offers them (Azure's three kinds of approval).
const APPROVAL_ORDERS: &[(&str, &str)] = &[
    ("dynamic", "With the other checks (an approval)"),
    ("preCheck", "Before the other checks (a pre-check approval)"),
    ("postCheck", "Once the other checks passed (a post-check approval)"),
];

/// What the admin's form to add a check holds: the type, the timeout and the settings of every
/// type (only the chosen type's are read).
#[derive(Clone, Debug)]
struct CheckDraft {
    kind: String,
    timeout: String,
    approvers: String,
    minimum: String,
    requester_cannot_approve: bool,
    instructions: String,
    /// `preCheck`, `dynamic` (or empty) or `postCheck`.
    order: String,
    branches: String,
    time_zone: String,
    days: Vec<String>,
    start: String,
    end: String,
    json_kind: String,
    json_settings: String,
}

impl Default for CheckDraft {
    fn default() -> Self {
        Self {
            kind: "approval".to_owned(),
            timeout: String::new(),
            approvers: String::new(),
            minimum: String::new(),
            requester_cannot_approve: false,
            instructions: String::new(),
            order: String::new(),
            branches: String::new(),
            time_zone: "UTC".to_owned(),
            days: DAYS[..5].iter().map(|day| (*day).to_owned()).collect(),
            start: "09:00".to_owned(),
            end: "17:00".to_owned(),
            json_kind: String::new(),
            json_settings: String::new(),
        }
    }
}

impl CheckDraft {
    /// The draft a posted form holds (a field given more than once: the last counts, but for
    /// `days`, which lists them all).
    fn from_fields(fields: &[(String, String)]) -> Self {
        let field = |name: &str| {
            fields.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
        };
        let kind = field("type").trim().to_owned();
        if kind != "businessHours" {
            // The business hours' fields were not sent (the page's script disables the settings
            // of other types): they keep their defaults.
            let defaults = Self::default();
            return Self {
                kind,
                time_zone: defaults.time_zone,
                days: defaults.days,
                start: defaults.start,
                end: defaults.end,
                ..Self::from_fields_of(fields)
            };
        }
        Self { kind, ..Self::from_fields_of(fields) }
    }

    /// Every field of a posted form, read as it is.
    fn from_fields_of(fields: &[(String, String)]) -> Self {
        let field = |name: &str| {
            fields.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone()).unwrap_or_default()
        };
        Self {
            kind: field("type").trim().to_owned(),
            timeout: field("timeout_minutes"),
            approvers: field("approvers"),
            minimum: field("min_required_approvers"),
            requester_cannot_approve: field("requester_cannot_be_approver") == "true",
            instructions: field("instructions"),
            order: field("order").trim().to_owned(),
            branches: field("allowed_branches"),
            time_zone: field("time_zone"),
            days: fields.iter().filter(|(key, _)| key == "days").map(|(_, value)| value.trim().to_owned()).collect(),
            start: field("start_time"),
            end: field("end_time"),
            json_kind: field("json_type"),
            json_settings: field("json_settings"),
        }
    }

    /// The check the draft asks for, as the API takes it; numbers that are not numbers are
    /// refused here, everything else by the service (with its words).
    fn check(&self) -> Result<NewCheck, String> {
        let timeout_minutes = match self.timeout.trim() {
            "" => None,
            text => Some(
                text.parse::<u32>()
                    .map_err(|_| format!("The timeout is a whole number of minutes (empty: 30 days), not '{text}'."))?,
            ),
        };
        let list = |text: &str| -> Vec<String> {
            text.split([',', '\n', '\r']).map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
        };
        if self.kind == JSON_KIND {
            let kind = self.json_kind.trim();
            if kind.is_empty() {
                return Err(
                    "Name the check's type (such as invokeRestApi), or choose one of the types above.".to_owned()
                );
            }
            let settings = match self.json_settings.trim() {
                "" => json!({}),
                text => serde_json::from_str(text).map_err(|error| format!("The settings are not JSON: {error}."))?,
            };
            return Ok(NewCheck { kind: kind.to_owned(), settings, timeout_minutes });
        }
        let settings = match self.kind.as_str() {
            "approval" => {
                let minimum = match self.minimum.trim() {
                    "" => 0,
                    text => text.parse::<u32>().map_err(|_| {
                        format!(
                            "The number of approvals needed is a whole number (0 or empty: every approver), not '{text}'."
                        )
                    })?,
                };
                let approvers: Vec<String> = self
                    .approvers
                    .split(|character: char| character == ',' || character.is_whitespace())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect();
                let mut settings = json!({
                    "approvers": approvers,
                    "minRequiredApprovers": minimum,
                    "requesterCannotBeApprover": self.requester_cannot_approve,
                    "instructions": self.instructions.trim(),
                });
                if !matches!(self.order.as_str(), "" | "dynamic") {
                    settings["order"] = Json::String(self.order.clone());
                }
                settings
            }
            "branchControl" => json!({ "allowedBranches": list(&self.branches) }),
            "businessHours" => json!({
                "timeZone": self.time_zone.trim(),
                "days": self.days,
                "startTime": self.start.trim(),
                "endTime": self.end.trim(),
            }),
            _ => json!({}),
        };
        Ok(NewCheck { kind: self.kind.clone(), settings, timeout_minutes })
    }
}

/// What a refused form to add a check held: the service's (or the form's) words, and the draft.
#[derive(Debug, Default)]
pub(crate) struct CheckForm {
    problem: Option<String>,
    draft: CheckDraft,
}

/// The base of the addresses a resource's check forms post to (`{base}/checks`,
/// `{base}/checks/{id}/delete`): `/environments/{name}`, `/library/{group}`,
/// `/agents/pools/{name}`.
#[must_use]
pub(crate) fn action_base(resource: ResourceRef<'_>) -> String {
    match resource {
        ResourceRef::Environment(name) => format!("/environments/{}", url_encode(name)),
        ResourceRef::VariableGroup(name) => format!("/library/{}", url_encode(name)),
        ResourceRef::Pool(name) => format!("/agents/pools/{}", url_encode(name)),
    }
}

/// The id of a resource's checks section (and the fragment that shows it): `checks` on an
/// environment's or a group's page, `checks-{pool}` on the Agents page, which has one per pool.
#[must_use]
pub(crate) fn section_id(resource: ResourceRef<'_>) -> String {
    match resource {
        ResourceRef::Environment(_) | ResourceRef::VariableGroup(_) => "checks".to_owned(),
        ResourceRef::Pool(name) => format!("checks-{}", url_encode(name)),
    }
}

/// The page that shows a resource's checks, at its checks section.
#[must_use]
pub(crate) fn page_of(resource: ResourceRef<'_>) -> String {
    match resource {
        ResourceRef::Environment(_) | ResourceRef::VariableGroup(_) => {
            format!("{}#checks", action_base(resource))
        }
        ResourceRef::Pool(_) => format!("/agents#{}", section_id(resource)),
    }
}

/// The section's heading, what waits for the checks, and what the list says when there are none.
fn wording(resource: ResourceRef<'_>) -> (String, &'static str, &'static str) {
    match resource {
        ResourceRef::Environment(_) => {
            ("Checks".to_owned(), "A stage that deploys here", "No checks: stages deploy here without waiting.")
        }
        ResourceRef::VariableGroup(_) => (
            "Checks".to_owned(),
            "A stage that uses this group (the pipeline's, the stage's or one of its jobs' variables name it)",
            "No checks: stages use this group without waiting.",
        ),
        ResourceRef::Pool(name) => (
            format!("Checks on pool {name}"),
            "A stage with a job that runs in this pool",
            "No checks: stages run their jobs in this pool without waiting.",
        ),
    }
}

/// The checks on `resource`, readably, for everyone; for admins, a delete button on each and the
/// form that adds one, posting to `{base}/checks` (`base` from [`action_base`]). `form` is what
/// a refused form held (`None`: a fresh form).
pub(crate) fn checks_section(
    viewer: &Viewer,
    base: &str,
    resource: ResourceRef<'_>,
    checks: &[Check],
    form: Option<&CheckForm>,
) -> Markup {
    let admin = viewer.user.role == UserRole::Admin;
    let fresh = CheckForm::default();
    let form = form.unwrap_or(&fresh);
    let draft = &form.draft;
    let id = section_id(resource);
    // The environment's and the group's page have one form; the Agents page one per pool.
    let (form_id, types_id) = match resource {
        ResourceRef::Pool(name) => {
            (format!("add-check-{}", url_encode(name)), format!("check-types-{}", url_encode(name)))
        }
        ResourceRef::Environment(_) | ResourceRef::VariableGroup(_) => {
            ("add-check".to_owned(), "check-types".to_owned())
        }
    };
    let (heading, waits, none) = wording(resource);
    html! {
        section.panel id=(id) {
            h2 { (heading) }
            p.meta {
                (waits) " waits until every check passes, in Azure's order: branch control, approvals, "
                "business hours, then the exclusive lock. A check that fails, is rejected or times out fails the stage."
            }
            @if checks.is_empty() {
                p.empty { (none) }
            } @else {
                table.list.checks {
                    thead { tr { th { "Type" } th { "Settings" } th { "Timeout" } th { "Added" } @if admin { th { "" } } } }
                    tbody {
                        @for check in checks {
                            tr {
                                td { (kind_label(&check.kind)) }
                                td { (settings_summary(&check.kind, &check.settings)) }
                                td { (format_minutes(check.timeout_minutes)) }
                                td { (time_of(check.created_at)) @if let Some(who) = &check.created_by { span.muted { " by " (who) } } }
                                @if admin {
                                    td {
                                        form.inline method="post" action=(format!("{base}/checks/{}/delete", check.id)) {
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
            @if admin {
                h3 { "Add a check" }
                (problem_note(form.problem.as_deref()))
                form.grid.add-check id=(form_id) method="post" action=(format!("{base}/checks")) {
                    (csrf_field(viewer))
                    label { "Type"
                        select name="type" {
                            @for (kind, label) in CHECK_KINDS {
                                option value=(kind) selected[draft.kind == kind] { (label) }
                            }
                            option value=(JSON_KIND) selected[draft.kind == JSON_KIND] { "Another type (settings as JSON)" }
                        }
                    }
                    fieldset data-type="approval" {
                        legend { "Approval" }
                        label { "Approvers (user names, separated by commas)" input type="text" name="approvers" value=(draft.approvers) autocomplete="off"; }
                        label { "Approvals needed (empty or 0: every approver)" input type="number" name="min_required_approvers" min="0" value=(draft.minimum); }
                        div.check { label { input type="checkbox" name="requester_cannot_be_approver" value="true" checked[draft.requester_cannot_approve]; " The person who started the run may not approve it" } }
                        label { "Instructions for the approvers" textarea name="instructions" rows="2" maxlength="4000" { (draft.instructions) } }
                        label { "When it is asked"
                            select name="order" {
                                @for (value, label) in APPROVAL_ORDERS {
                                    option value=(value) selected[draft.order == *value || (draft.order.is_empty() && *value == "dynamic")] { (label) }
                                }
                            }
                        }
                    }
                    fieldset data-type="branchControl" {
                        legend { "Branch control" }
                        label { "Allowed branches (separated by commas; " code { "*" } " is a wildcard, such as " code { "refs/heads/release/*" } ")"
                            input type="text" name="allowed_branches" value=(draft.branches) autocomplete="off";
                        }
                    }
                    fieldset data-type="businessHours" {
                        legend { "Business hours" }
                        label { "Time zone (IANA, such as Europe/Berlin)" input type="text" name="time_zone" value=(draft.time_zone); }
                        div.days {
                            @for day in DAYS {
                                label.check { input type="checkbox" name="days" value=(day) checked[draft.days.iter().any(|chosen| chosen == day)]; " " (day) }
                            }
                        }
                        label { "From (HH:MM)" input type="text" name="start_time" value=(draft.start) placeholder="09:00"; }
                        label { "Until (HH:MM)" input type="text" name="end_time" value=(draft.end) placeholder="17:00"; }
                    }
                    fieldset data-type="exclusiveLock" {
                        legend { "Exclusive lock" }
                        p.muted { "No settings: one run's stage at a time; the pipeline's " code { "lockBehavior" } " (sequential or runLatest) says which goes next." }
                    }
                    fieldset data-type=(JSON_KIND) {
                        legend { "Another type" }
                        label { "Type (as the API names it, such as " code { "invokeRestApi" } ")"
                            input type="text" name="json_type" list=(types_id) value=(draft.json_kind) autocomplete="off";
                        }
                        datalist id=(types_id) { @for (kind, _) in OTHER_KINDS { option value=(kind) {} } }
                        label { "Settings (a JSON object, as the API takes them)"
                            textarea name="json_settings" rows="4" { (draft.json_settings) }
                        }
                    }
                    label { "Timeout in minutes (empty: 30 days)" input type="number" name="timeout_minutes" min="1" value=(draft.timeout); }
                    button.primary type="submit" { "Add check" }
                }
            }
        }
    }
}

// ----- the handlers -----

/// A page check forms are on: which kind of resource the address's name is.
pub(crate) trait CheckPage {
    /// The resource `name` (from the address) names.
    fn resource(name: &str) -> ResourceRef<'_>;
}

/// The environment page: `/environments/{name}/checks`.
pub(crate) struct OnEnvironment;

impl CheckPage for OnEnvironment {
    fn resource(name: &str) -> ResourceRef<'_> {
        ResourceRef::Environment(name)
    }
}

/// A variable group's page in the Library: `/library/{group}/checks`.
pub(crate) struct OnVariableGroup;

impl CheckPage for OnVariableGroup {
    fn resource(name: &str) -> ResourceRef<'_> {
        ResourceRef::VariableGroup(name)
    }
}

/// The Agents page, a section per pool: `/agents/pools/{name}/checks`.
pub(crate) struct OnPool;

impl CheckPage for OnPool {
    fn resource(name: &str) -> ResourceRef<'_> {
        ResourceRef::Pool(name)
    }
}

/// The page the form came from again, with the refused form's words and what it held, answered
/// with the refusal's status.
async fn refused_page(
    state: &AppState,
    viewer: &Viewer,
    resource: ResourceRef<'_>,
    status: StatusCode,
    form: CheckForm,
) -> Result<Response, UiError> {
    match resource {
        ResourceRef::Environment(name) => {
            super::environments::refused_page(state, viewer, name, status, &Drafts::with_check(form)).await
        }
        ResourceRef::VariableGroup(name) => {
            super::library::refused_group_page(state, viewer, name, status, &form).await
        }
        ResourceRef::Pool(name) => super::agents::refused_pool_page(state, viewer, name, status, &form).await,
    }
}

/// `POST {base}/checks` (admin): adds a check built from the form to the resource the address
/// names, as `POST /api/v1/{environments|variable-groups|pools}/{name}/checks` does; a check the
/// service refuses shows its words beside the form.
pub(crate) async fn add_check<P: CheckPage>(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(fields) = form?;
    let csrf = fields.iter().rev().find(|(key, _)| key == "csrf").map(|(_, value)| value.as_str());
    viewer.check_csrf(csrf.unwrap_or_default())?;
    let Path(name) = name?;
    viewer.require(UserRole::Admin)?;
    let resource = P::resource(&name);
    let draft = CheckDraft::from_fields(&fields);
    let outcome = match draft.check() {
        Ok(check) => match service::add_check(&state, &viewer.caller(), resource, &check).await {
            Ok(_) => None,
            Err(error) => Some(refused(error)?),
        },
        Err(message) => Some((StatusCode::BAD_REQUEST, message)),
    };
    match outcome {
        None => Ok(Redirect::to(&page_of(resource)).into_response()),
        Some((status, message)) => {
            refused_page(&state, &viewer, resource, status, CheckForm { problem: Some(message), draft }).await
        }
    }
}

/// `POST {base}/checks/{id}/delete` (admin): removes a check from the resource the address names,
/// as `DELETE /api/v1/{environments|variable-groups|pools}/{name}/checks/{id}` does.
pub(crate) async fn delete_check<P: CheckPage>(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, i64)>, PathRejection>,
    form: Result<Form<super::session::CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, id)) = path.map_err(|_| {
        let named = match P::resource("") {
            ResourceRef::Environment(_) => "an environment",
            ResourceRef::VariableGroup(_) => "a variable group",
            ResourceRef::Pool(_) => "an agent pool",
        };
        UiError::bad_request(format!("the address names {named} and a check's id (a number)"))
    })?;
    let resource = P::resource(&name);
    service::delete_check(&state, &viewer.caller(), resource, id).await?;
    Ok(Redirect::to(&page_of(resource)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn timeouts_read_well() {
        assert_eq!(format_minutes(43_200), "30 days");
        assert_eq!(format_minutes(1440), "1 day");
        assert_eq!(format_minutes(120), "2 hours");
        assert_eq!(format_minutes(90), "90 minutes");
        assert_eq!(format_minutes(1), "1 minute");
    }

    #[test]
    fn the_check_form_builds_the_settings_of_its_type() -> Result<(), String> {
        let approval = CheckDraft::from_fields(&fields(&[
            ("type", "approval"),
            ("approvers", "ana, bo\ncarl"),
            ("min_required_approvers", "2"),
            ("requester_cannot_be_approver", "true"),
            ("instructions", " look first "),
            ("order", "postCheck"),
            ("allowed_branches", "ignored"),
            ("timeout_minutes", "60"),
        ]))
        .check()?;
        assert_eq!(approval.kind, "approval");
        assert_eq!(approval.timeout_minutes, Some(60));
        assert_eq!(
            approval.settings,
            json!({"approvers": ["ana", "bo", "carl"], "minRequiredApprovers": 2, "requesterCannotBeApprover": true, "instructions": "look first", "order": "postCheck"})
        );
        let hours = CheckDraft::from_fields(&fields(&[
            ("type", "businessHours"),
            ("time_zone", "Europe/Berlin"),
            ("days", "Monday"),
            ("days", "Friday"),
            ("start_time", "08:00"),
            ("end_time", "18:00"),
        ]))
        .check()?;
        assert_eq!(
            hours.settings,
            json!({"timeZone": "Europe/Berlin", "days": ["Monday", "Friday"], "startTime": "08:00", "endTime": "18:00"})
        );
        assert_eq!(hours.timeout_minutes, None);
        let branches =
            CheckDraft::from_fields(&fields(&[("type", "branchControl"), ("allowed_branches", "main, release/*,")]))
                .check()?;
        assert_eq!(branches.settings, json!({"allowedBranches": ["main", "release/*"]}));
        let bad = CheckDraft::from_fields(&fields(&[("type", "approval"), ("timeout_minutes", "soon")])).check();
        assert!(bad.is_err_and(|message| message.contains("'soon'")));
        let other = CheckDraft::from_fields(&fields(&[
            ("type", "json"),
            ("json_type", " invokeRestApi "),
            ("json_settings", r#"{"url": "https://example.com"}"#),
        ]))
        .check()?;
        assert_eq!((other.kind.as_str(), other.settings), ("invokeRestApi", json!({"url": "https://example.com"})));
        let empty = CheckDraft::from_fields(&fields(&[("type", "json"), ("json_type", "exclusiveLock")])).check()?;
        assert_eq!(empty.settings, json!({}));
        let bad = CheckDraft::from_fields(&fields(&[("type", "json"), ("json_type", "x"), ("json_settings", "[")]));
        assert!(bad.check().is_err_and(|message| message.starts_with("The settings are not JSON")));
        Ok(())
    }

    #[test]
    fn settings_are_shown_for_people() {
        let shown = settings_summary(
            "approval",
            &json!({"approvers": ["ana", "<b>bo</b>"], "minRequiredApprovers": 1, "requesterCannotBeApprover": true}),
        )
        .into_string();
        assert!(shown.contains("Approvers: ana, &lt;b&gt;bo&lt;/b&gt;"), "{shown}");
        assert!(shown.contains("1 of 2 must approve") && shown.contains("may not approve"), "{shown}");
        let shown = settings_summary("branchControl", &json!({"allowedBranches": "main, release/*"})).into_string();
        assert!(shown.contains("<code>main</code>, <code>release/*</code>"), "{shown}");
        let shown = settings_summary(
            "businessHours",
            &json!({"timeZone": "UTC", "days": [], "startTime": "09:00", "endTime": "17:00"}),
        )
        .into_string();
        assert!(shown.contains("every day") && shown.contains("09:00–17:00 (UTC)"), "{shown}");
        assert!(settings_summary("future", &json!({"a": 1})).into_string().contains("{&quot;a&quot;:1}"));
    }

    #[test]
    fn each_resource_has_its_addresses_and_one_section_renders_them() {
        let pool = ResourceRef::Pool("gpu pool");
        assert_eq!(action_base(ResourceRef::Environment("prod/eu")), "/environments/prod%2Feu");
        assert_eq!(action_base(ResourceRef::VariableGroup("Shared settings")), "/library/Shared%20settings");
        assert_eq!(action_base(pool), "/agents/pools/gpu%20pool");
        assert_eq!(page_of(ResourceRef::VariableGroup("a b")), "/library/a%20b#checks");
        assert_eq!(page_of(pool), "/agents#checks-gpu%20pool");
        let check = Check {
            id: 7,
            resource_type: "pool".to_owned(),
            resource: "gpu pool".to_owned(),
            kind: "branchControl".to_owned(),
            settings: json!({"allowedBranches": ["<main>"]}),
            timeout_minutes: 60,
            created_by: Some("<admin>".to_owned()),
            created_at: 0,
        };
        let admin = Viewer::for_tests("admin", UserRole::Admin);
        let refused = CheckForm {
            problem: Some("<bad> branches".to_owned()),
            draft: CheckDraft {
                kind: "branchControl".to_owned(),
                branches: "\" , \"".to_owned(),
                ..CheckDraft::default()
            },
        };
        let shown = checks_section(&admin, &action_base(pool), pool, std::slice::from_ref(&check), Some(&refused))
            .into_string();
        assert!(shown.contains("id=\"checks-gpu%20pool\"") && shown.contains("Checks on pool gpu pool"), "{shown}");
        assert!(shown.contains("action=\"/agents/pools/gpu%20pool/checks/7/delete\""), "{shown}");
        assert!(
            shown.contains("id=\"add-check-gpu%20pool\"")
                && shown.contains("action=\"/agents/pools/gpu%20pool/checks\"")
        );
        assert!(shown.contains("list=\"check-types-gpu%20pool\"") && shown.contains("id=\"check-types-gpu%20pool\""));
        assert!(shown.contains("&lt;bad&gt; branches") && shown.contains("value=\"&quot; , &quot;\""), "{shown}");
        assert!(shown.contains("<code>&lt;main&gt;</code>") && shown.contains("by &lt;admin&gt;"), "{shown}");
        assert!(!shown.contains("<main>") && !shown.contains("<bad>"), "{shown}");
        let reader = Viewer::for_tests("rita", UserRole::Reader);
        let group = ResourceRef::VariableGroup("release");
        let shown = checks_section(&reader, &action_base(group), group, &[check], None).into_string();
        assert!(shown.contains("id=\"checks\"") && shown.contains("A stage that uses this group"), "{shown}");
        assert!(!shown.contains("<form") && !shown.contains("Add a check"), "{shown}");
    }
}
