//! `slipway run`: loads a pipeline into a plan and runs it here through the runtime, printing
//! live output (or the event stream as JSON lines) and a summary.

pub(crate) mod actions;
pub(crate) mod console;
pub(crate) mod tasks;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use slipway_driver::Selection;
use slipway_events::{Event, EventSink, TaskResult};
use slipway_runtime::{CancelToken, LocalExecutor, RunOptions};

/// How `slipway run` prints what happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Live output for people, with a summary at the end.
    Text,
    /// The event stream, one JSON object per line (see docs/events.md).
    Json,
}

/// Arguments of `slipway run`.
#[derive(Args, Debug)]
#[command(after_long_help = TASKS_HELP)]
pub struct RunArgs {
    /// The pipeline file.
    #[arg(default_value = "azure-pipelines.yml")]
    pub path: PathBuf,
    /// A template parameter, `NAME=VALUE` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = name_value)]
    pub params: Vec<(String, String)>,
    /// A queue-time variable, `NAME=VALUE` (repeatable). As in Azure, a variable the pipeline
    /// itself declares takes precedence.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = name_value)]
    pub vars: Vec<(String, String)>,
    /// A secret variable, `NAME=VALUE` (repeatable): masked in all output, and put in a step's
    /// environment only when mapped with `env:`.
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = name_value)]
    pub secrets: Vec<(String, String)>,
    /// How many jobs may run at once [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Run only this stage, and the stages it depends on (repeatable).
    #[arg(long = "stage", value_name = "NAME")]
    pub stages: Vec<String>,
    /// Run only this job (`JOB` or `STAGE.JOB`), and what it depends on (repeatable).
    #[arg(long = "job", value_name = "NAME")]
    pub job_names: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run `checkout: self` on a clean copy of the working tree instead of the repository in place.
    #[arg(long)]
    pub isolated: bool,
    /// A directory of task folders (each with a `task.json`), or one task folder, searched for
    /// `task:` steps before the built-in tasks (repeatable; see also the configuration file
    /// below).
    #[arg(long = "tasks", value_name = "DIR")]
    pub tasks: Vec<PathBuf>,
    /// Run the pipeline even when some `task:` steps name a task that is neither built in nor in a
    /// task folder: those steps are skipped, with a warning.
    #[arg(long)]
    pub skip_unknown_tasks: bool,
    /// The action store of GitHub workflows: a directory holding the repositories of actions as
    /// `DIR/owner/repo@ref/` (node and composite actions), used before the built-in actions for
    /// the exact references it holds.
    #[arg(long = "actions", value_name = "DIR")]
    pub actions: Option<PathBuf>,
}

/// The part of `slipway run --help` about tasks and the configuration file.
const TASKS_HELP: &str = "\
Tasks:
  `task:` steps run built-in tasks (CmdLine@2, Bash@3, PowerShell@2, the artifact tasks, Cache@2,
  ...) or tasks from task folders: a folder with a task.json and its implementation, as in
  Microsoft's azure-pipelines-tasks repository or an extracted extension. Before a run starts,
  every task step must have a task; otherwise the run stops (exit 2) and names each step.

Configuration file:
  Task directories can also be listed in `slipway.toml` at the repository's root, or in
  `$XDG_CONFIG_HOME/slipway/config.toml` (`~/.config/slipway/config.toml`):

      [tasks]
      directories = [\"../azure-pipelines-tasks/Tasks\", \"/opt/slipway/tasks\"]

  Relative directories start at the configuration file's directory. `--tasks` directories are
  searched first, then the repository's file, then the user's.";

pub(crate) fn name_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got '{text}'")),
    }
}

/// Prints events as JSON lines on standard output.
struct JsonSink(Mutex<std::io::Stdout>);

impl EventSink for JsonSink {
    fn emit(&self, event: Event) {
        if let Ok(mut out) = self.0.lock() {
            let _ = writeln!(out, "{}", event.to_json_line());
        }
    }
}

/// Ctrl-C (and SIGTERM) cancel the run; a second one forces it to stop at once.
fn watch_signals(cancel: &CancelToken) {
    let Ok(mut signals) =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
    else {
        return;
    };
    let cancel = cancel.clone();
    let _ = std::thread::Builder::new().name("signals".into()).spawn(move || {
        for _ in signals.forever() {
            cancel.cancel();
        }
    });
}

pub(crate) fn exit_code(result: TaskResult) -> ExitCode {
    match result {
        TaskResult::Succeeded | TaskResult::SucceededWithIssues | TaskResult::Skipped => ExitCode::SUCCESS,
        TaskResult::Failed => ExitCode::from(1),
        TaskResult::Canceled => ExitCode::from(130),
    }
}

/// `slipway run`.
pub fn run_command(args: RunArgs) -> ExitCode {
    if !args.path.is_file() {
        eprintln!("error: no pipeline file at {}", args.path.display());
        return ExitCode::from(2);
    }
    let (plan, sources) = match crate::frontend::load_plan(&args.path, &args.params, &[]) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (source_dir, repository) = crate::git::repository(&args.path);
    let directories = match tasks::directories(&args.tasks, &source_dir) {
        Ok(directories) => directories,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let task_folders = tasks::discover(&directories);
    let action_store = match actions::store(args.actions.as_deref()) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut problems = tasks::check(&plan, &task_folders, args.skip_unknown_tasks);
    problems.extend(actions::check(&plan, action_store.as_deref(), &source_dir));
    tasks::print(&problems, &sources);
    if problems.iter().any(slipway_diagnostics::Diagnostic::is_error) {
        return ExitCode::from(2);
    }
    let cancel = CancelToken::new();
    watch_signals(&cancel);
    let mut options = RunOptions {
        selection: Selection { stages: args.stages.clone(), jobs: args.job_names.clone() },
        variables: args.vars.clone(),
        secrets: args.secrets.clone(),
        source_dir,
        isolated: args.isolated,
        pipeline_name: repository.name.clone(),
        // Counters and revisions are kept per pipeline file.
        pipeline_key: std::fs::canonicalize(&args.path).unwrap_or_else(|_| args.path.clone()).display().to_string(),
        repository,
        task_folders,
        skip_unknown_tasks: args.skip_unknown_tasks,
        actions_dir: action_store.clone(),
        ..RunOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.max_parallel = jobs as usize;
    }
    if let Some(dir) = std::env::var_os("SLIPWAY_WORK_DIR") {
        options.work_dir = PathBuf::from(dir);
    }
    // Test-only knobs: how long a "minute" of timeoutInMinutes lasts, and the SIGTERM grace.
    if let Some(ms) = std::env::var("SLIPWAY_TEST_MINUTE_MS").ok().and_then(|ms| ms.parse::<u64>().ok()) {
        options.minute = std::time::Duration::from_millis(ms);
    }
    if let Some(ms) = std::env::var("SLIPWAY_KILL_GRACE_MS").ok().and_then(|ms| ms.parse::<u64>().ok()) {
        options.kill_grace = std::time::Duration::from_millis(ms);
    }
    let plan = Arc::new(plan);
    let (sink, console): (Arc<dyn EventSink>, Option<Arc<console::Console>>) = match args.format {
        Format::Json => (Arc::new(JsonSink(Mutex::new(std::io::stdout()))), None),
        Format::Text => {
            let console = Arc::new(console::Console::new(&plan));
            (console.clone(), Some(console))
        }
    };
    match slipway_runtime::execute(plan, &options, Arc::new(LocalExecutor), sink, &cancel) {
        Ok(report) => {
            if let Some(console) = console {
                console.summary();
            }
            exit_code(report.result)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_value_pairs() {
        assert_eq!(name_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(name_value("a="), Ok(("a".into(), String::new())));
        assert!(name_value("=x").is_err());
        assert!(name_value("novalue").is_err());
    }

    #[test]
    fn exit_codes_follow_results() {
        assert_eq!(exit_code(TaskResult::SucceededWithIssues), ExitCode::SUCCESS);
        assert_eq!(exit_code(TaskResult::Failed), ExitCode::from(1));
        assert_eq!(exit_code(TaskResult::Canceled), ExitCode::from(130));
    }
}
