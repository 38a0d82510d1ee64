//! `slipway agent`: runs this machine as an agent of a Slipway server; everything it does is in
//! the `slipway-agent` crate. SIGTERM or Ctrl-C drains (the current job finishes, no new one is
//! taken); a second Ctrl-C cancels the current job. `--drain` asks the agent running in the work
//! directory to drain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use slipway_agent::{AgentNotice, AgentOptions, Control};

/// Arguments of `slipway agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The server's URL, needed to register [default: $SLIPWAY_SERVER, or the one the agent
    /// registered with].
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// A registration token, needed the first time (an admin creates one with
    /// `POST /api/v1/registration-tokens`).
    #[arg(long, value_name = "REGISTRATION_TOKEN")]
    pub token: Option<String>,
    /// The agent's name, when it registers [default: the machine's name].
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// The pool the agent serves, when it registers [default: default].
    #[arg(long, value_name = "P")]
    pub pool: Option<String>,
    /// Where the agent keeps its credential, checkouts and job directories.
    #[arg(long, value_name = "DIR", default_value = ".slipway-agent")]
    pub work_dir: PathBuf,
    /// A capability of this machine besides the detected ones (repeatable). Kept for later starts;
    /// given again, they replace the kept ones.
    #[arg(long = "capability", value_name = "KEY=VALUE")]
    pub capabilities: Vec<String>,
    /// Make the agent a virtual-machine resource of this environment (made if it does not
    /// exist): deployment jobs with `resourceType: VirtualMachine` run on its resources. Kept
    /// for later starts like `--capability` (it is the capability `Slipway.Environment`).
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// A tag of the agent in its environment (repeatable): a deployment job's `tags:` pick the
    /// resources that have all of them (the capability `Slipway.Tags`).
    #[arg(long = "tag", value_name = "T", requires = "environment")]
    pub tags: Vec<String>,
    /// Ask the agent running in the work directory to finish its current job and stop.
    #[arg(long)]
    pub drain: bool,
}

/// `slipway agent`.
pub fn agent_command(args: &AgentArgs) -> ExitCode {
    if args.drain {
        return match slipway_agent::agent::request_drain(&args.work_dir) {
            Ok(pid) => {
                println!("Asked the agent (process {pid}) to finish its current job and stop.");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let server = args.server.clone().or_else(|| std::env::var("SLIPWAY_SERVER").ok().filter(|s| !s.is_empty()));
    let mut capabilities = BTreeMap::new();
    for text in &args.capabilities {
        match slipway_agent::capabilities::parse_capability(text) {
            Ok((key, value)) => {
                capabilities.insert(key, value);
            }
            Err(error) => {
                eprintln!("error: --capability {error}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(environment) = &args.environment {
        if environment.trim().is_empty() {
            eprintln!("error: --environment is empty; give the name of the environment the agent deploys to");
            return ExitCode::from(2);
        }
        capabilities.insert(slipway_agent::capabilities::ENVIRONMENT.to_owned(), environment.trim().to_owned());
        if let Some(tag) = args.tags.iter().find(|tag| tag.trim().is_empty() || tag.contains(',')) {
            eprintln!("error: --tag '{tag}' is not a tag: give one tag per --tag, without commas");
            return ExitCode::from(2);
        }
        if !args.tags.is_empty() {
            let tags: Vec<&str> = args.tags.iter().map(|tag| tag.trim()).collect();
            capabilities.insert(slipway_agent::capabilities::TAGS.to_owned(), tags.join(","));
        }
    }
    let given = !args.capabilities.is_empty() || args.environment.is_some();
    // Tests make minutes shorter, as `slipway run` lets them.
    let minute = std::env::var("SLIPWAY_TEST_MINUTE_MS")
        .ok()
        .and_then(|text| text.parse().ok())
        .map_or(Duration::from_secs(60), Duration::from_millis);
    let options = AgentOptions {
        server,
        token: args.token.clone(),
        name: args.name.clone(),
        pool: args.pool.clone(),
        work_dir: args.work_dir.clone(),
        capabilities: if given { Some(capabilities) } else { None },
        minute,
    };
    let control = Arc::new(Control::new());
    if let Err(error) = watch_signals(Arc::clone(&control)) {
        eprintln!("error: cannot watch for signals: {error}");
        return ExitCode::FAILURE;
    }
    let mut notify = |notice: AgentNotice| match notice {
        AgentNotice::Registered { name, path } => {
            println!("Registered as '{name}'; the credential is in {}.", path.display());
        }
        AgentNotice::Ready { name, pool, server } => {
            println!("Agent '{name}' of pool '{pool}' is waiting for jobs from {server}");
        }
        AgentNotice::JobStarted { key, run } => println!("Running {key} of run {run}"),
        AgentNotice::JobFinished { key, report } => {
            let how =
                if report.lease_lost { "stopped: the lease was lost".to_owned() } else { report.result.to_string() };
            println!("Finished {key}: {how}");
        }
        AgentNotice::Changed(what) => eprintln!("note: {what}"),
        AgentNotice::Unreachable(reason) => eprintln!("warning: {reason}; trying again"),
        AgentNotice::Drained => println!("Agent stopped: it took no more jobs."),
    };
    match slipway_agent::agent::run(&options, &control, &mut notify) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and the first SIGINT drain; a second SIGINT cancels the running job.
fn watch_signals(control: Arc<Control>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        let mut interrupts = 0;
        for signal in signals.forever() {
            if signal == SIGINT {
                interrupts += 1;
                if interrupts > 1 {
                    control.cancel_job();
                    continue;
                }
            }
            control.drain();
        }
    })?;
    Ok(())
}
