//! `slipway flags ...`: an environment's feature flags (a flagd document): list them, set one's
//! default variant or state, import a flagd JSON file, and evaluate one for a context as an
//! application would over OFREP.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use slipway_client::{ClientError, api};

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway flags`.
#[derive(Args, Debug)]
pub struct FlagsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: FlagsCommand,
}

/// A flag's state on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum State {
    /// Evaluated.
    Enabled,
    /// Not served: applications use their own default.
    Disabled,
}

#[derive(Subcommand, Debug)]
enum FlagsCommand {
    /// List an environment's flags: state, type, default variant and variants.
    List {
        /// The environment.
        environment: String,
        /// Output format (`json`: the API's, with the whole flagd document).
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Set a flag's default variant and/or state (contributor).
    Set {
        /// The environment.
        environment: String,
        /// The flag's key.
        key: String,
        /// The variant to serve when targeting chooses none.
        #[arg(long, value_name = "NAME")]
        variant: Option<String>,
        /// Whether it is served.
        #[arg(long, value_enum)]
        state: Option<State>,
        /// Change only this revision (as `slipway flags list` shows it).
        #[arg(long, value_name = "N")]
        revision: Option<i64>,
    },
    /// Replace an environment's flags with a flagd JSON file (contributor); every mistake in it
    /// is named.
    Import {
        /// The environment.
        environment: String,
        /// The flagd flag-definition file (`-` for standard input).
        file: String,
        /// Replace only this revision (as `slipway flags list` shows it).
        #[arg(long, value_name = "N")]
        revision: Option<i64>,
    },
    /// Evaluate a flag for a context, as an application asks over OFREP.
    Eval {
        /// The environment.
        environment: String,
        /// The flag's key.
        key: String,
        /// The evaluation context: a JSON object, such as '{"targetingKey": "user-1"}'.
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
}

fn print_flags(set: &api::FlagSet) {
    let by = set.updated_by.as_deref().map(|user| format!(", changed by {user}")).unwrap_or_default();
    outln!("Flags of {} (revision {}{by})", set.environment, set.revision);
    if set.flags.is_empty() {
        outln!("No flags.");
        return;
    }
    let rows: Vec<Vec<String>> = set
        .flags
        .iter()
        .map(|flag| {
            let variants: Vec<String> = flag.variants.iter().map(|(name, value)| format!("{name}={value}")).collect();
            vec![
                flag.key.clone(),
                flag.state.clone(),
                flag.kind.clone(),
                flag.default_variant.clone().unwrap_or_else(|| "(application's)".to_owned()),
                if flag.targeted { "yes".to_owned() } else { "no".to_owned() },
                variants.join(" "),
            ]
        })
        .collect();
    print_table(&["FLAG", "STATE", "TYPE", "DEFAULT", "TARGETED", "VARIANTS"], &rows);
}

/// `slipway flags ...`.
pub fn flags(args: FlagsArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        FlagsCommand::List { environment, format } => {
            let set = client.flags(&environment).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&set).map(|()| ExitCode::SUCCESS);
            }
            print_flags(&set);
        }
        FlagsCommand::Set { environment, key, variant, state, revision } => {
            if variant.is_none() && state.is_none() {
                return Err(Failure::usage("give --variant NAME, --state enabled|disabled, or both"));
            }
            let set = api::SetFlag {
                state: state.map(|state| if state == State::Enabled { "ENABLED" } else { "DISABLED" }.to_owned()),
                default_variant: variant.map(Some),
                revision,
            };
            let saved = client.set_flag(&environment, &key, &set).map_err(fail)?;
            if let Some(flag) = saved.flags.iter().find(|flag| flag.key == key) {
                let default = flag.default_variant.as_deref().unwrap_or("(application's)");
                outln!(
                    "Flag {key} of {environment}: {}, default variant {default} (revision {}).",
                    flag.state,
                    saved.revision
                );
            }
        }
        FlagsCommand::Import { environment, file, revision } => {
            let text =
                if file == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(&file) }
                    .map_err(|error| Failure::failed(format!("cannot read {file}: {error}")))?;
            let document: serde_json::Value =
                serde_json::from_str(&text).map_err(|error| Failure::failed(format!("{file} is not JSON: {error}")))?;
            let saved = client.put_flags(&environment, &api::PutFlags { document, revision }).map_err(fail)?;
            outln!("Imported {} flags into {environment} (revision {}).", saved.flags.len(), saved.revision);
        }
        FlagsCommand::Eval { environment, key, context } => {
            let context = match context {
                None => serde_json::json!({}),
                Some(text) => serde_json::from_str(&text)
                    .map_err(|error| Failure::usage(format!("--context is not JSON: {error}")))?,
            };
            match client.evaluate_flag(&environment, &key, &api::OfrepRequest { context }) {
                Ok(evaluation) => {
                    let value = evaluation
                        .value
                        .as_ref()
                        .map_or_else(|| "(the application's own default)".to_owned(), ToString::to_string);
                    let variant =
                        evaluation.variant.as_deref().map(|variant| format!(", variant {variant}")).unwrap_or_default();
                    let reason = evaluation.reason.as_deref().unwrap_or("UNKNOWN");
                    outln!("{key}: {value} ({reason}{variant})");
                }
                // OFREP's failure body: the flag's error code and details.
                Err(ClientError::Api(problem))
                    if let Ok(failure) = serde_json::from_str::<api::OfrepEvaluation>(&problem.detail)
                        && failure.error_code.is_some() =>
                {
                    let code = failure.error_code.unwrap_or_default();
                    let details = failure.error_details.unwrap_or_default();
                    return Err(Failure::failed(format!("{key}: {code}: {details}")));
                }
                Err(error) => return Err(fail(error)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
