//! `slipway work-items ...`: work items and incidents: list them, show one with its links and
//! comments, open one, change it, comment on it, resolve it and link it to a run, commit,
//! deployment, environment or pipeline.
//!
//! The calls are the API's (`/api/v1/work-items`), sent with the client's JSON basics and the
//! API's wire types.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::{Client, api};

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway work-items`.
#[derive(Args, Debug)]
pub struct WorkItemsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: WorkItemsCommand,
}

#[derive(Subcommand, Debug)]
enum WorkItemsCommand {
    /// List work items, newest first.
    List {
        /// Only of this kind: bug, task or incident.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only in this state: new, active, resolved, closed, open (new or active) or done
        /// (resolved or closed).
        #[arg(long, value_name = "STATE", conflicts_with = "open")]
        state: Option<String>,
        /// Only those not done (new or active): `--state open`.
        #[arg(long)]
        open: bool,
        /// Only those assigned to this user.
        #[arg(long, value_name = "USER")]
        assignee: Option<String>,
        /// Only about this environment.
        #[arg(long, value_name = "NAME")]
        environment: Option<String>,
        /// At most this many (1 to 500).
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: i64,
        /// Output format (`json`: the API's).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Show a work item with its links and comments.
    Show {
        /// The work item's id.
        id: i64,
        /// Output format (`json`: the API's).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Open a work item (contributor).
    Create {
        /// bug, task or incident.
        #[arg(long, value_name = "KIND")]
        kind: String,
        /// Its title.
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// Its description.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
        /// critical, high, medium or low.
        #[arg(long, value_name = "SEVERITY")]
        severity: Option<String>,
        /// Who is on it (a user's name).
        #[arg(long, value_name = "USER")]
        assignee: Option<String>,
        /// The environment it is about.
        #[arg(long, value_name = "NAME")]
        environment: Option<String>,
    },
    /// Change a work item's state, assignee, title, description or severity (contributor).
    Update {
        /// The work item's id.
        id: i64,
        /// new, active, resolved or closed.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// The new assignee ("" to unassign).
        #[arg(long, value_name = "USER")]
        assignee: Option<String>,
        /// The new title.
        #[arg(long, value_name = "TEXT")]
        title: Option<String>,
        /// The new description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// critical, high, medium or low ("" to clear).
        #[arg(long, value_name = "SEVERITY")]
        severity: Option<String>,
    },
    /// Add a comment to a work item (contributor).
    Comment {
        /// The work item's id.
        id: i64,
        /// What it says.
        text: String,
    },
    /// Resolve a work item (contributor).
    Resolve {
        /// The work item's id.
        id: i64,
        /// How it was resolved.
        #[arg(long, value_name = "TEXT")]
        resolution: Option<String>,
    },
    /// Link a work item to a run, commit, deployment, environment or pipeline (contributor).
    Link {
        /// The work item's id.
        id: i64,
        /// A run's id.
        #[arg(long, value_name = "ID", group = "target")]
        run: Option<i64>,
        /// A commit's id.
        #[arg(long, value_name = "SHA", group = "target")]
        commit: Option<String>,
        /// A deployment's id.
        #[arg(long, value_name = "ID", group = "target")]
        deployment: Option<i64>,
        /// An environment's name.
        #[arg(long, value_name = "NAME", group = "target")]
        environment: Option<String>,
        /// A pipeline's id.
        #[arg(long, value_name = "ID", group = "target")]
        pipeline: Option<i64>,
    },
    /// Show a pipeline's rules for the work items its runs open, or change them (admin): whether
    /// failures open bugs, the protected branches, the security threshold, whether failed
    /// deployments open incidents, and whom new items go to.
    Rules(RulesArgs),
}

/// `slipway work-items rules PIPELINE [changes]`.
#[derive(Args, Debug)]
struct RulesArgs {
    /// The pipeline's name.
    pipeline: String,
    /// Whether a failed run of a protected branch opens (or bumps) a bug.
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    failures: Option<bool>,
    /// A protected branch (a name or a wildcard such as `release/*`); repeat for several. They
    /// replace the ones the rules name.
    #[arg(long = "branch", value_name = "PATTERN", conflicts_with = "default_branch")]
    branches: Vec<String>,
    /// Protect only the pipeline's default branch (the rules name no branches).
    #[arg(long)]
    default_branch: bool,
    /// The lowest severity of a security finding that opens a bug: off, low, medium, high or
    /// critical.
    #[arg(long, value_name = "THRESHOLD")]
    security: Option<String>,
    /// Whether a failed or rolled-back deployment of the pipeline's runs opens an incident.
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    incidents: Option<bool>,
    /// Whom new items are assigned to (a user's name; "" for nobody).
    #[arg(long, value_name = "USER")]
    assignee: Option<String>,
    /// Output format (`json`: the API's).
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

/// `on` or `off` (also `true`/`false`, `yes`/`no`).
fn on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("'{other}' is not on or off")),
    }
}

/// Prints a pipeline's work-item rules.
fn print_rules(rules: &api::WorkItemRules) {
    let on = |value: bool| if value { "on" } else { "off" };
    let branches = if rules.branches.is_empty() { "the default branch".to_owned() } else { rules.branches.join(", ") };
    outln!("Work-item rules of pipeline {}:", rules.pipeline);
    outln!("  protected branches: {branches}");
    outln!("  failed runs open bugs: {}", on(rules.failures));
    outln!("  security findings open bugs at: {}", rules.security);
    outln!("  failed deployments open incidents: {}", on(rules.incidents));
    outln!("  new items assigned to: {}", rules.assignee.as_deref().unwrap_or("nobody"));
    match (&rules.updated_by, rules.updated_at) {
        (Some(by), Some(at)) => outln!("  set by {by} at {}", when(at)),
        _ => outln!("  (the defaults: nobody has set them)"),
    }
}

/// A time for people: `2026-12-07 09:30 UTC`.
fn when(milliseconds: i64) -> String {
    jiff::Timestamp::from_millisecond(milliseconds)
        .map(|time| time.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| milliseconds.to_string())
}

/// An API path of one work item.
fn item_path(id: i64) -> String {
    format!("/work-items/{id}")
}

/// `GET /work-items` with the query.
fn list_items(client: &Client, query: &api::WorkItemsQuery) -> slipway_client::Result<api::WorkItemPage> {
    let mut parts = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name}={}", api::path_segment(&value)));
        }
    };
    add("kind", query.kind.clone());
    add("state", query.state.clone());
    add("assignee", query.assignee.clone());
    add("environment", query.environment.clone());
    add("limit", query.limit.map(|limit| limit.to_string()));
    let path = if parts.is_empty() { "/work-items".to_owned() } else { format!("/work-items?{}", parts.join("&")) };
    client.get(&path)
}

fn print_list(items: &[api::WorkItem]) {
    if items.is_empty() {
        outln!("No work items.");
        return;
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            vec![
                item.id.to_string(),
                item.kind.clone(),
                item.state.clone(),
                item.severity.clone().unwrap_or_else(|| "-".to_owned()),
                item.assignee.clone().unwrap_or_else(|| "-".to_owned()),
                item.occurrences.to_string(),
                item.title.clone(),
            ]
        })
        .collect();
    print_table(&["ID", "KIND", "STATE", "SEVERITY", "ASSIGNEE", "SEEN", "TITLE"], &rows);
}

fn print_details(details: &api::WorkItemDetails) {
    let item = &details.work_item;
    outln!("#{} {}: {}", item.id, item.kind, item.title);
    outln!("State:       {}", item.state);
    if let (Some(at), Some(resolution)) = (item.resolved_at, item.resolution.as_deref()) {
        let how = if resolution.is_empty() { String::new() } else { format!(": {resolution}") };
        outln!("Resolved:    {}{how}", when(at));
    }
    outln!("Severity:    {}", item.severity.as_deref().unwrap_or("-"));
    outln!("Assignee:    {}", item.assignee.as_deref().unwrap_or("-"));
    outln!("Opened:      {} by {}", when(item.created_at), item.created_by);
    outln!("Occurrences: {}", item.occurrences);
    if let Some(environment) = &item.environment {
        outln!("Environment: {environment}");
    }
    if let Some(pipeline) = item.pipeline {
        outln!("Pipeline:    {pipeline}");
    }
    if let Some(deployment) = item.deployment {
        outln!("Deployment:  {deployment}");
    }
    if let Some(key) = &item.dedup_key {
        outln!("Key:         {key}");
    }
    if !item.description.is_empty() {
        outln!();
        for line in item.description.lines() {
            outln!("  {line}");
        }
    }
    if !details.links.is_empty() {
        outln!();
        outln!("Links:");
        for link in &details.links {
            outln!("  {} {}", link.kind, link.target);
        }
    }
    if !details.comments.is_empty() {
        outln!();
        outln!("Comments:");
        for comment in &details.comments {
            outln!("  {} ({}):", comment.author, when(comment.at));
            for line in comment.text.lines() {
                outln!("    {line}");
            }
        }
    }
}

/// The one-line summary of an item after a change.
fn summary(item: &api::WorkItem) -> String {
    let assignee = item.assignee.as_deref().map(|assignee| format!(", assigned to {assignee}")).unwrap_or_default();
    format!("Work item #{} ({} {}{assignee}): {}", item.id, item.state, item.kind, item.title)
}

/// Runs `slipway work-items`.
///
/// # Errors
/// A usage problem, or what the server refused.
pub fn work_items(args: WorkItemsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        WorkItemsCommand::List { kind, state, open, assignee, environment, limit, format } => {
            let query = api::WorkItemsQuery {
                kind,
                state: if open { Some("open".to_owned()) } else { state },
                assignee,
                environment,
                limit: Some(limit),
                ..api::WorkItemsQuery::default()
            };
            let page = list_items(client, &query).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&page).map(|()| ExitCode::SUCCESS);
            }
            print_list(&page.work_items);
        }
        WorkItemsCommand::Show { id, format } => {
            let details: api::WorkItemDetails = client.get(&item_path(id)).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&details).map(|()| ExitCode::SUCCESS);
            }
            print_details(&details);
        }
        WorkItemsCommand::Create { kind, title, description, severity, assignee, environment } => {
            let body = api::CreateWorkItem {
                kind,
                title,
                description,
                severity,
                assignee,
                environment,
                ..api::CreateWorkItem::default()
            };
            let created: api::WorkItemDetails = client.post("/work-items", &body).map_err(fail)?;
            let item = &created.work_item;
            outln!("Opened work item #{} ({}): {}", item.id, item.kind, item.title);
        }
        WorkItemsCommand::Update { id, state, assignee, title, description, severity } => {
            let body = api::UpdateWorkItem { state, assignee, title, description, severity, resolution: None };
            if body == api::UpdateWorkItem::default() {
                return Err(Failure::usage(
                    "give at least one of --state, --assignee, --title, --description, --severity",
                ));
            }
            let updated: api::WorkItemDetails = client.patch(&item_path(id), &body).map_err(fail)?;
            outln!("{}", summary(&updated.work_item));
        }
        WorkItemsCommand::Comment { id, text } => {
            let body = api::AddWorkItemComment { text };
            let added: api::WorkItemComment =
                client.post(&format!("{}/comments", item_path(id)), &body).map_err(fail)?;
            outln!("Comment {} added to work item #{id}.", added.id);
        }
        WorkItemsCommand::Resolve { id, resolution } => {
            let body = api::UpdateWorkItem {
                state: Some("resolved".to_owned()),
                resolution,
                ..api::UpdateWorkItem::default()
            };
            let updated: api::WorkItemDetails = client.patch(&item_path(id), &body).map_err(fail)?;
            outln!("{}", summary(&updated.work_item));
        }
        WorkItemsCommand::Rules(rules) => {
            let path = format!("/pipelines/{}/work-item-rules", api::path_segment(&rules.pipeline));
            let body = api::UpdateWorkItemRules {
                failures: rules.failures,
                branches: if rules.default_branch {
                    Some(Vec::new())
                } else {
                    Some(rules.branches).filter(|branches| !branches.is_empty())
                },
                security: rules.security,
                incidents: rules.incidents,
                assignee: rules.assignee,
            };
            let answer: api::WorkItemRules = if body == api::UpdateWorkItemRules::default() {
                client.get(&path).map_err(fail)?
            } else {
                client.patch(&path, &body).map_err(fail)?
            };
            if rules.format == ListFormat::Json {
                return print_json(&answer).map(|()| ExitCode::SUCCESS);
            }
            print_rules(&answer);
        }
        WorkItemsCommand::Link { id, run, commit, deployment, environment, pipeline } => {
            let (kind, target) = match (run, commit, deployment, environment, pipeline) {
                (Some(run), ..) => ("run", run.to_string()),
                (_, Some(commit), ..) => ("commit", commit),
                (_, _, Some(deployment), ..) => ("deployment", deployment.to_string()),
                (_, _, _, Some(environment), _) => ("environment", environment),
                (.., Some(pipeline)) => ("pipeline", pipeline.to_string()),
                _ => {
                    return Err(Failure::usage(
                        "give one of --run ID, --commit SHA, --deployment ID, --environment NAME, --pipeline ID",
                    ));
                }
            };
            let body = api::AddWorkItemLinks { links: vec![api::NewWorkItemLink { kind: kind.to_owned(), target }] };
            let linked: api::WorkItemDetails = client.post(&format!("{}/links", item_path(id)), &body).map_err(fail)?;
            let links: Vec<String> = linked.links.iter().map(|link| format!("{} {}", link.kind, link.target)).collect();
            outln!("Work item #{id} links: {}", links.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
