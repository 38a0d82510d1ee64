//! `slipway pipelines ...` and `slipway runs ...`: create, list and run pipelines on a server;
//! list, show, follow, cancel and re-run its runs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::LogEvent;
use slipway_client::api::{CreatePipeline, CreateRun, QueueStatus, Run, RunsQuery, TriggerHealth};
use slipway_events::TaskResult;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway pipelines`.
#[derive(Args, Debug)]
pub struct PipelinesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: PipelinesCommand,
}

#[derive(Subcommand, Debug)]
enum PipelinesCommand {
    /// Create a pipeline from a git repository and the path of its YAML file (admin).
    Create(CreatePipelineArgs),
    /// List the pipelines.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Start a run of a pipeline (contributor).
    Run(RunPipelineArgs),
    /// Show a pipeline: its repository, whether it takes runs, and what its triggers last found.
    Show {
        /// The pipeline's name.
        name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Stop a pipeline from taking new runs, from people and triggers alike; runs already queued
    /// go on (admin).
    Disable {
        /// The pipeline's name.
        name: String,
    },
    /// Let a disabled pipeline take runs again (admin).
    Enable {
        /// The pipeline's name.
        name: String,
    },
    /// Delete a pipeline with all its runs, logs and artifacts; refused while runs are unfinished
    /// (admin).
    Delete {
        /// The pipeline's name.
        name: String,
        /// Confirm the deletion (it cannot be undone).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
struct CreatePipelineArgs {
    /// The pipeline's name: letters, digits, '.', '_' and '-'.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The git repository: a URL `git clone` can fetch, or a directory (on the server's machine;
    /// a relative path is made absolute here first).
    #[arg(long, value_name = "PATH_OR_URL")]
    repo: String,
    /// The path of the pipeline's YAML file in the repository.
    #[arg(long, value_name = "FILE", default_value = "azure-pipelines.yml")]
    file: String,
    /// The branch runs use when none is given [default: the repository's default branch].
    #[arg(long, value_name = "BRANCH")]
    branch: Option<String>,
}

#[derive(Args, Debug)]
struct RunPipelineArgs {
    /// The pipeline's name.
    name: String,
    /// The branch to run [default: the pipeline's default branch].
    #[arg(long, value_name = "BRANCH")]
    branch: Option<String>,
    /// A runtime parameter, `NAME=VALUE` (repeatable), typed as the pipeline declares it.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = crate::run::name_value)]
    params: Vec<(String, String)>,
    /// A queue-time variable, `NAME=VALUE` (repeatable): it replaces the value of a variable of the
    /// pipeline's settings (`slipway variables`) for this run; the YAML's own variables still take
    /// precedence, as in Azure.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::run::name_value)]
    vars: Vec<(String, String)>,
    /// Follow the run's log here until it ends, and exit with its result as `slipway run` does:
    /// 0 succeeded (also with issues), 1 failed, 130 cancelled.
    #[arg(long)]
    wait: bool,
}

/// `slipway runs`.
#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: RunsCommand,
}

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// List runs, newest first.
    List {
        /// Only this pipeline's runs.
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
        /// Only runs in this status: queued, running or completed.
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only runs of this branch.
        #[arg(long, value_name = "BRANCH")]
        branch: Option<String>,
        /// Only runs that ended so: Succeeded, SucceededWithIssues, Failed or Canceled.
        #[arg(long, value_name = "RESULT")]
        result: Option<String>,
        /// Only runs started so: manual, push, pr, schedule or pipeline-completion.
        #[arg(long, value_name = "TRIGGER")]
        trigger: Option<String>,
        /// At most this many runs (1 to 200).
        #[arg(long, value_name = "K", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Show a run and its jobs.
    Show {
        /// The run's id.
        id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print a run's log, each line tagged with its job.
    Logs {
        /// The run's id.
        id: i64,
        /// Follow the log live until the run ends.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Ask a run to cancel (contributor).
    Cancel {
        /// The run's id.
        id: i64,
    },
    /// Run a completed run again: its commit, parameters and variables as a new run, or only its
    /// failed jobs in place (contributor).
    Rerun {
        /// The run's id.
        id: i64,
        /// Run again, in the same run, only the jobs that failed or were cancelled (and those skipped
        /// because of them); the others keep their results.
        #[arg(long)]
        failed_only: bool,
        /// Follow the new run's log until it ends and exit with its result (see `pipelines run`).
        #[arg(long)]
        wait: bool,
    },
}

/// How a pipeline's triggers are doing, in a word.
fn trigger_state(triggers: &TriggerHealth) -> &'static str {
    match (triggers.checked_at, &triggers.error) {
        (None, _) => "not polled yet",
        (Some(_), None) => "ok",
        (Some(_), Some(_)) => "failing",
    }
}

/// `slipway pipelines ...`.
pub fn pipelines(args: PipelinesArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    match args.command {
        PipelinesCommand::Create(create) => {
            let repository = repository_argument(&create.repo)?;
            let new = CreatePipeline {
                name: create.name,
                repository,
                yaml_path: create.file,
                default_branch: create.branch.unwrap_or_default(),
            };
            let pipeline = client.create_pipeline(&new).map_err(|error| session.fail(error))?;
            outln!(
                "Created pipeline {} (id {}): {} in {}",
                pipeline.name,
                pipeline.id,
                pipeline.yaml_path,
                pipeline.repository
            );
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::List { format } => {
            let pipelines = client.pipelines().map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&pipelines)?;
            } else {
                let rows: Vec<Vec<String>> = pipelines
                    .iter()
                    .map(|pipeline| {
                        vec![
                            pipeline.name.clone(),
                            pipeline.queue_status.to_string(),
                            trigger_state(&pipeline.triggers).to_owned(),
                            pipeline.yaml_path.clone(),
                            if pipeline.default_branch.is_empty() {
                                "-".into()
                            } else {
                                pipeline.default_branch.clone()
                            },
                            pipeline.repository.clone(),
                        ]
                    })
                    .collect();
                print_table(&["NAME", "STATUS", "TRIGGERS", "FILE", "BRANCH", "REPOSITORY"], &rows);
                for pipeline in &pipelines {
                    if let Some(error) = &pipeline.triggers.error {
                        outln!("\n{}: the last poll failed: {}", pipeline.name, error.trim_end());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::Show { name, format } => {
            let pipeline = client.pipeline(&name).map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&pipeline)?;
            } else {
                outln!("Pipeline {} (id {})", pipeline.name, pipeline.id);
                outln!("  status:     {}", pipeline.queue_status);
                outln!("  repository: {}", pipeline.repository);
                outln!("  file:       {}", pipeline.yaml_path);
                let branch =
                    if pipeline.default_branch.is_empty() { "(the repository's)" } else { &pipeline.default_branch };
                outln!("  branch:     {branch}");
                outln!("  triggers:   {}", trigger_state(&pipeline.triggers));
                if let Some(error) = &pipeline.triggers.error {
                    outln!("\nThe last poll failed:\n{}", error.trim_end());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::Disable { name } => {
            client.set_queue_status(&name, QueueStatus::Disabled).map_err(|error| session.fail(error))?;
            outln!("Disabled pipeline {name}: it takes no new runs (runs already queued go on).");
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::Enable { name } => {
            client.set_queue_status(&name, QueueStatus::Enabled).map_err(|error| session.fail(error))?;
            outln!("Enabled pipeline {name}.");
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::Delete { name, yes } => {
            if !yes {
                return Err(Failure::usage(format!(
                    "deleting '{name}' removes it with all its runs, logs and artifacts, and cannot be undone: pass --yes to confirm"
                )));
            }
            client.delete_pipeline(&name).map_err(|error| session.fail(error))?;
            outln!("Deleted pipeline {name} and its runs.");
            Ok(ExitCode::SUCCESS)
        }
        PipelinesCommand::Run(run) => {
            let new = CreateRun {
                branch: run.branch,
                parameters: run
                    .params
                    .into_iter()
                    .map(|(name, value)| (name, serde_json::Value::String(value)))
                    .collect::<BTreeMap<_, _>>(),
                variables: run.vars.into_iter().collect(),
            };
            let started = client.start_run(&run.name, &new).map_err(|error| session.fail(error))?;
            outln!("Queued run {} of {}: {}", started.id, run.name, client.run_url(started.id));
            if run.wait { wait_for(&session, started.id, &run.name) } else { Ok(ExitCode::SUCCESS) }
        }
    }
}

/// The repository as the server should see it: URLs as given, local directories absolute.
fn repository_argument(repository: &str) -> Result<String, Failure> {
    let looks_remote = repository.contains("://")
        || (repository.contains(':')
            && !repository.starts_with(['/', '.'])
            && repository.split(':').next().is_some_and(|host| !host.contains('/')));
    if looks_remote {
        return Ok(repository.to_owned());
    }
    let path = Path::new(repository);
    if !path.is_dir() {
        return Err(Failure::usage(format!(
            "no directory at {repository}: give a git repository's directory or a URL git can clone"
        )));
    }
    std::path::absolute(path)
        .map(|path| path.display().to_string())
        .map_err(|error| Failure::usage(format!("{repository}: {error}")))
}

/// `slipway runs ...`.
pub fn runs(args: RunsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    match args.command {
        RunsCommand::List { pipeline, status, branch, result, trigger, limit, format } => {
            let query = RunsQuery { pipeline, status, branch, result, trigger, before: None, limit: Some(limit) };
            let page = client.runs(&query).map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&page.runs)?;
                return Ok(ExitCode::SUCCESS);
            }
            let names = pipeline_names(&session)?;
            let now = now_ms();
            let rows: Vec<Vec<String>> = page
                .runs
                .iter()
                .map(|run| {
                    vec![
                        run.id.to_string(),
                        run.run_number.clone(),
                        names.get(&run.pipeline).cloned().unwrap_or_else(|| format!("#{}", run.pipeline)),
                        run.branch.as_deref().map_or_else(|| "-".to_owned(), short_branch),
                        run_state(run),
                        run.duration_ms(now).map_or_else(|| "-".to_owned(), duration),
                    ]
                })
                .collect();
            print_table(&["ID", "NUMBER", "PIPELINE", "BRANCH", "STATUS", "DURATION"], &rows);
            if page.next_before.is_some() {
                eprintln!("There may be older runs: a higher --limit (up to 200) shows them.");
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id, format } => {
            let detail = client.run(id).map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&detail)?;
                return Ok(ExitCode::SUCCESS);
            }
            let names = pipeline_names(&session)?;
            let run = &detail.run;
            let name = names.get(&run.pipeline).cloned().unwrap_or_else(|| format!("#{}", run.pipeline));
            outln!("{}", summary(&session, run, &name));
            if let Some(branch) = &run.branch {
                outln!("  Branch:   {}", short_branch(branch));
            }
            if let Some(commit) = &run.commit {
                outln!("  Commit:   {commit}");
            }
            let by = run.requested_by.as_deref().map(|user| format!(", by {user}")).unwrap_or_default();
            outln!("  Trigger:  {}{by}", run.trigger);
            if let Some(original) = run.retry_of {
                outln!("  Re-run of run {original}");
            }
            if detail.jobs.is_empty() {
                outln!("  No jobs yet.");
            } else {
                outln!("  Jobs:");
                let width = detail.jobs.iter().map(|job| shown_job(&job.key).chars().count()).max().unwrap_or_default();
                for job in &detail.jobs {
                    let state = match job.result {
                        Some(result) => {
                            let took = match (job.started_at, job.finished_at) {
                                (Some(start), Some(end)) if result != TaskResult::Skipped => {
                                    format!(" in {}", duration((end - start).max(0)))
                                }
                                _ => String::new(),
                            };
                            format!("{} {result}{took}", mark(result))
                        }
                        None => format!("· {}", job.status),
                    };
                    let message = job.message.as_deref().map(|message| format!(" — {message}")).unwrap_or_default();
                    let attempt = if job.earlier_attempts.is_empty() {
                        String::new()
                    } else {
                        format!(" (attempt {})", job.earlier_attempts.len() + 1)
                    };
                    outln!("    {:<width$}  {state}{attempt}{message}", shown_job(&job.key));
                    // Earlier attempts of a job run again, oldest first.
                    for (number, earlier) in job.earlier_attempts.iter().enumerate() {
                        let result = earlier
                            .result
                            .map_or_else(|| "·".to_owned(), |result| format!("{} {result}", mark(result)));
                        let took = match (earlier.started_at, earlier.finished_at) {
                            (Some(start), Some(end)) => format!(" in {}", duration((end - start).max(0))),
                            _ => String::new(),
                        };
                        let why = earlier.message.as_deref().map(|message| format!(" — {message}")).unwrap_or_default();
                        outln!("    {:<width$}    attempt {}: {result}{took}{why}", "", number + 1);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Logs { id, follow } => {
            if follow {
                follow_log(&session, id)?;
                let names = pipeline_names(&session)?;
                let detail = client.run(id).map_err(|error| session.fail(error))?;
                let name = names.get(&detail.run.pipeline).cloned().unwrap_or_default();
                eprintln!("{}", summary(&session, &detail.run, &name));
                return Ok(ExitCode::SUCCESS);
            }
            let logs = client.run_logs(id).map_err(|error| session.fail(error))?;
            for job in &logs.jobs {
                for line in job.log.lines() {
                    outln!("[{}] {line}", shown_job(&job.job.key));
                }
            }
            if logs.status != slipway_client::api::RunStatus::Completed {
                eprintln!("Run {id} is {}: `slipway runs logs {id} --follow` follows it live.", logs.status);
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Cancel { id } => {
            let run = client.cancel_run(id).map_err(|error| session.fail(error))?;
            outln!("Asked run {} to cancel: `slipway runs show {}` tells when it stopped.", run.id, run.id);
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Rerun { id, failed_only, wait } => {
            let run = client.rerun(id, failed_only).map_err(|error| session.fail(error))?;
            let names = pipeline_names(&session)?;
            let name = names.get(&run.pipeline).cloned().unwrap_or_else(|| format!("#{}", run.pipeline));
            if run.id == id {
                // Failed jobs run again in place, in the same run.
                outln!("Running the failed jobs of run {id} of {name} again: {}", client.run_url(run.id));
            } else {
                outln!("Queued run {} of {name}, a re-run of run {id}: {}", run.id, client.run_url(run.id));
            }
            if wait { wait_for(&session, run.id, &name) } else { Ok(ExitCode::SUCCESS) }
        }
    }
}

/// Follows a run to its end, then prints its summary and gives the exit status of its result.
fn wait_for(session: &Session, run: i64, pipeline: &str) -> Result<ExitCode, Failure> {
    let result = follow_log(session, run)?;
    let detail = session.client().run(run).map_err(|error| session.fail(error))?;
    if detail.run.result.is_some_and(|result| result == TaskResult::Failed) {
        // A stage its checks stopped has no log line saying so: say it here.
        let checkpoints = session.client().checkpoints(run).map(|list| list.checkpoints).unwrap_or_default();
        // Oldest first: a stage's last checkpoint is its latest attempt's.
        let latest = checkpoints
            .iter()
            .enumerate()
            .filter(|(index, checkpoint)| !checkpoints[index + 1..].iter().any(|later| later.stage == checkpoint.stage))
            .map(|(_, checkpoint)| checkpoint);
        for checkpoint in latest.filter(|checkpoint| checkpoint.state == "failed") {
            let reason = checkpoint.message.as_deref().unwrap_or("its checks did not pass");
            outln!("Stage {} did not start: {reason}", checkpoint.stage);
        }
    }
    outln!("{}", summary(session, &detail.run, pipeline));
    match detail.run.result.or(result) {
        Some(result) => Ok(crate::run::exit_code(result)),
        None => Err(Failure::failed(format!("run {run} ended without a result"))),
    }
}

/// Prints a run's log live, each line tagged with its job, until the run ends; gives its result.
fn follow_log(session: &Session, run: i64) -> Result<Option<TaskResult>, Failure> {
    let follower = session.client().follow_logs(run).map_err(|error| session.fail(error))?;
    for event in follower {
        match event.map_err(|error| session.fail(error))? {
            LogEvent::Line { job, text, .. } => {
                outln!("[{}] {text}", shown_job(&job));
            }
            // Why a job waits for an agent goes with the log, to standard error.
            LogEvent::Waiting { job, reason } => {
                if !reason.is_empty() {
                    eprintln!("[{}] {reason}", shown_job(&job));
                }
            }
            LogEvent::End { status, result } => {
                if status == "deleted" {
                    return Err(Failure::failed(format!("run {run} was deleted while it was followed")));
                }
                return Ok(result);
            }
            LogEvent::Shutdown { reason } => {
                return Err(Failure::failed(format!(
                    "the server closed the log ({reason}); the run goes on: `slipway runs logs {run} --follow` \
                     follows it again"
                )));
            }
        }
    }
    Err(Failure::failed(format!("the log of run {run} ended before the run did")))
}

/// Pipeline names by id.
fn pipeline_names(session: &Session) -> Result<HashMap<i64, String>, Failure> {
    let pipelines = session.client().pipelines().map_err(|error| session.fail(error))?;
    Ok(pipelines.into_iter().map(|pipeline| (pipeline.id, pipeline.name)).collect())
}

/// `Run 5 of example (number 5) Failed in 1.2s: URL`.
fn summary(session: &Session, run: &Run, pipeline: &str) -> String {
    let took = run.duration_ms(now_ms()).map(|took| format!(" in {}", duration(took))).unwrap_or_default();
    let state = match run.result {
        Some(result) => format!("{result}{took}"),
        None => run_state(run),
    };
    format!("Run {} of {pipeline} (number {}) {state}: {}", run.id, run.run_number, session.client().run_url(run.id))
}

/// A run's status for people: its result once completed.
fn run_state(run: &Run) -> String {
    match run.result {
        Some(result) => result.to_string(),
        None if run.cancel_requested => "cancelling".to_owned(),
        None => run.status.to_string(),
    }
}

fn mark(result: TaskResult) -> &'static str {
    match result {
        TaskResult::Succeeded => "✓",
        TaskResult::SucceededWithIssues => "!",
        TaskResult::Failed => "✗",
        TaskResult::Canceled => "⊘",
        TaskResult::Skipped => "-",
    }
}

/// A job's key as `slipway run` shows it: without the name of the stage a pipeline without stages
/// gets.
fn shown_job(key: &str) -> &str {
    key.strip_prefix(crate::run::console::IMPLICIT_STAGE).unwrap_or(key)
}

fn short_branch(branch: &str) -> String {
    branch.strip_prefix("refs/heads/").unwrap_or(branch).to_owned()
}

fn duration(milliseconds: i64) -> String {
    crate::run::console::seconds(u64::try_from(milliseconds).unwrap_or_default())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_keep_urls_and_make_paths_absolute() {
        for url in ["https://example.com/team/app.git", "git@example.com:team/app.git", "file:///srv/app"] {
            assert_eq!(repository_argument(url).ok().as_deref(), Some(url));
        }
        let here = repository_argument(".").unwrap_or_default();
        assert!(Path::new(&here).is_absolute(), "{here}");
        assert!(repository_argument("./no/such/directory").is_err());
    }
}
