//! `slipway environments ...` and `slipway approvals ...`: environments on a server, their
//! deployment history and checks, and deciding the approvals that stages wait for.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api::{self, Approval, Deployment};

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway environments`.
#[derive(Args, Debug)]
pub struct EnvironmentsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: EnvironmentsCommand,
}

#[derive(Subcommand, Debug)]
enum EnvironmentsCommand {
    /// List the environments (a deployment job's first use of a name creates one).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Show an environment: what runs where, its checks and its last deployments.
    Show {
        /// The environment.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Create an environment (admin).
    Create {
        /// Its name.
        name: String,
        /// What it is for.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
    },
    /// Rename an environment or change its description (admin).
    Update {
        /// The environment.
        name: String,
        /// Its new name.
        #[arg(long, value_name = "NAME")]
        rename: Option<String>,
        /// Its new description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
    },
    /// Delete an environment with its checks and deployment history (admin).
    Delete {
        /// The environment.
        name: String,
        /// The environment's name again, to confirm.
        #[arg(long, value_name = "NAME")]
        confirm: String,
    },
    /// An environment's deployments, newest first.
    Deployments {
        /// The environment.
        name: String,
        /// At most this many.
        #[arg(long, value_name = "N")]
        limit: Option<i64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// DORA's five metrics of an environment over the last days: deployment frequency, lead time
    /// for changes, change failure rate, failed deployment recovery time and deployment rework
    /// rate, with the deployments each rests on (`d42`: deployment 42; `e17`: event 17).
    Dora {
        /// The environment.
        name: String,
        /// The last this many days (1 to 365).
        #[arg(long, value_name = "N", default_value_t = 30)]
        days: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Deploy an earlier successful deployment's version again (the manual rollback): its job
    /// runs again in its run, recorded as `redeployed`.
    Redeploy {
        /// The environment.
        name: String,
        /// The deployment's id (`slipway environments deployments NAME` lists them).
        deployment: i64,
    },
    /// The checks on an environment (or, with `--group`/`--pool`, on that variable group or
    /// agent pool instead).
    Checks {
        /// The environment (or the group or pool, with `--group`/`--pool`).
        name: String,
        #[command(flatten)]
        resource: ResourceKind,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Add a check to an environment (admin), such as
    /// `--type approval --settings '{"approvers": ["ana"]}'`; with `--group`/`--pool`, to that
    /// variable group or agent pool: stages that use it wait for it.
    AddCheck {
        /// The environment (or the group or pool, with `--group`/`--pool`).
        name: String,
        #[command(flatten)]
        resource: ResourceKind,
        /// `approval`, `branchControl`, `businessHours`, `exclusiveLock`, `invokeRestApi`,
        /// `queryMetrics`, `requiredTemplate`, `verifyProvenance` or `policy`.
        #[arg(long = "type", value_name = "TYPE")]
        kind: String,
        /// Its settings as JSON: approval `{"approvers": [...], "minRequiredApprovers": N,
        /// "requesterCannotBeApprover": true, "instructions": "...", "order": "preCheck" |
        /// "dynamic" | "postCheck"}`; branchControl
        /// `{"allowedBranches": ["refs/heads/main"]}`; businessHours `{"timeZone": "Europe/Berlin",
        /// "days": ["Mon", ...], "startTime": "09:00", "endTime": "17:00"}`; invokeRestApi
        /// `{"url": "...", "method": "POST", "headers": {...}, "body": "...", "successCriteria":
        /// "eq(root['status'], 'ok')", "retryIntervalMinutes": 5}`; queryMetrics `{"url":
        /// "http://127.0.0.1:9090", "query": "..."}`; requiredTemplate `{"requiredTemplates":
        /// [{"repositoryName": "self", "templatePath": "deploy.yml"}]}`; verifyProvenance
        /// `{"artifacts": ["drop"]}` (all the run's artifacts when left out); policy `{"policies":
        /// [{"path": "deploy.rego", "rego": "package main ..."}], "namespace": "main", "inputs":
        /// [{"artifact": "plan", "path": "tfplan.json"}], "failOnWarn": false}`. `@FILE` reads the
        /// JSON from FILE.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        settings: String,
        /// How long a stage waits for it [default: 43200, 30 days].
        #[arg(long, value_name = "MINUTES")]
        timeout_minutes: Option<u32>,
    },
    /// Remove a check from an environment (or a variable group or pool) (admin).
    DeleteCheck {
        /// The environment (or the group or pool, with `--group`/`--pool`).
        name: String,
        #[command(flatten)]
        resource: ResourceKind,
        /// The check's id (`slipway environments checks NAME` shows them).
        id: i64,
    },
}

/// Which kind of protected resource a check command is about (an environment by default).
#[derive(Args, Debug, Clone, Copy)]
#[group(multiple = false)]
struct ResourceKind {
    /// NAME is a variable group.
    #[arg(long)]
    group: bool,
    /// NAME is an agent pool.
    #[arg(long)]
    pool: bool,
}

impl ResourceKind {
    /// The API's collection, and how the resource is called.
    fn collection(self) -> (&'static str, &'static str) {
        if self.group {
            ("variable-groups", "variable group")
        } else if self.pool {
            ("pools", "agent pool")
        } else {
            ("environments", "environment")
        }
    }
}

/// `slipway approvals`.
#[derive(Args, Debug)]
pub struct ApprovalsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ApprovalsCommand,
}

#[derive(Subcommand, Debug)]
enum ApprovalsCommand {
    /// List approvals: by default the pending ones you may decide.
    List {
        /// Only approvals in this state (`pending`, `passed`, `rejected`, `timedOut`, `canceled`).
        #[arg(long, value_name = "STATE", default_value = "pending")]
        state: String,
        /// Everyone's, not only those you may decide.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Approve: the waiting stage goes on once enough approvers have.
    Approve {
        /// The approval's id.
        id: i64,
        /// A comment, kept with the decision and in the audit log.
        #[arg(long, value_name = "TEXT", default_value = "")]
        comment: String,
        /// Approve now, taking effect at this time (RFC 3339, such as 2026-12-08T09:00:00Z).
        #[arg(long, value_name = "TIME")]
        defer_until: Option<String>,
    },
    /// Reject: the waiting stage fails.
    Reject {
        /// The approval's id.
        id: i64,
        /// A comment, kept with the decision and in the audit log.
        #[arg(long, value_name = "TEXT", default_value = "")]
        comment: String,
    },
}

/// A time for people: `2026-12-07 09:30 UTC`.
fn when(milliseconds: i64) -> String {
    jiff::Timestamp::from_millisecond(milliseconds)
        .map(|time| time.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| milliseconds.to_string())
}

fn short_commit(commit: Option<&str>) -> String {
    commit.map(|commit| commit.chars().take(8).collect()).unwrap_or_else(|| "-".to_owned())
}

fn deployment_rows(deployments: &[Deployment]) -> Vec<Vec<String>> {
    deployments
        .iter()
        .map(|deployment| {
            vec![
                deployment.id.to_string(),
                format!("{} #{}", deployment.pipeline_name, deployment.run_number),
                format!("{}.{}", deployment.stage, deployment.job_name),
                deployment.resource.clone().unwrap_or_else(|| "-".to_owned()),
                short_commit(deployment.commit.as_deref()),
                deployment.triggered_by.clone(),
                deployment.finished_at.map_or_else(|| when(deployment.queued_at), when),
                {
                    let result = deployment.result.clone().unwrap_or_else(|| "running".to_owned());
                    match deployment.outcome.as_deref() {
                        Some("rolledBack") => format!("{result} (rolled back)"),
                        Some("redeployed") => format!("{result} (redeployed: manual rollback)"),
                        Some("failed") => result,
                        Some(outcome) => format!("{result} ({outcome})"),
                        None => result,
                    }
                },
            ]
        })
        .collect()
}

const DEPLOYMENT_HEADINGS: [&str; 8] = ["ID", "RUN", "JOB", "RESOURCE", "COMMIT", "BY", "WHEN", "RESULT"];

fn check_rows(checks: &[api::Check]) -> Vec<Vec<String>> {
    checks
        .iter()
        .map(|check| {
            vec![
                check.id.to_string(),
                check.kind.clone(),
                check.settings.to_string(),
                format!("{} min", check.timeout_minutes),
            ]
        })
        .collect()
}

/// A duration for people: `45s`, `12m`, `3.5h`, `2.1d`.
fn duration(milliseconds: i64) -> String {
    let seconds = milliseconds as f64 / 1000.0;
    if seconds < 60.0 {
        format!("{seconds:.0}s")
    } else if seconds < 3600.0 {
        format!("{:.0}m", seconds / 60.0)
    } else if seconds < 86_400.0 {
        format!("{:.1}h", seconds / 3600.0)
    } else {
        format!("{:.1}d", seconds / 86_400.0)
    }
}

fn id_list(ids: &[String]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") }
}

fn level(level: Option<&str>) -> String {
    level.map_or_else(|| "no level: too little data".to_owned(), |level| format!("DORA level: {level}"))
}

/// DORA's four keys as lines for people.
fn dora_lines(metrics: &api::DoraMetrics) -> Vec<String> {
    let frequency = &metrics.deployment_frequency;
    let lead = &metrics.lead_time_for_changes;
    let failures = &metrics.change_failure_rate;
    let recovery = &metrics.failed_deployment_recovery_time;
    let mut lines = vec![
        format!(
            "{}: delivery performance over the last {} days ({} to {}; levels from DORA's {} report)",
            metrics.environment,
            metrics.days,
            when(metrics.start),
            when(metrics.end),
            metrics.report_year
        ),
        String::new(),
        format!(
            "Deployment frequency: {} successful deployments on {} days ({:.2} a day, {:.2} a week), {}; {}",
            frequency.deployments,
            frequency.deployment_days,
            frequency.per_day,
            frequency.per_week,
            frequency.bucket.as_deref().unwrap_or("bucket unknown"),
            level(frequency.level.as_deref())
        ),
        format!("  deployments: {}", id_list(&frequency.deployments_counted)),
        format!(
            "Lead time for changes: median {} over {} changes{}{}; {}",
            lead.median_ms.map_or_else(|| "-".to_owned(), duration),
            lead.changes,
            if lead.changes_without_time > 0 {
                format!(" ({} without a commit time left out)", lead.changes_without_time)
            } else {
                String::new()
            },
            if lead.deployments_without_changes > 0 {
                format!(" ({} deployments whose changes are unknown)", lead.deployments_without_changes)
            } else {
                String::new()
            },
            level(lead.level.as_deref())
        ),
        format!("  deployments: {}", id_list(&lead.deployments_counted)),
        format!(
            "Change failure rate: {} ({} of {} deployments failed or needed a rollback); {}",
            failures.rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0)),
            failures.failures,
            failures.deployments,
            level(failures.level.as_deref())
        ),
        format!("  failed: {}", id_list(&failures.failed_deployments)),
        format!(
            "Failed deployment recovery time: median {} over {} recovered of {} failures; {}",
            recovery.median_ms.map_or_else(|| "-".to_owned(), duration),
            recovery.episodes.iter().filter(|episode| episode.recovered_by.is_some()).count(),
            recovery.episodes.len(),
            level(recovery.level.as_deref())
        ),
    ];
    for episode in &recovery.episodes {
        lines.push(match (&episode.recovered_by, episode.duration_ms) {
            (Some(by), Some(duration_ms)) => format!(
                "  failed {} -> recovered by {by} after {}",
                id_list(&episode.failed_deployments),
                duration(duration_ms)
            ),
            _ => format!("  failed {} -> not recovered yet", id_list(&episode.failed_deployments)),
        });
    }
    let rework = &metrics.deployment_rework_rate;
    lines.push(format!(
        "Deployment rework rate: {} ({} of {} deployments were unplanned: a rollback, a recovery, an incident); no DORA levels",
        rework.rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0)),
        rework.reworked,
        rework.deployments
    ));
    lines.push(format!("  rework: {}", id_list(&rework.rework_deployments)));
    lines
}

/// `slipway environments ...`.
pub fn environments(args: EnvironmentsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        EnvironmentsCommand::List { format } => {
            let list = client.environments().map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&list).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = list
                .environments
                .iter()
                .map(|environment| vec![environment.name.clone(), environment.description.clone()])
                .collect();
            print_table(&["NAME", "DESCRIPTION"], &rows);
        }
        EnvironmentsCommand::Show { name, format } => {
            let environment = client.environment(&name).map_err(fail)?;
            let deployments = client.deployments(&name, Some(10)).map_err(fail)?;
            let checks = client.checks("environments", &name).map_err(fail)?;
            if format == ListFormat::Json {
                let shown = serde_json::json!({
                    "environment": environment, "current": deployments.current,
                    "deployments": deployments.deployments, "checks": checks.checks,
                });
                return print_json(&shown).map(|()| ExitCode::SUCCESS);
            }
            outln!(
                "{}{}",
                environment.name,
                if environment.description.is_empty() {
                    String::new()
                } else {
                    format!(": {}", environment.description)
                }
            );
            outln!();
            outln!("What runs where:");
            if deployments.current.is_empty() {
                outln!("  nothing deployed successfully yet");
            }
            for current in &deployments.current {
                let deployment = &current.deployment;
                let since = current.previous.as_ref().map_or_else(String::new, |previous| {
                    format!(
                        ", after {} #{} ({})",
                        previous.pipeline_name,
                        previous.run_number,
                        short_commit(previous.commit.as_deref())
                    )
                });
                outln!(
                    "  {}: {} #{} ({} on {}), {}{since}",
                    deployment.resource.as_deref().unwrap_or("(the environment)"),
                    deployment.pipeline_name,
                    deployment.run_number,
                    short_commit(deployment.commit.as_deref()),
                    deployment.branch.as_deref().unwrap_or("-"),
                    deployment.finished_at.map_or_else(String::new, when),
                );
                for change in deployment.changes.iter().flatten() {
                    outln!("    {} {} ({})", short_commit(Some(&change.commit)), change.message, change.author);
                }
            }
            outln!();
            outln!("Checks:");
            if checks.checks.is_empty() {
                outln!("  none: stages deploy without waiting");
            } else {
                print_table(&["ID", "TYPE", "SETTINGS", "TIMEOUT"], &check_rows(&checks.checks));
            }
            outln!();
            outln!("Last deployments:");
            print_table(&DEPLOYMENT_HEADINGS, &deployment_rows(&deployments.deployments));
        }
        EnvironmentsCommand::Create { name, description } => {
            let created = client.create_environment(&name, &description).map_err(fail)?;
            outln!("Created the environment {}.", created.name);
        }
        EnvironmentsCommand::Update { name, rename, description } => {
            if rename.is_none() && description.is_none() {
                return Err(Failure::usage("give --rename NAME, --description TEXT, or both"));
            }
            let update = api::UpdateEnvironment { name: rename, description };
            let updated = client.update_environment(&name, &update).map_err(fail)?;
            outln!("Updated the environment {}.", updated.name);
        }
        EnvironmentsCommand::Delete { name, confirm } => {
            if !confirm.trim().eq_ignore_ascii_case(name.trim()) {
                return Err(Failure::usage(format!(
                    "--confirm '{confirm}' is not the environment's name '{name}'; give the name again to delete it"
                )));
            }
            client.delete_environment(&name).map_err(fail)?;
            outln!("Deleted the environment {name} with its checks and deployment history.");
        }
        EnvironmentsCommand::Deployments { name, limit, format } => {
            let deployments = client.deployments(&name, limit).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&deployments).map(|()| ExitCode::SUCCESS);
            }
            print_table(&DEPLOYMENT_HEADINGS, &deployment_rows(&deployments.deployments));
        }
        EnvironmentsCommand::Dora { name, days, format } => {
            let metrics = client.dora(&name, Some(days)).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&metrics).map(|()| ExitCode::SUCCESS);
            }
            for line in dora_lines(&metrics) {
                outln!("{line}");
            }
        }
        EnvironmentsCommand::Redeploy { name, deployment } => {
            let run = client.redeploy(&name, deployment).map_err(fail)?;
            outln!(
                "Deploying deployment {deployment}'s version to {name} again: run {} ({}) is queued again.",
                run.id,
                run.run_number
            );
        }
        EnvironmentsCommand::Checks { name, resource, format } => {
            let checks = client.checks(resource.collection().0, &name).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&checks).map(|()| ExitCode::SUCCESS);
            }
            print_table(&["ID", "TYPE", "SETTINGS", "TIMEOUT"], &check_rows(&checks.checks));
        }
        EnvironmentsCommand::AddCheck { name, resource, kind, settings, timeout_minutes } => {
            let settings = match settings.strip_prefix('@').map(str::to_owned) {
                Some(file) => std::fs::read_to_string(&file)
                    .map_err(|error| Failure::usage(format!("--settings @{file}: cannot be read: {error}")))?,
                None => settings,
            };
            let settings: serde_json::Value = serde_json::from_str(&settings).map_err(|error| {
                Failure::usage(format!("--settings is not JSON ({error}); write it as '{{\"approvers\": [\"ana\"]}}'"))
            })?;
            let check = api::NewCheck { kind, settings, timeout_minutes };
            let (collection, called) = resource.collection();
            let added = client.add_check(collection, &name, &check).map_err(fail)?;
            outln!("Added check {} ({}) to the {called} {}.", added.id, added.kind, added.resource);
        }
        EnvironmentsCommand::DeleteCheck { name, resource, id } => {
            let (collection, called) = resource.collection();
            client.delete_check(collection, &name, id).map_err(fail)?;
            outln!("Removed check {id} from the {called} {name}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A protected resource for people: an environment by its name, others with their kind.
fn resource_text(kind: &str, name: &str) -> String {
    match kind {
        "environment" => name.to_owned(),
        "variableGroup" => format!("variable group {name}"),
        "pool" => format!("agent pool {name}"),
        other => format!("{other} {name}"),
    }
}

fn approval_rows(approvals: &[Approval]) -> Vec<Vec<String>> {
    approvals
        .iter()
        .map(|approval| {
            let approved = approval.decisions.iter().filter(|decision| decision.status == "approved").count();
            vec![
                approval.id.to_string(),
                format!("{} #{}", approval.pipeline_name, approval.run_number),
                approval.stage.clone(),
                resource_text(&approval.resource_type, &approval.resource),
                format!("{approved}/{}", approval.min_required_approvers),
                approval.state.clone(),
                approval.instructions.clone(),
            ]
        })
        .collect()
}

/// `slipway approvals ...`.
pub fn approvals(args: ApprovalsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        ApprovalsCommand::List { state, all, format } => {
            let list = client.approvals(Some(&state), !all).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&list).map(|()| ExitCode::SUCCESS);
            }
            print_table(
                &["ID", "RUN", "STAGE", "RESOURCE", "APPROVED", "STATE", "INSTRUCTIONS"],
                &approval_rows(&list.approvals),
            );
        }
        ApprovalsCommand::Approve { id, comment, defer_until } => {
            let deferred_until = defer_until
                .map(|text| {
                    text.parse::<jiff::Timestamp>().map(|time| time.as_millisecond()).map_err(|error| {
                        Failure::usage(format!(
                            "--defer-until '{text}' is not a time ({error}); write it as RFC 3339, such as 2026-12-08T09:00:00Z"
                        ))
                    })
                })
                .transpose()?;
            let decision = api::DecideApproval { status: "approved".to_owned(), comment, deferred_until };
            let approval = client.decide_approval(id, &decision).map_err(fail)?;
            let when_text = deferred_until.map_or_else(String::new, |at| format!(", in effect from {}", when(at)));
            let approved = approval.decisions.iter().filter(|decision| decision.status == "approved").count();
            outln!(
                "Approved {} for stage {} of {} #{}{when_text}: {approved} of {} approvals in.",
                resource_text(&approval.resource_type, &approval.resource),
                approval.stage,
                approval.pipeline_name,
                approval.run_number,
                approval.min_required_approvers
            );
        }
        ApprovalsCommand::Reject { id, comment } => {
            let decision = api::DecideApproval { status: "rejected".to_owned(), comment, deferred_until: None };
            let approval = client.decide_approval(id, &decision).map_err(fail)?;
            outln!(
                "Rejected {} for stage {} of {} #{}: the stage fails.",
                resource_text(&approval.resource_type, &approval.resource),
                approval.stage,
                approval.pipeline_name,
                approval.run_number
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
