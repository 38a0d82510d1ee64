//! The `slipway` command: validate, expand, plan and run pipelines.
//!
//! This binary is the edge where I/O happens: it reads files from disk for the front end, prints
//! diagnostics and plans, and runs pipelines through the runtime.

mod frontend;
mod git;
mod run;
mod serve;

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
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Validate(args) => frontend::validate(&args),
        Command::Expand(args) => frontend::expand(&args),
        Command::Plan(args) => frontend::plan(&args),
        Command::Run(args) => run::run_command(args),
        Command::Serve(args) => serve::serve_command(&args),
    }
}
