//! `slipway variables ...` and `slipway groups ...`: a pipeline's variables and the variable
//! groups (Azure's Library) on a server. Secret values are read from standard input (hidden at a
//! terminal) unless given with `--value`, and are never printed.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api::Variable;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table, value_from_stdin};
use crate::output::outln;

/// `slipway variables`.
#[derive(Args, Debug)]
pub struct VariablesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: VariablesCommand,
}

/// The value of a variable being set.
#[derive(Args, Debug)]
struct ValueArgs {
    /// Keep the value secret: stored encrypted, masked in logs, never shown again.
    #[arg(long)]
    secret: bool,
    /// The value [default: read from standard input; typed hidden at a terminal for secrets].
    /// Prefer standard input for secrets: other users of this machine can see command lines.
    #[arg(long, value_name = "VALUE")]
    value: Option<String>,
}

impl ValueArgs {
    fn read(self, name: &str) -> Result<String, Failure> {
        match self.value {
            Some(value) => Ok(value),
            None => value_from_stdin(&format!("Value of {name}: "), self.secret),
        }
    }
}

#[derive(Subcommand, Debug)]
enum VariablesCommand {
    /// Set a pipeline variable (contributor).
    Set {
        /// The pipeline.
        pipeline: String,
        /// The variable's name.
        name: String,
        #[command(flatten)]
        value: ValueArgs,
    },
    /// List a pipeline's variables (secret values are not shown).
    List {
        /// The pipeline.
        pipeline: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Delete a pipeline variable (contributor).
    Delete {
        /// The pipeline.
        pipeline: String,
        /// The variable's name.
        name: String,
    },
}

/// `slipway groups`.
#[derive(Args, Debug)]
pub struct GroupsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: GroupsCommand,
}

#[derive(Subcommand, Debug)]
enum GroupsCommand {
    /// Create a variable group (pipelines use it with `- group: NAME` in `variables:`).
    Create {
        /// The group's name.
        name: String,
        /// What the group is for.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
    },
    /// List the variable groups.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Show a group's variables (secret values are not shown).
    Show {
        /// The group.
        group: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Set a variable of a group.
    Set {
        /// The group.
        group: String,
        /// The variable's name.
        name: String,
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Delete a group, or only one of its variables.
    Delete {
        /// The group.
        group: String,
        /// The variable to delete [default: the whole group].
        name: Option<String>,
    },
}

fn print_variables(variables: &[Variable], format: ListFormat) -> Result<(), Failure> {
    if format == ListFormat::Json {
        return print_json(&variables);
    }
    let rows: Vec<Vec<String>> = variables
        .iter()
        .map(|variable| {
            let value = if variable.secret { "***".to_owned() } else { variable.value.clone().unwrap_or_default() };
            vec![variable.name.clone(), if variable.secret { "yes" } else { "no" }.to_owned(), value]
        })
        .collect();
    print_table(&["NAME", "SECRET", "VALUE"], &rows);
    Ok(())
}

fn kind(secret: bool) -> &'static str {
    if secret { "secret variable" } else { "variable" }
}

/// `slipway variables ...`.
pub fn variables(args: VariablesArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    match args.command {
        VariablesCommand::Set { pipeline, name, value } => {
            let secret = value.secret;
            let value = value.read(&name)?;
            client.set_variable(&pipeline, &name, &value, secret).map_err(|error| session.fail(error))?;
            outln!("Set the {} '{name}' of pipeline {pipeline}.", kind(secret));
        }
        VariablesCommand::List { pipeline, format } => {
            let variables = client.variables(&pipeline).map_err(|error| session.fail(error))?;
            print_variables(&variables, format)?;
        }
        VariablesCommand::Delete { pipeline, name } => {
            client.delete_variable(&pipeline, &name).map_err(|error| session.fail(error))?;
            outln!("Deleted the variable '{name}' of pipeline {pipeline}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `slipway groups ...`.
pub fn groups(args: GroupsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    match args.command {
        GroupsCommand::Create { name, description } => {
            let group = client.create_variable_group(&name, &description).map_err(|error| session.fail(error))?;
            outln!("Created the variable group {}.", if group.name.is_empty() { &name } else { &group.name });
        }
        GroupsCommand::List { format } => {
            let groups = client.variable_groups().map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&groups)?;
            } else {
                let rows: Vec<Vec<String>> =
                    groups.iter().map(|group| vec![group.name.clone(), group.description.clone()]).collect();
                print_table(&["NAME", "DESCRIPTION"], &rows);
            }
        }
        GroupsCommand::Show { group, format } => {
            let group = client.variable_group(&group).map_err(|error| session.fail(error))?;
            if format == ListFormat::Json {
                print_json(&group)?;
            } else {
                if !group.description.is_empty() {
                    outln!("{}: {}", group.name, group.description);
                }
                print_variables(&group.variables, format)?;
            }
        }
        GroupsCommand::Set { group, name, value } => {
            let secret = value.secret;
            let value = value.read(&name)?;
            client.set_group_variable(&group, &name, &value, secret).map_err(|error| session.fail(error))?;
            outln!("Set the {} '{name}' of group {group}.", kind(secret));
        }
        GroupsCommand::Delete { group, name: Some(name) } => {
            client.delete_group_variable(&group, &name).map_err(|error| session.fail(error))?;
            outln!("Deleted the variable '{name}' of group {group}.");
        }
        GroupsCommand::Delete { group, name: None } => {
            client.delete_variable_group(&group).map_err(|error| session.fail(error))?;
            outln!("Deleted the variable group {group}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
