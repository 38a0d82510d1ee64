//! `slipway notifications ...`: subscriptions to the event stream and their deliveries.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table, value_from_stdin};
use crate::output::outln;

/// `slipway notifications`.
#[derive(Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: NotificationsCommand,
}

#[derive(Subcommand, Debug)]
enum NotificationsCommand {
    /// Subscribe Slack, Teams, an e-mail address or a webhook to the event stream (admin).
    Subscribe {
        /// Its name, unique.
        #[arg(long)]
        name: String,
        /// `slack`, `teams`, `email` or `webhook`.
        #[arg(long)]
        kind: String,
        /// An http(s) URL, or for e-mail `smtp://HOST:PORT/TO[,TO...][?from=ADDRESS]`.
        #[arg(long)]
        target: String,
        /// A webhook's HMAC-SHA256 key (visible in the process list: prefer --secret-stdin).
        #[arg(long, conflicts_with = "secret_stdin")]
        secret: Option<String>,
        /// Read the webhook's key from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Only this pipeline's events.
        #[arg(long, conflicts_with = "environment")]
        pipeline: Option<String>,
        /// Only this environment's events.
        #[arg(long)]
        environment: Option<String>,
        /// Only events whose type starts with this (as `pipelinerun.finished`); repeat for more.
        #[arg(long = "type", value_name = "PREFIX")]
        types: Vec<String>,
        /// Only events of this branch; repeat for more.
        #[arg(long = "branch", value_name = "BRANCH")]
        branches: Vec<String>,
        /// Only events with this result or outcome (`Failed`, `failure`...); repeat for more.
        #[arg(long = "result", value_name = "RESULT")]
        results: Vec<String>,
    },
    /// List the subscriptions (targets' paths and secrets masked).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Delete a subscription and its delivery log (admin).
    Remove {
        /// The subscription's id.
        id: i64,
    },
    /// The delivery log, newest first.
    Deliveries {
        /// Only of this subscription.
        #[arg(long, value_name = "ID")]
        subscription: Option<i64>,
        /// Only in this state: `pending`, `delivered` or `failed`.
        #[arg(long)]
        state: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Send a test notification to a subscription (admin).
    Test {
        /// The subscription's id.
        id: i64,
    },
}

fn scope(subscription: &api::NotificationSubscription) -> String {
    match (&subscription.pipeline, &subscription.environment) {
        (Some(pipeline), _) => format!("pipeline {pipeline}"),
        (None, Some(environment)) => format!("environment {environment}"),
        (None, None) => "everything".to_owned(),
    }
}

fn filters(subscription: &api::NotificationSubscription) -> String {
    let mut parts = Vec::new();
    for (name, values) in
        [("type", &subscription.types), ("branch", &subscription.branches), ("result", &subscription.results)]
    {
        if !values.is_empty() {
            parts.push(format!("{name}={}", values.join(",")));
        }
    }
    if parts.is_empty() { "-".to_owned() } else { parts.join(" ") }
}

/// Runs `slipway notifications`.
///
/// # Errors
/// When the server cannot be reached or refuses.
pub fn notifications(args: NotificationsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        NotificationsCommand::Subscribe {
            name,
            kind,
            target,
            secret,
            secret_stdin,
            pipeline,
            environment,
            types,
            branches,
            results,
        } => {
            let secret = if secret_stdin { Some(value_from_stdin("Secret: ", true)?) } else { secret };
            let body = api::CreateNotificationSubscription {
                name,
                kind,
                target,
                secret,
                pipeline,
                environment,
                types,
                branches,
                results,
                enabled: None,
            };
            let created: api::NotificationSubscription =
                client.post("/notifications/subscriptions", &body).map_err(fail)?;
            outln!("Subscription {} '{}' created ({} to {}).", created.id, created.name, created.kind, created.target);
        }
        NotificationsCommand::List { format } => {
            let list: Vec<api::NotificationSubscription> = client.get("/notifications/subscriptions").map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&list).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|subscription| {
                    vec![
                        subscription.id.to_string(),
                        subscription.name.clone(),
                        subscription.kind.clone(),
                        subscription.target.clone(),
                        subscription.secret.clone().unwrap_or_else(|| "-".to_owned()),
                        scope(subscription),
                        filters(subscription),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "KIND", "TARGET", "SECRET", "SCOPE", "FILTERS"], &rows);
        }
        NotificationsCommand::Remove { id } => {
            client.delete(&format!("/notifications/subscriptions/{id}")).map_err(fail)?;
            outln!("Subscription {id} removed.");
        }
        NotificationsCommand::Deliveries { subscription, state, format } => {
            let mut query = Vec::new();
            if let Some(subscription) = subscription {
                query.push(format!("subscription={subscription}"));
            }
            if let Some(state) = state {
                let encoded: String = state
                    .bytes()
                    .map(|byte| {
                        if byte.is_ascii_alphanumeric() { char::from(byte).to_string() } else { format!("%{byte:02X}") }
                    })
                    .collect();
                query.push(format!("state={encoded}"));
            }
            let path = if query.is_empty() {
                "/notifications/deliveries".to_owned()
            } else {
                format!("/notifications/deliveries?{}", query.join("&"))
            };
            let list: Vec<api::NotificationDelivery> = client.get(&path).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&list).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|delivery| {
                    vec![
                        delivery.id.to_string(),
                        delivery.subscription.to_string(),
                        delivery.event_type.clone(),
                        delivery.state.clone(),
                        delivery.attempts.to_string(),
                        delivery.response_status.map_or_else(|| "-".to_owned(), |status| status.to_string()),
                        delivery.last_error.clone().unwrap_or_else(|| "-".to_owned()),
                    ]
                })
                .collect();
            print_table(&["ID", "SUBSCRIPTION", "EVENT", "STATE", "ATTEMPTS", "STATUS", "LAST ERROR"], &rows);
        }
        NotificationsCommand::Test { id } => {
            let queued: api::NotificationDelivery = client
                .post(&format!("/notifications/subscriptions/{id}/test"), &serde_json::json!({}))
                .map_err(fail)?;
            outln!("Test notification queued (delivery {}).", queued.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
