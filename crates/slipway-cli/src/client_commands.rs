//! The `slipway` commands that are clients of a Slipway server: `login` and `logout`, `pipelines`,
//! `runs`, `variables`, `groups`, `environments`, `approvals`, `services`, `flags`, `users` and `tokens`, over
//! [`slipway_client`].
//!
//! The server and token come from `--server`/`--token`, then `SLIPWAY_SERVER`/`SLIPWAY_TOKEN`,
//! then the saved login (see [`crate::credentials`]); a saved token is sent only to the server it
//! was saved for. Errors are one line saying what to do; exit status 2 for usage problems (no
//! server or token, bad arguments), 1 for failures.

mod access;
mod audit;
mod dora;
mod environments;
mod events;
mod evidence;
mod flags;
mod library;
mod notifications;
mod runs;
mod services;
mod team;
mod work_items;

use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;

use crate::output::outln;
use clap::{Args, ValueEnum};
use slipway_client::{Client, ClientError};

pub use access::{LoginArgs, TokensArgs, UsersArgs, login, logout, tokens, users};
pub use audit::{AuditArgs, audit};
pub use dora::{DoraArgs, dora};
pub use environments::{ApprovalsArgs, EnvironmentsArgs, approvals, environments};
pub use events::{EventsArgs, events};
pub use evidence::{EvidenceArgs, evidence};
pub use flags::{FlagsArgs, flags};
pub use library::{GroupsArgs, VariablesArgs, groups, variables};
pub use notifications::{NotificationsArgs, notifications};
pub use runs::{PipelinesArgs, RunsArgs, pipelines, runs};
pub use services::{ServicesArgs, services};
pub use team::{TeamArgs, team};
pub use work_items::{WorkItemsArgs, work_items};

/// `--server` and `--token`, taken by every client command.
#[derive(Args, Clone, Debug, Default)]
pub struct Connection {
    /// The server's address, such as http://127.0.0.1:8080 [default: $SLIPWAY_SERVER, or the saved
    /// login].
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// A personal access token [default: $SLIPWAY_TOKEN, or the saved login]. Prefer the
    /// environment variable or `slipway login`: other users of this machine can see command
    /// lines.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// How a listing is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table for people.
    #[default]
    Text,
    /// The API's JSON.
    Json,
}

/// Where a setting came from, to say which one to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Flag,
    Environment,
    Login,
    /// Typed at `slipway login`'s prompt, or piped to it.
    Input,
}

/// A command that failed: the line to print and the exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// A usage problem: exit status 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 2 }
    }

    /// A failure: exit status 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 1 }
    }

    /// Prints the error and gives the exit status.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }
}

/// Runs a client command, printing its failure.
pub fn finish(outcome: Result<ExitCode, Failure>) -> ExitCode {
    outcome.unwrap_or_else(Failure::report)
}

/// A client with where its server and token came from.
pub struct Session {
    client: Client,
    server_source: Source,
    token_source: Option<Source>,
}

fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|value| value.trim().to_owned()).filter(|value| !value.is_empty())
}

fn saved_login() -> Result<Option<crate::credentials::Credentials>, Failure> {
    match crate::credentials::path() {
        Ok(path) => crate::credentials::load(&path).map_err(Failure::usage),
        Err(_) => Ok(None),
    }
}

/// The server's address: the flag, the environment, or the saved login.
fn resolve_server(connection: &Connection) -> Result<(String, Source), Failure> {
    let (server, source) = if let Some(server) = connection.server.clone() {
        (server, Source::Flag)
    } else if let Some(server) = environment("SLIPWAY_SERVER") {
        (server, Source::Environment)
    } else if let Some(saved) = saved_login()? {
        (saved.server, Source::Login)
    } else {
        return Err(Failure::usage(
            "no Slipway server given: pass --server URL, set SLIPWAY_SERVER, or run `slipway login --server URL`",
        ));
    };
    let server = slipway_client::normalize_server(&server).map_err(|error| Failure::usage(error.to_string()))?;
    Ok((server, source))
}

impl Session {
    /// A session for a command that needs a token.
    pub fn open(connection: &Connection) -> Result<Self, Failure> {
        let (server, server_source) = resolve_server(connection)?;
        let client = Client::new(&server).map_err(|error| Failure::usage(error.to_string()))?;
        let (token, token_source) = if let Some(token) = connection.token.clone() {
            (token, Source::Flag)
        } else if let Some(token) = environment("SLIPWAY_TOKEN") {
            (token, Source::Environment)
        } else {
            // A saved token goes only to the server it was saved for.
            let saved = saved_login()?.filter(|saved| {
                slipway_client::normalize_server(&saved.server).is_ok_and(|saved| saved == client.server())
            });
            match saved {
                Some(saved) => (saved.token, Source::Login),
                None => {
                    return Err(Failure::usage(format!(
                        "no token for {}: pass --token TOKEN, set SLIPWAY_TOKEN, or run `slipway login --server {}`",
                        client.server(),
                        client.server()
                    )));
                }
            }
        };
        Ok(Self { client: client.with_token(token.trim()), server_source, token_source: Some(token_source) })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Turns a client error into the one line that says what to do.
    pub fn fail(&self, error: ClientError) -> Failure {
        let server = self.client.server();
        match error {
            ClientError::Unreachable { reason, .. } => {
                let from = match self.server_source {
                    Source::Flag => "--server",
                    Source::Environment => "SLIPWAY_SERVER",
                    Source::Login | Source::Input => "the saved login (`slipway login --server URL` changes it)",
                };
                Failure::failed(format!(
                    "cannot reach the Slipway server at {server} ({reason}): is it running (`slipway serve`)? \
                     The address came from {from}"
                ))
            }
            ClientError::Api(problem) => match problem.status {
                401 => {
                    let from = match self.token_source {
                        Some(Source::Flag) => "the token given with --token",
                        Some(Source::Environment) => "the token in SLIPWAY_TOKEN",
                        Some(Source::Input) => "the token given",
                        _ => "the saved token",
                    };
                    Failure::failed(format!(
                        "{server} refused {from} ({}): run `slipway login --server {server}` with a valid token",
                        problem.detail
                    ))
                }
                403 => Failure::failed(format!(
                    "not allowed: {}; ask an admin of {server} for a token with that role",
                    problem.detail
                )),
                _ if problem.is_unknown_route() => Failure::failed(format!(
                    "the server at {server} does not offer this API ({} {}): it may be older than this `slipway`",
                    problem.status, problem.detail
                )),
                404 => {
                    let hint = if problem.detail.starts_with("no run") {
                        "; `slipway runs list` shows the runs"
                    } else if problem.detail.starts_with("no pipeline") {
                        "; `slipway pipelines list` shows the pipelines"
                    } else {
                        ""
                    };
                    Failure::failed(format!("{}{hint}", problem.detail))
                }
                _ => Failure::failed(problem.detail),
            },
            ClientError::InvalidServer { .. } => Failure::usage(error.to_string()),
            ClientError::Protocol(detail) => Failure::failed(format!("talking to {server}: {detail}")),
        }
    }
}

/// A value given on the command line, or else read from standard input: typed at a prompt
/// (hidden when `secret`) on a terminal, or the whole input (without its last line break) when
/// it is piped.
pub fn value_from_stdin(prompt: &str, secret: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        if secret {
            return rpassword::prompt_password(prompt)
                .map_err(|error| Failure::failed(format!("cannot read the value: {error}")));
        }
        eprint!("{prompt}");
        let mut line = String::new();
        stdin.read_line(&mut line).map_err(|error| Failure::failed(format!("cannot read the value: {error}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .map_err(|error| Failure::failed(format!("cannot read the value: {error}")))?;
    let text = text.strip_suffix('\n').map_or(text.as_str(), |text| text.strip_suffix('\r').unwrap_or(text));
    Ok(text.to_owned())
}

/// Prints rows as columns lined up under their headings.
pub fn print_table(headings: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headings.iter().map(|heading| heading.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        outln!("{}", text.trim_end());
    };
    line(headings.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints a value as indented JSON.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|error| Failure::failed(error.to_string()))?;
    outln!("{text}");
    Ok(())
}
