//! Notification subscriptions and their delivery log in the web UI: `/notifications` lists the
//! subscriptions (targets' paths and secrets masked, as the API shows them) and the last
//! deliveries (state, attempts, the last answer and error); admins add a subscription, send a
//! test and remove one there (each form with the session's CSRF token).
//!
//! Every read and change goes through [`slipway_service::notifications`] with the signed-in user
//! as the caller, so roles and the audit log are the API's; a form the service refuses shows the
//! page again with its words.

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use slipway_api::{
    CreateNotificationSubscription, NotificationDeliveriesQuery, NotificationDelivery, NotificationSubscription,
};
use slipway_service::notifications as service;
use slipway_store::UserRole;

use crate::environments::{refused, time_of};
use crate::{AppState, UiError, Viewer, csrf_field, page};

/// The routes of these pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(notifications).post(subscribe))
        .route("/notifications/{id}/test", post(test))
        .route("/notifications/{id}/delete", post(remove))
}

/// The values of a comma-separated field.
fn values(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned).collect()
}

fn state_badge(state: &str) -> Markup {
    let class = match state {
        "delivered" => "badge s-ok",
        "failed" => "badge s-fail",
        _ => "badge s-run",
    };
    html! { span class=(class) { (state) } }
}

fn subscriptions_table(viewer: &Viewer, subscriptions: &[NotificationSubscription]) -> Markup {
    let admin = viewer.user.role == UserRole::Admin;
    html! {
        @if subscriptions.is_empty() {
            p.empty { "No subscriptions yet." }
        } @else {
            table.list.subscriptions {
                thead { tr {
                    th { "Id" } th { "Name" } th { "Kind" } th { "Target" } th { "Secret" } th { "Scope" } th { "Filters" }
                    @if admin { th { "" } }
                } }
                tbody {
                    @for subscription in subscriptions {
                        tr {
                            td { (subscription.id) }
                            td { (subscription.name) }
                            td { (subscription.kind) }
                            td { code { (subscription.target) } }
                            td { (subscription.secret.as_deref().unwrap_or("-")) }
                            td {
                                @if let Some(pipeline) = &subscription.pipeline { "pipeline " (pipeline) }
                                @else if let Some(environment) = &subscription.environment { "environment " (environment) }
                                @else { "everything" }
                            }
                            td {
                                @for (name, list) in [("types", &subscription.types), ("branches", &subscription.branches), ("results", &subscription.results)] {
                                    @if !list.is_empty() { span.meta { (name) ": " (list.join(", ")) " " } }
                                }
                            }
                            @if admin {
                                td {
                                    form.inline method="post" action=(format!("/notifications/{}/test", subscription.id)) {
                                        (csrf_field(viewer))
                                        button type="submit" { "Send a test" }
                                    }
                                    form.inline method="post" action=(format!("/notifications/{}/delete", subscription.id)) {
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
    }
}

fn deliveries_table(deliveries: &[NotificationDelivery]) -> Markup {
    html! {
        @if deliveries.is_empty() {
            p.empty { "Nothing delivered yet." }
        } @else {
            table.list.deliveries {
                thead { tr {
                    th { "Id" } th { "Subscription" } th { "Event" } th { "State" } th { "Attempts" } th { "Answer" }
                    th { "Last error" } th { "Queued" } th { "Delivered" }
                } }
                tbody {
                    @for delivery in deliveries {
                        tr {
                            td { (delivery.id) }
                            td { (delivery.subscription) }
                            td { code { (delivery.event_type) } }
                            td { (state_badge(&delivery.state)) }
                            td { (delivery.attempts) }
                            td { (delivery.response_status.map_or_else(|| "-".to_owned(), |status| status.to_string())) }
                            td { (delivery.last_error.as_deref().unwrap_or("-")) }
                            td { (time_of(delivery.created_at)) }
                            td { (delivery.delivered_at.map_or_else(|| "-".to_owned(), time_of)) }
                        }
                    }
                }
            }
        }
    }
}

fn new_form(viewer: &Viewer, problem: Option<&str>, draft: &SubscribeForm) -> Markup {
    html! {
        section.panel #new-subscription {
            h2 { "New subscription" }
            @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
            form.grid method="post" action="/notifications" {
                (csrf_field(viewer))
                label { "Name" input type="text" name="name" required maxlength="200" value=(draft.name); }
                label { "Kind"
                    select name="kind" {
                        @for kind in ["slack", "teams", "email", "webhook"] {
                            option value=(kind) selected[draft.kind == kind] { (kind) }
                        }
                    }
                }
                label { "Target (an http(s) URL, or smtp://HOST:PORT/TO@EXAMPLE.COM)" input type="text" name="target" required value=(draft.target); }
                label { "Secret (webhooks: the HMAC key; never shown again)" input type="password" name="secret" autocomplete="off"; }
                label { "Pipeline (only its events)" input type="text" name="pipeline" value=(draft.pipeline); }
                label { "Environment (only its events)" input type="text" name="environment" value=(draft.environment); }
                label { "Event types (prefixes, comma-separated)" input type="text" name="types" placeholder="pipelinerun.finished, slipway-approval.created" value=(draft.types); }
                label { "Branches (comma-separated)" input type="text" name="branches" value=(draft.branches); }
                label { "Results (comma-separated)" input type="text" name="results" placeholder="failure" value=(draft.results); }
                button.primary type="submit" { "Subscribe" }
            }
        }
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    problem: Option<&str>,
    draft: &SubscribeForm,
) -> Result<Markup, UiError> {
    let caller = viewer.caller();
    let subscriptions = service::list(state, &caller).await?;
    let deliveries =
        service::deliveries(state, &caller, &NotificationDeliveriesQuery { limit: Some(100), ..Default::default() })
            .await?;
    Ok(html! {
        h1 { "Notifications" }
        p.meta {
            "Events of the stream sent to Slack, Microsoft Teams, e-mail and webhooks (the CloudEvent, signed with HMAC-SHA256). "
            "A delivery that gets no answer or a 5xx is tried again with a back-off; a 4xx fails it."
        }
        h2 { "Subscriptions" }
        (subscriptions_table(viewer, &subscriptions))
        @if viewer.user.role == UserRole::Admin { (new_form(viewer, problem, draft)) }
        h2 { "Deliveries" }
        (deliveries_table(&deliveries))
    })
}

/// `GET /notifications` (reader).
pub(crate) async fn notifications(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let body = render(&state, &viewer, None, &SubscribeForm::default()).await?;
    Ok(page("Notifications", Some(&viewer), &body).into_response())
}

/// The "New subscription" form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    pipeline: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    types: String,
    #[serde(default)]
    branches: String,
    #[serde(default)]
    results: String,
}

/// `POST /notifications` (admin): subscribes, as `POST /api/v1/notifications/subscriptions`.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<SubscribeForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let body = CreateNotificationSubscription {
        name: form.name.clone(),
        kind: form.kind.clone(),
        target: form.target.clone(),
        secret: optional(&form.secret),
        pipeline: optional(&form.pipeline),
        environment: optional(&form.environment),
        types: values(&form.types),
        branches: values(&form.branches),
        results: values(&form.results),
        enabled: None,
    };
    match service::create(&state, &viewer.caller(), &body).await {
        Ok(_) => Ok(Redirect::to("/notifications").into_response()),
        Err(error) => {
            let (status, message) = refused(error)?;
            let body = render(&state, &viewer, Some(&message), &form).await?;
            Ok((status, page("Notifications", Some(&viewer), &body)).into_response())
        }
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /notifications/{id}/test` (admin): queues a test notification.
pub(crate) async fn test(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    service::test(&state, &viewer.caller(), id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// `POST /notifications/{id}/delete` (admin): removes a subscription and its deliveries.
pub(crate) async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id?;
    let Form(form) = form?;
    viewer.check_csrf(&form.csrf)?;
    service::delete(&state, &viewer.caller(), id).await?;
    Ok(Redirect::to("/notifications").into_response())
}
