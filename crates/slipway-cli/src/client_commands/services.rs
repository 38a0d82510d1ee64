//! `slipway services ...`: the services of an environment, their slots and the traffic router's
//! weights.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use slipway_client::api::{self, Service};

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway services`.
#[derive(Args, Debug)]
pub struct ServicesArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ServicesCommand,
}

#[derive(Subcommand, Debug)]
enum ServicesCommand {
    /// List an environment's services with their slots, weights and requests.
    List {
        /// The environment.
        environment: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Create a service: its router listens on `--listen` (admin).
    Create {
        /// The environment.
        environment: String,
        /// The service's name.
        name: String,
        /// Where its router listens: HOST:PORT, such as 127.0.0.1:9000.
        #[arg(long, value_name = "ADDRESS")]
        listen: String,
        /// Which router fronts it: `router` (Slipway's) or `nginx` (the server's, when it was
        /// started with --nginx-config).
        #[arg(long, value_name = "PROVIDER")]
        provider: Option<String>,
    },
    /// Delete a service; its router stops (admin).
    Delete {
        /// The environment.
        environment: String,
        /// The service.
        name: String,
    },
    /// Add or replace a slot: where its version listens and its weight.
    Slot {
        /// The environment.
        environment: String,
        /// The service.
        name: String,
        /// The slot (stable, canary, blue, green, ...).
        slot: String,
        /// Where its version listens: http://HOST:PORT.
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// Its share of the traffic [default: 0, only requests forced to it with x-slipway-slot].
        #[arg(long, value_name = "N", default_value_t = 0)]
        weight: u32,
    },
    /// Remove a slot.
    RemoveSlot {
        /// The environment.
        environment: String,
        /// The service.
        name: String,
        /// The slot.
        slot: String,
    },
    /// Set traffic weights: `slipway services traffic prod shop stable=90 canary=10`.
    Traffic {
        /// The environment.
        environment: String,
        /// The service.
        name: String,
        /// SLOT=WEIGHT, one or more; slots not named keep their weight.
        #[arg(required = true, value_name = "SLOT=WEIGHT")]
        weights: Vec<String>,
    },
    /// Swap two slots' versions (blue-green): each keeps its name and weight.
    Swap {
        /// The environment.
        environment: String,
        /// The service.
        name: String,
        /// One slot.
        first: String,
        /// The other.
        second: String,
    },
}

fn print_service(service: &Service) {
    let state = match &service.message {
        Some(message) => format!("{}: {message}", service.router),
        None => service.router.clone(),
    };
    outln!("{} on {} ({state})", service.name, service.listen);
    let total: u64 = service.slots.iter().map(|slot| u64::from(slot.weight)).sum();
    let rows: Vec<Vec<String>> = service
        .slots
        .iter()
        .map(|slot| {
            let share = if total == 0 { 0.0 } else { f64::from(slot.weight) * 100.0 / total as f64 };
            let served = slot.requests.ok + slot.requests.server_errors;
            let success = if served == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}%", slot.requests.ok as f64 * 100.0 / served as f64)
            };
            vec![
                slot.name.clone(),
                slot.upstream.clone(),
                format!("{} ({share:.0}%)", slot.weight),
                (slot.requests.ok + slot.requests.client_errors + slot.requests.server_errors).to_string(),
                success,
            ]
        })
        .collect();
    print_table(&["SLOT", "UPSTREAM", "WEIGHT", "REQUESTS", "SUCCESS"], &rows);
}

/// `slipway services ...`.
pub fn services(args: ServicesArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let fail = |error| session.fail(error);
    match args.command {
        ServicesCommand::List { environment, format } => {
            let list = client.services(&environment).map_err(fail)?;
            if format == ListFormat::Json {
                return print_json(&list).map(|()| ExitCode::SUCCESS);
            }
            if list.services.is_empty() {
                outln!("Environment {environment} has no service.");
            }
            for service in &list.services {
                print_service(service);
            }
        }
        ServicesCommand::Create { environment, name, listen, provider } => {
            let created = client.create_service(&environment, &name, &listen, provider.as_deref()).map_err(fail)?;
            outln!(
                "Created the service {} of {environment}; its router listens on {} ({}).",
                created.name,
                created.listen,
                created.router
            );
        }
        ServicesCommand::Delete { environment, name } => {
            client.delete_service(&environment, &name).map_err(fail)?;
            outln!("Deleted the service {name} of {environment}; its router stopped.");
        }
        ServicesCommand::Slot { environment, name, slot, upstream, weight } => {
            let service = client.set_slot(&environment, &name, &slot, &upstream, weight).map_err(fail)?;
            print_service(&service);
        }
        ServicesCommand::RemoveSlot { environment, name, slot } => {
            client.delete_slot(&environment, &name, &slot).map_err(fail)?;
            outln!("Removed the slot {slot} of {name}.");
        }
        ServicesCommand::Traffic { environment, name, weights } => {
            let mut parsed = BTreeMap::new();
            for text in &weights {
                let (slot, weight) = text
                    .split_once('=')
                    .and_then(|(slot, weight)| Some((slot.trim(), weight.trim().parse::<u32>().ok()?)))
                    .filter(|(slot, _)| !slot.is_empty())
                    .ok_or_else(|| Failure::usage(format!("'{text}' is not SLOT=WEIGHT (such as canary=10)")))?;
                parsed.insert(slot.to_owned(), weight);
            }
            let service =
                client.set_traffic(&environment, &name, &api::SetTraffic { weights: parsed }).map_err(fail)?;
            print_service(&service);
        }
        ServicesCommand::Swap { environment, name, first, second } => {
            let service = client.swap_slots(&environment, &name, &first, &second).map_err(fail)?;
            print_service(&service);
        }
    }
    Ok(ExitCode::SUCCESS)
}
