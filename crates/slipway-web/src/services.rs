//! The services of an environment on its page (`/environments/{name}`): each service's router
//! (the address it listens on and its state), its slots with their upstreams, weights and share of
//! the traffic, their requests so far and success rate; contributors set the weights, add,
//! replace, remove and swap slots there; admins create and delete services.
//!
//! Every read and change goes through the functions the API uses
//! ([`slipway_service::delivery`]), with the signed-in user as the caller, so roles, the checks of
//! names, addresses and upstreams, and the audit log are the same. A form the service refuses
//! shows the environment page again with the service's words beside the form, and what was typed
//! kept.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_api::{CreateService, Service, ServiceSlot, SetSlot, SetTraffic, SwapSlots};
use slipway_service::AppState;
use slipway_service::delivery;
use slipway_store::UserRole;

use super::environments::{Drafts, refused, refused_page};
use super::session::CsrfForm;
use super::{UiError, Viewer, csrf_field, url_encode};

/// The prefix of the traffic form's fields: `weight.SLOT`.
const WEIGHT_FIELD: &str = "weight.";

/// The forms of the services section, to tell which one a refusal belongs beside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServiceForm {
    /// The admins' form to create a service.
    Create,
    /// A service's traffic weights.
    Traffic,
    /// A service's form to add or replace a slot.
    Slot,
    /// A slot's remove button.
    RemoveSlot,
    /// A service's swap form.
    Swap,
}

/// What the services section shows beyond the store: a refused form's words, and what was typed.
#[derive(Debug, Default)]
pub(crate) struct ServiceDrafts {
    /// The refused form, the service it was for (empty for a new service) and the words.
    problem: Option<(ServiceForm, String, String)>,
    /// The new service's name and address.
    new_service: (String, String),
    /// The slot form's name, upstream and weight.
    slot: (String, String, String),
    /// The traffic form's weights as typed, by slot.
    traffic: Vec<(String, String)>,
    /// The swap form's two slots.
    swap: (String, String),
}

impl ServiceDrafts {
    fn refused(form: ServiceForm, service: &str, message: String) -> Self {
        Self { problem: Some((form, service.to_owned(), message)), ..Self::default() }
    }

    /// Whether the refused form was `form` of `service`.
    fn is(&self, form: ServiceForm, service: &str) -> bool {
        self.problem.as_ref().is_some_and(|(kind, name, _)| *kind == form && name.eq_ignore_ascii_case(service))
    }

    fn problem(&self, form: ServiceForm, service: &str) -> Option<&str> {
        self.problem.as_ref().filter(|_| self.is(form, service)).map(|(_, _, message)| message.as_str())
    }
}

fn problem_note(problem: Option<&str>) -> Markup {
    html! { @if let Some(problem) = problem { p.problem role="alert" { (problem) } } }
}

/// `part` of `whole` in tenths of a percent, rounded to the nearest (`round`) or down; `None`
/// when `whole` is 0.
#[must_use]
pub(crate) fn per_mille(part: u128, whole: u128, round: bool) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let part = part.min(whole);
    let scaled = part * 1000 + if round { whole / 2 } else { 0 };
    u64::try_from(scaled / whole).ok()
}

/// Tenths as a number for people: `33.3`, `50`.
#[must_use]
pub(crate) fn tenths(value: u64) -> String {
    if value.is_multiple_of(10) { format!("{}", value / 10) } else { format!("{}.{}", value / 10, value % 10) }
}

/// A slot's share of the traffic: the percentage and a bar (an SVG: the page allows no inline
/// styles).
fn share_cell(weight: u32, total: u64) -> Markup {
    match per_mille(u128::from(weight), u128::from(total), true) {
        Some(share) => {
            let percent = tenths(share);
            html! {
                svg.share width="100" height="8" viewBox="0 0 100 8" role="img" aria-label=(format!("{percent}% of the traffic")) {
                    rect.track x="0" y="0" width="100" height="8" {}
                    rect.fill x="0" y="0" width=(percent) height="8" {}
                }
                " " span.percent { (percent) "%" }
            }
        }
        None => html! { span.muted title="No slot has a weight: only requests that name a slot are served" { "—" } },
    }
}

/// A slot's success rate: answers that were no server error among those that were answered or
/// failed (client errors are the clients'), rounded down so that 100% means none failed.
#[must_use]
pub(crate) fn success_rate(slot: &ServiceSlot) -> String {
    let requests = &slot.requests;
    per_mille(u128::from(requests.ok), u128::from(requests.ok) + u128::from(requests.server_errors), false)
        .map_or_else(|| "—".to_owned(), |rate| format!("{}%", tenths(rate)))
}

/// The badge of a service's router.
fn router_badge(state: &str) -> Markup {
    let class = match state {
        "listening" | "applied" => "s-ok",
        "failed" => "s-fail",
        "starting" => "s-wait",
        _ => "s-skip",
    };
    html! { span class=(format!("badge {class}")) { (state) } }
}

/// The address of a service's forms.
fn service_path(environment: &str, service: &str) -> String {
    format!("/environments/{}/services/{}", url_encode(environment), url_encode(service))
}

/// The id of a service's part of the page.
fn anchor(service: &str) -> String {
    format!("service-{}", url_encode(service))
}

/// The services section of the environment page.
#[must_use]
pub(crate) fn services_section(
    viewer: &Viewer,
    environment: &str,
    services: &[Service],
    drafts: &ServiceDrafts,
) -> Markup {
    let admin = viewer.user.role == UserRole::Admin;
    let encoded = url_encode(environment);
    html! {
        section.panel #services {
            h2 { "Services" }
            p.meta {
                "A service's router listens on its address and splits the requests between the service's slots "
                "(versions side by side) by weight; a client stays on its slot (a cookie), and the "
                code { "x-slipway-slot" } " header sends a request to the slot it names."
            }
            @if services.is_empty() {
                p.empty { "No services." }
            }
            @for service in services {
                (service_part(viewer, environment, service, drafts))
            }
            @if admin {
                h3 { "New service" }
                (problem_note(drafts.problem(ServiceForm::Create, "")))
                form.inline #new-service method="post" action=(format!("/environments/{encoded}/services")) {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="name" required maxlength="100" value=(drafts.new_service.0) autocomplete="off"; }
                    label { "Listen on (IP:port)" input type="text" name="listen" required value=(drafts.new_service.1) placeholder="127.0.0.1:9000" autocomplete="off"; }
                    button.primary type="submit" { "Create service" }
                }
            }
        }
    }
}

fn service_part(viewer: &Viewer, environment: &str, service: &Service, drafts: &ServiceDrafts) -> Markup {
    let contributor = viewer.user.role != UserRole::Reader;
    let admin = viewer.user.role == UserRole::Admin;
    let path = service_path(environment, &service.name);
    let total: u64 = service.slots.iter().map(|slot| u64::from(slot.weight)).sum();
    let name = service.name.as_str();
    let typed_weight = |slot: &str| {
        drafts
            .traffic
            .iter()
            .find(|(typed, _)| typed == slot)
            .filter(|_| drafts.is(ServiceForm::Traffic, name))
            .map(|(_, weight)| weight.clone())
    };
    let slot_draft = drafts.is(ServiceForm::Slot, name).then_some(&drafts.slot);
    let swap_draft = drafts.is(ServiceForm::Swap, name).then_some(&drafts.swap);
    let first =
        swap_draft.map_or_else(|| service.slots.first().map(|slot| slot.name.clone()), |(one, _)| Some(one.clone()));
    let second =
        swap_draft.map_or_else(|| service.slots.get(1).map(|slot| slot.name.clone()), |(_, two)| Some(two.clone()));
    html! {
        section.service id=(anchor(name)) {
            h3 {
                (name) " " code.listen { (service.listen) } " " (router_badge(&service.router))
                @if service.provider == "nginx" { " " span.muted { "through nginx" } }
            }
            @if let Some(message) = &service.message {
                p.router-message { (message) }
            }
            (problem_note(drafts.problem(ServiceForm::RemoveSlot, name)))
            @if service.slots.is_empty() {
                p.empty { "No slots yet: the router answers 503 until a slot takes traffic." }
            } @else {
                table.list.slots {
                    thead { tr {
                        th { "Slot" } th { "Upstream" } th { "Weight" } th { "Share" } th { "Requests" } th { "Success rate" }
                        @if contributor { th { "" } }
                    } }
                    tbody {
                        @for slot in &service.slots {
                            @let requests = &slot.requests;
                            tr {
                                td.slot-name { (slot.name) }
                                td { code { (slot.upstream) } }
                                td.num { (slot.weight) }
                                td.share { (share_cell(slot.weight, total)) }
                                td.num.requests {
                                    (requests.ok.saturating_add(requests.client_errors).saturating_add(requests.server_errors))
                                    span.muted { " (" (requests.ok) " ok, " (requests.client_errors) " 4xx, " (requests.server_errors) " 5xx)" }
                                }
                                td.num.success { (success_rate(slot)) }
                                @if contributor {
                                    td {
                                        form.inline method="post" action=(format!("{path}/slots/{}/delete", url_encode(&slot.name))) {
                                            (csrf_field(viewer))
                                            button.danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if contributor {
                @if !service.slots.is_empty() {
                    h4 { "Traffic" }
                    (problem_note(drafts.problem(ServiceForm::Traffic, name)))
                    form.inline.traffic method="post" action=(format!("{path}/traffic")) {
                        (csrf_field(viewer))
                        @for slot in &service.slots {
                            label {
                                (slot.name)
                                input type="number" name=(format!("{WEIGHT_FIELD}{}", slot.name)) min="0" max=(u32::MAX) step="1" required
                                    value=(typed_weight(&slot.name).unwrap_or_else(|| slot.weight.to_string()));
                            }
                        }
                        button type="submit" { "Set weights" }
                    }
                }
                @if service.slots.len() >= 2 {
                    h4 { "Swap two slots' versions" }
                    p.muted { "Each slot keeps its name and weight and takes the other's upstream (a blue-green swap)." }
                    (problem_note(drafts.problem(ServiceForm::Swap, name)))
                    form.inline.swap method="post" action=(format!("{path}/swap")) {
                        (csrf_field(viewer))
                        label { "Slot" (slot_select("first", &service.slots, first.as_deref())) }
                        label { "with" (slot_select("second", &service.slots, second.as_deref())) }
                        button type="submit" { "Swap" }
                    }
                }
                h4 { "Add or replace a slot" }
                (problem_note(drafts.problem(ServiceForm::Slot, name)))
                form.inline.set-slot method="post" action=(format!("{path}/slots")) {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="slot" required maxlength="64" value=(slot_draft.map(|draft| draft.0.as_str()).unwrap_or_default()) autocomplete="off"; }
                    label { "Upstream" input type="text" name="upstream" required value=(slot_draft.map(|draft| draft.1.as_str()).unwrap_or_default()) placeholder="http://127.0.0.1:8080" autocomplete="off"; }
                    label { "Weight" input type="number" name="weight" min="0" max=(u32::MAX) step="1" value=(slot_draft.map_or("0", |draft| draft.2.as_str())); }
                    button type="submit" { "Set slot" }
                }
            }
            @if admin {
                form.inline.delete-service method="post" action=(format!("{path}/delete")) {
                    (csrf_field(viewer))
                    button.danger type="submit" { "Delete service " (name) }
                }
            }
        }
    }
}

fn slot_select(name: &str, slots: &[ServiceSlot], chosen: Option<&str>) -> Markup {
    html! {
        select name=(name) {
            @for slot in slots {
                option value=(slot.name) selected[chosen.is_some_and(|chosen| chosen.eq_ignore_ascii_case(&slot.name))] { (slot.name) }
            }
        }
    }
}

/// Where a change of `service` goes back to.
fn back_to(environment: &str, service: Option<&str>) -> Response {
    let fragment = service.map_or_else(|| "services".to_owned(), anchor);
    Redirect::to(&format!("/environments/{}#{fragment}", url_encode(environment))).into_response()
}

/// The environment page again with a refused services form beside its words.
async fn show_refusal(
    state: &AppState,
    viewer: &Viewer,
    environment: &str,
    status: StatusCode,
    drafts: ServiceDrafts,
) -> Result<Response, UiError> {
    refused_page(state, viewer, environment, status, &Drafts::with_services(drafts)).await
}

/// A whole number of weight, or the words for a form.
fn weight(text: &str, what: &str) -> Result<u32, String> {
    match text.trim() {
        "" => Ok(0),
        text => {
            text.parse::<u32>().map_err(|_| format!("{what} is a whole number from 0 to {}, not '{text}'.", u32::MAX))
        }
    }
}

/// The form that creates a service.
#[derive(Debug, Deserialize)]
pub(crate) struct NewServiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    listen: String,
}

/// `POST /environments/{name}/services` (admin): creates a service, as
/// `POST /api/v1/environments/{name}/services` does.
pub(crate) async fn create_service(
    State(state): State<AppState>,
    viewer: Viewer,
    name: Result<Path<String>, PathRejection>,
    form: Result<Form<NewServiceForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path(name) = name?;
    viewer.require(UserRole::Admin)?;
    let body =
        CreateService { name: form.name.trim().to_owned(), listen: form.listen.trim().to_owned(), provider: None };
    match delivery::create(&state, &viewer.caller(), &name, &body).await {
        Ok(created) => Ok(back_to(&name, Some(&created.name))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts {
                new_service: (form.name, form.listen),
                ..ServiceDrafts::refused(ServiceForm::Create, "", message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/delete` (admin): deletes a service and stops its
/// router, as `DELETE /api/v1/environments/{name}/services/{service}` does.
pub(crate) async fn delete_service(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    delivery::delete(&state, &viewer.caller(), &name, &service).await?;
    Ok(back_to(&name, None))
}

/// The form that adds or replaces a slot.
#[derive(Debug, Deserialize)]
pub(crate) struct SlotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    weight: String,
}

/// `POST /environments/{name}/services/{service}/slots` (contributor): adds or replaces the slot
/// the form names, as `PUT /api/v1/environments/{name}/services/{service}/slots/{slot}` does.
pub(crate) async fn set_slot(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<SlotForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let outcome = match weight(&form.weight, "The weight") {
        Ok(weight) => {
            let body = SetSlot { upstream: form.upstream.trim().to_owned(), weight };
            match delivery::set_slot(&state, &viewer.caller(), &name, &service, &form.slot, &body).await {
                Ok(_) => None,
                Err(error) => Some(refused(error)?),
            }
        }
        Err(message) => Some((StatusCode::BAD_REQUEST, message)),
    };
    match outcome {
        None => Ok(back_to(&name, Some(&service))),
        Some((status, message)) => {
            let drafts = ServiceDrafts {
                slot: (form.slot, form.upstream, form.weight),
                ..ServiceDrafts::refused(ServiceForm::Slot, &service, message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/slots/{slot}/delete` (contributor): removes a
/// slot, as `DELETE /api/v1/environments/{name}/services/{service}/slots/{slot}` does.
pub(crate) async fn delete_slot(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String, String)>, PathRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service, slot)) = path?;
    match delivery::delete_slot(&state, &viewer.caller(), &name, &service, &slot).await {
        Ok(_) => Ok(back_to(&name, Some(&service))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts::refused(ServiceForm::RemoveSlot, &service, message);
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// `POST /environments/{name}/services/{service}/traffic` (contributor): sets the weights of the
/// slots the form names (`weight.SLOT` fields), as
/// `POST /api/v1/environments/{name}/services/{service}/traffic` does.
pub(crate) async fn set_traffic(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(fields) = form?;
    let csrf = fields.iter().rev().find(|(key, _)| key == "csrf").map(|(_, value)| value.as_str());
    viewer.check_csrf(csrf.unwrap_or_default())?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let typed: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(key, value)| key.strip_prefix(WEIGHT_FIELD).map(|slot| (slot.to_owned(), value.clone())))
        .collect();
    let mut weights = BTreeMap::new();
    let mut problem = None;
    for (slot, text) in &typed {
        match weight(text, &format!("The weight of slot '{slot}'")) {
            Ok(weight) => {
                weights.insert(slot.clone(), weight);
            }
            Err(message) => {
                problem = Some(message);
                break;
            }
        }
    }
    if weights.is_empty() && problem.is_none() {
        problem = Some("The form names no slot's weight.".to_owned());
    }
    let outcome = match problem {
        Some(message) => Some((StatusCode::BAD_REQUEST, message)),
        None => match delivery::set_traffic(&state, &viewer.caller(), &name, &service, &SetTraffic { weights }).await {
            Ok(_) => None,
            Err(error) => Some(refused(error)?),
        },
    };
    match outcome {
        None => Ok(back_to(&name, Some(&service))),
        Some((status, message)) => {
            let drafts =
                ServiceDrafts { traffic: typed, ..ServiceDrafts::refused(ServiceForm::Traffic, &service, message) };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

/// The form that swaps two slots.
#[derive(Debug, Deserialize)]
pub(crate) struct SwapForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    second: String,
}

/// `POST /environments/{name}/services/{service}/swap` (contributor): swaps two slots' versions,
/// as `POST /api/v1/environments/{name}/services/{service}/swap` does.
pub(crate) async fn swap(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<SwapForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let Path((name, service)) = path?;
    viewer.require(UserRole::Contributor)?;
    let body = SwapSlots { slots: [form.first.clone(), form.second.clone()] };
    match delivery::swap(&state, &viewer.caller(), &name, &service, &body).await {
        Ok(_) => Ok(back_to(&name, Some(&service))),
        Err(error) => {
            let (status, message) = refused(error)?;
            let drafts = ServiceDrafts {
                swap: (form.first, form.second),
                ..ServiceDrafts::refused(ServiceForm::Swap, &service, message)
            };
            show_refusal(&state, &viewer, &name, status, drafts).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_api::SlotRequests;

    fn slot(name: &str, weight: u32, ok: u64, client_errors: u64, server_errors: u64) -> ServiceSlot {
        ServiceSlot {
            name: name.to_owned(),
            upstream: format!("http://127.0.0.1:1/{name}"),
            weight,
            requests: SlotRequests { ok, client_errors, server_errors },
        }
    }

    fn service(slots: Vec<ServiceSlot>) -> Service {
        Service {
            id: 1,
            environment: "prod".to_owned(),
            name: "shop".to_owned(),
            listen: "127.0.0.1:9000".to_owned(),
            provider: "router".to_owned(),
            router: "failed".to_owned(),
            message: Some("<b>address in use</b>".to_owned()),
            slots,
        }
    }

    #[test]
    fn shares_and_rates_read_well() {
        assert_eq!(per_mille(1, 3, true).map(tenths).as_deref(), Some("33.3"));
        assert_eq!(per_mille(2, 3, true).map(tenths).as_deref(), Some("66.7"));
        assert_eq!(per_mille(50, 100, true).map(tenths).as_deref(), Some("50"));
        assert_eq!(per_mille(0, 0, true), None);
        assert_eq!(per_mille(u128::from(u64::MAX), u128::from(u64::MAX), false), Some(1000));
        assert_eq!(per_mille(9999, 10_000, false).map(tenths).as_deref(), Some("99.9"), "rates round down");
        assert_eq!(success_rate(&slot("a", 1, 0, 0, 0)), "—");
        assert_eq!(success_rate(&slot("a", 1, 0, 5, 0)), "—", "client errors alone say nothing of the slot");
        assert_eq!(success_rate(&slot("a", 1, 3, 7, 1)), "75%");
        assert_eq!(success_rate(&slot("a", 1, u64::MAX, 0, u64::MAX)), "50%");
        assert_eq!(weight(" 7 ", "x"), Ok(7));
        assert_eq!(weight("", "x"), Ok(0));
        assert!(weight("-1", "The weight").is_err_and(|message| message.contains("not '-1'")));
        assert!(weight("4294967296", "The weight").is_err());
    }

    #[test]
    fn services_show_escaped_and_forms_by_role() {
        let shown = |role: UserRole| {
            let viewer = Viewer::for_tests("ana", role);
            let services = [service(vec![slot("blue", 1, 3, 0, 1), slot("green", 3, 0, 0, 0)])];
            services_section(&viewer, "prod <1>", &services, &ServiceDrafts::default()).into_string()
        };
        let reader = shown(UserRole::Reader);
        assert!(!reader.contains("<form"), "{reader}");
        assert!(reader.contains("&lt;b&gt;address in use&lt;/b&gt;") && !reader.contains("<b>address"), "{reader}");
        assert!(reader.contains("<span class=\"badge s-fail\">failed</span>"), "{reader}");
        assert!(reader.contains("25%") && reader.contains("75%"), "{reader}");
        assert!(reader.contains("width=\"25\"") && reader.contains("width=\"75\""), "{reader}");
        let contributor = shown(UserRole::Contributor);
        for action in [
            "/environments/prod%20%3C1%3E/services/shop/traffic",
            "/environments/prod%20%3C1%3E/services/shop/swap",
            "/environments/prod%20%3C1%3E/services/shop/slots",
            "/environments/prod%20%3C1%3E/services/shop/slots/blue/delete",
        ] {
            assert!(contributor.contains(&format!("action=\"{action}\"")), "{action}: {contributor}");
        }
        assert!(contributor.contains("name=\"weight.green\""), "{contributor}");
        assert!(!contributor.contains("Delete service") && !contributor.contains("new-service"), "{contributor}");
        let admin = shown(UserRole::Admin);
        assert!(admin.contains("id=\"new-service\"") && admin.contains("services/shop/delete"), "{admin}");
        assert_eq!(admin.matches("<form").count(), admin.matches("name=\"csrf\"").count(), "{admin}");
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_beside_its_words() {
        let viewer = Viewer::for_tests("ana", UserRole::Admin);
        let services = [service(vec![slot("blue", 0, 0, 0, 0)])];
        let drafts = ServiceDrafts {
            slot: ("red".to_owned(), "file:///\"x\"".to_owned(), "x".to_owned()),
            ..ServiceDrafts::refused(ServiceForm::Slot, "SHOP", "no <good>".to_owned())
        };
        let shown = services_section(&viewer, "prod", &services, &drafts).into_string();
        let after = shown.split("Add or replace a slot").nth(1).unwrap_or_default();
        assert!(after.contains("no &lt;good&gt;") && after.contains("value=\"file:///&quot;x&quot;\""), "{shown}");
        assert_eq!(shown.matches("role=\"alert\"").count(), 1, "{shown}");
        assert!(shown.contains("—"), "no weight at all: {shown}");
    }
}
