//! The `slipway` command: validate, expand, plan and run pipelines; run the server; and talk to
//! a server as its client.
//!
//! This binary is the edge where I/O happens: it reads files from disk for the front end, prints
//! diagnostics and plans, runs pipelines through the runtime, runs the server, and calls a
//! server's API through `slipway-client` (see [`client_commands`]).

mod agent;
mod analysis;
mod client_commands;
mod credentials;
mod demo;
mod frontend;
mod git;
mod osv;
mod output;
mod policy;
mod run;
mod sbom;
mod scan;
mod scan_vulns;
mod serve;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Slipway: run Azure Pipelines (and soon GitHub Actions) on your own machines.
#[derive(Parser)]
#[command(name = "slipway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check pipelines for errors without running them.
    Validate(frontend::ValidateArgs),
    /// Print a pipeline with every template and `${{ }}` expression expanded.
    Expand(frontend::ExpandArgs),
    /// Print the plan Slipway would run.
    Plan(frontend::PlanArgs),
    /// Run a pipeline on this machine.
    Run(run::RunArgs),
    /// Run the Slipway server: the API, and the pipelines' runs.
    Serve(serve::ServeArgs),
    /// Check a server's token and save both for the commands below.
    Login(client_commands::LoginArgs),
    /// Forget the saved server and token.
    Logout,
    /// Create, list and run pipelines on a server.
    Pipelines(client_commands::PipelinesArgs),
    /// List, show, follow, cancel and re-run a server's runs.
    Runs(client_commands::RunsArgs),
    /// Set, list and delete a pipeline's variables on a server.
    Variables(client_commands::VariablesArgs),
    /// Manage a server's variable groups (`- group: NAME` in YAML).
    Groups(client_commands::GroupsArgs),
    /// Manage a server's environments, their checks and deployment history.
    Environments(client_commands::EnvironmentsArgs),
    /// List, approve and reject the approvals stages wait for.
    Approvals(client_commands::ApprovalsArgs),
    /// Manage an environment's services, their slots and traffic weights.
    Services(client_commands::ServicesArgs),
    /// Manage an environment's feature flags and evaluate them as applications do (OFREP).
    Flags(client_commands::FlagsArgs),
    /// Work items and incidents: list, show, create, comment on, assign and resolve them.
    WorkItems(client_commands::WorkItemsArgs),
    /// DORA's metrics (GitLab's DORA API shape): deployment frequency, lead time, change failure
    /// rate, time to restore, rework rate, by day or month.
    Dora(client_commands::DoraArgs),
    /// The team dashboard: pipeline health, flaky tests, queue times, agent use and DORA over the
    /// last days.
    Team(client_commands::TeamArgs),
    /// The event stream (CDEvents as CloudEvents): list and follow it, push events into it.
    Events(client_commands::EventsArgs),
    /// Notifications: subscribe Slack, Microsoft Teams, e-mail or a webhook to the event stream,
    /// and read their deliveries.
    Notifications(client_commands::NotificationsArgs),
    /// The audit log: export it, and verify its hash chain.
    Audit(client_commands::AuditArgs),
    /// A deployment's or run's evidence bundle: its changes, approvals, checks, tests and
    /// security results, as one signed archive with a readable index page.
    Evidence(client_commands::EvidenceArgs),
    /// Create users on a server.
    Users(client_commands::UsersArgs),
    /// Create personal access tokens on a server.
    Tokens(client_commands::TokensArgs),
    /// Run this machine as an agent of a Slipway server: lease jobs and run them.
    Agent(agent::AgentArgs),
    /// Canary analysis: judge recorded series of a canary against its baseline.
    Analysis(analysis::AnalysisArgs),
    /// Security scans: `scan secrets` finds keys, tokens and passwords in files and git history.
    Scan(scan::ScanArgs),
    /// A software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON) from a project's lockfiles
    /// (Cargo, npm, Yarn, pnpm, pip, Poetry, uv, Pipenv, Go, NuGet, Bundler, Composer). Exit 0
    /// written, 2 bad input.
    Sbom(sbom::SbomArgs),
    /// The offline OSV vulnerability database: `osv import` of OSV's per-ecosystem zip exports.
    Osv(osv::OsvArgs),
    /// Verify an artifact's signed provenance (in-toto, SLSA provenance v1, DSSE), offline.
    Verify(verify::VerifyArgs),
    /// Policy as code (Rego, conftest's conventions): `policy test FILE... [--policy DIR]`.
    Policy(policy::PolicyArgs),
    /// Serve a tiny HTTP service to try progressive delivery with: its version at `/`, `/healthz`
    /// and `/version`, with errors, latency or ill health on demand.
    DemoService(demo::DemoServiceArgs),
}

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|command| command == slipway_runtime::process::REAPER_COMMAND) {
        slipway_runtime::process::reaper_main();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    if matches!(cli.command, Command::Run(_) | Command::Serve(_) | Command::Agent(_)) {
        // Steps die with whatever runs them (see slipway_runtime::process).
        let reaper = std::env::current_exe().and_then(|binary| slipway_runtime::process::reap_steps_with(&binary));
        if let Err(error) = reaper {
            eprintln!("warning: no reaper for steps (they may outlive this process if it is killed): {error}");
        }
    }
    match cli.command {
        Command::Validate(args) => frontend::validate(&args),
        Command::Expand(args) => frontend::expand(&args),
        Command::Plan(args) => frontend::plan(&args),
        Command::Run(args) => run::run_command(args),
        Command::Serve(args) => serve::serve_command(&args),
        Command::Login(args) => client_commands::finish(client_commands::login(&args)),
        Command::Logout => client_commands::finish(client_commands::logout()),
        Command::Pipelines(args) => client_commands::finish(client_commands::pipelines(args)),
        Command::Runs(args) => client_commands::finish(client_commands::runs(args)),
        Command::Variables(args) => client_commands::finish(client_commands::variables(args)),
        Command::Groups(args) => client_commands::finish(client_commands::groups(args)),
        Command::Environments(args) => client_commands::finish(client_commands::environments(args)),
        Command::Approvals(args) => client_commands::finish(client_commands::approvals(args)),
        Command::Services(args) => client_commands::finish(client_commands::services(args)),
        Command::Flags(args) => client_commands::finish(client_commands::flags(args)),
        Command::WorkItems(args) => client_commands::finish(client_commands::work_items(args)),
        Command::Dora(args) => client_commands::finish(client_commands::dora(args)),
        Command::Team(args) => client_commands::finish(client_commands::team(args)),
        Command::Events(args) => client_commands::finish(client_commands::events(args)),
        Command::Notifications(args) => client_commands::finish(client_commands::notifications(args)),
        Command::Audit(args) => client_commands::finish(client_commands::audit(args)),
        Command::Evidence(args) => client_commands::finish(client_commands::evidence(args)),
        Command::Users(args) => client_commands::finish(client_commands::users(args)),
        Command::Tokens(args) => client_commands::finish(client_commands::tokens(args)),
        Command::Agent(args) => agent::agent_command(&args),
        Command::Scan(args) => scan::scan_command(&args),
        Command::Sbom(args) => sbom::sbom_command(&args),
        Command::Osv(args) => osv::osv_command(&args),
        Command::Verify(args) => verify::verify_command(&args),
        Command::Policy(args) => policy::policy_command(&args),
        Command::Analysis(args) => analysis::analysis_command(args),
        Command::DemoService(args) => demo::demo_service_command(&args),
    }
}
