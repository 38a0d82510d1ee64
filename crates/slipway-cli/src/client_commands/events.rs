//! `slipway events ...`: the event stream (CDEvents as CloudEvents): list a page of it, follow
//! it as it grows (JSON lines, for scripts), push CDEvents into it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: EventsCommand,
}

/// What selects events.
#[derive(Args, Debug, Default)]
struct Selection {
    /// Only events after this position (a page's `next`).
    #[arg(long, value_name = "POSITION")]
    after: Option<i64>,
    /// Only events whose type starts with this (repeatable), such as dev.cdevents.service.
    #[arg(long = "type", value_name = "PREFIX")]
    types: Vec<String>,
    /// Only events about this environment.
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,
    /// Only events about this pipeline.
    #[arg(long, value_name = "NAME")]
    pipeline: Option<String>,
}

impl Selection {
    fn query(&self, after: Option<i64>, limit: Option<u32>, wait: Option<u32>) -> api::EventsQuery {
        api::EventsQuery {
            after,
            types: (!self.types.is_empty()).then(|| self.types.join(",")),
            environment: self.environment.clone(),
            pipeline: self.pipeline.clone(),
            limit,
            wait,
        }
    }
}

#[derive(Subcommand, Debug)]
enum EventsCommand {
    /// A page of the stream, oldest first: position, time, type, subject, origin.
    List {
        #[command(flatten)]
        selection: Selection,
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Output format (`json`: the API's page, with each whole CloudEvent).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Follow the stream: each event as a line of JSON (the CloudEvent) as it comes, until
    /// interrupted (or `--count` events).
    Follow {
        #[command(flatten)]
        selection: Selection,
        /// Stop after this many events.
        #[arg(long, value_name = "N")]
        count: Option<usize>,
    },
    /// Push CDEvents from a file (`-` for standard input): a CloudEvent, a CDEvent, or a JSON
    /// array of them (contributor). Every problem of an invalid event is named.
    Push {
        /// The file.
        file: String,
    },
}

/// Runs `slipway events`.
///
/// # Errors
/// What the server refused, or a file that cannot be read.
pub fn events(args: EventsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        EventsCommand::List { selection, limit, format } => {
            let page = client.events(&selection.query(selection.after, Some(limit), None)).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&page).map(|()| ExitCode::SUCCESS);
            }
            if page.events.is_empty() {
                outln!("No events.");
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = page
                .events
                .iter()
                .map(|event| {
                    let field = |name: &str| event.event[name].as_str().unwrap_or_default().to_owned();
                    vec![
                        event.position.to_string(),
                        field("time"),
                        field("type"),
                        field("subject"),
                        event.origin.clone(),
                    ]
                })
                .collect();
            print_table(&["POSITION", "TIME", "TYPE", "SUBJECT", "ORIGIN"], &rows);
            outln!("Next: slipway events list --after {}", page.next);
        }
        EventsCommand::Follow { selection, count } => {
            let mut after = selection.after;
            let mut printed = 0;
            loop {
                let page = client.events(&selection.query(after, Some(100), Some(30))).map_err(fail)?;
                for event in &page.events {
                    let line = serde_json::to_string(&event.event)
                        .map_err(|error| Failure::failed(format!("cannot print an event: {error}")))?;
                    outln!("{line}");
                    printed += 1;
                    if count.is_some_and(|count| printed >= count) {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
                after = Some(page.next);
            }
        }
        EventsCommand::Push { file } => {
            let text =
                if file == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(&file) }
                    .map_err(|error| Failure::usage(format!("cannot read {file}: {error}")))?;
            let body: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
                let message = error.to_string();
                let message = message.split(" at line ").next().unwrap_or_default();
                Failure::usage(format!("{file}:{}:{}: not JSON: {message}", error.line(), error.column()))
            })?;
            let accepted = client.push_events(&body).map_err(fail)?;
            for event in accepted {
                match event.position {
                    Some(position) => {
                        outln!("Stored {} {} from {} at position {position}.", event.event_type, event.id, event.source)
                    }
                    None => outln!("Already stored: {} {} from {}.", event.event_type, event.id, event.source),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
