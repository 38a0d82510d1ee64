//! Built-in tasks: progressive delivery. Slipway's own tasks (no Azure task does this), with
//! Azure-style inputs, for the lifecycle hooks of a deployment job's `runOnce` or `canary`
//! strategy:
//!
//! - `SlipwayDeploySlot@1` starts a version of a service in a slot on the agent running the job
//!   (a process that outlives the job, given a free port as `PORT`, health-checked before it is
//!   registered with the service's router; the process it replaces is stopped);
//! - `SlipwayTraffic@1` moves traffic: `route` a percentage to a slot, `swap` two slots
//!   (blue-green), `promote` a canary into the stable slot, `rollback` to it, `retire` a slot;
//! - `SlipwayFeatureFlag@1` sets a feature flag of the job's environment (its default variant
//!   and/or state): releasing without deploying;
//! - `SlipwayChaos@1` runs a Chaos Toolkit experiment against the service (faults injected
//!   through its router), failing when the steady state deviates;
//! - `SlipwayAnalysis@1` judges a release with an Argo `AnalysisTemplate` measured by the server,
//!   optionally with synthetic load through the router, and fails the step when the analysis
//!   fails (so that the strategy's `on: failure` hook rolls back).
//!
//! Each asks the server through [`TaskHost::delivery`] with the job's lease: only a deployment
//! job may, and only for services of its own environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slipway_events::delivery::{AnalysisState, DeliveryAnswer, DeliveryRequest, Load, ServiceState};

use super::Builtin;
use crate::{CommandLine, HostError, InputSpec, Inputs, Outcome, SetVariable, SlotProcess, TaskHost};

/// Why a delivery task failed; its message is the step's failure line.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryTaskError {
    /// An integer input is not a whole number.
    #[error("input '{input}' must be a whole number, not '{value}'")]
    NotWhole {
        /// The input.
        input: String,
        /// What it says.
        value: String,
    },
    /// An integer input is out of its range (`range` says it: `0 to 100`).
    #[error("input '{input}' must be {range}, not {value}")]
    OutOfRange {
        /// The input.
        input: &'static str,
        /// Its range, in words.
        range: &'static str,
        /// What it says.
        value: u64,
    },
    /// A weight of `SlipwayTraffic`'s `weights` is not 0 to 100.
    #[error("input 'weights': the weight of '{slot}' must be 0 to 100, not '{weight}'")]
    Weight {
        /// The slot.
        slot: String,
        /// Its weight as written.
        weight: String,
    },
    /// A line of a `NAME=value` input is not that.
    #[error("input '{input}': '{line}' is not NAME=value (one per line)")]
    NotAPair {
        /// The input.
        input: String,
        /// The line.
        line: String,
    },
    /// Text given both inline and in a file.
    #[error("give '{input}' or '{input}File', not both")]
    InlineAndFile {
        /// The inline input (the file's is `inputFile`).
        input: String,
    },
    /// Text given neither inline nor in a file.
    #[error("give {what}: '{input}' ({inline}) or '{input}File' (a path)")]
    NeitherInlineNorFile {
        /// The inline input.
        input: String,
        /// What the text is.
        what: &'static str,
        /// What the inline input holds.
        inline: &'static str,
    },
    /// The file an input names cannot be read.
    #[error("could not read {input} {}: {source}", path.display())]
    Read {
        /// The input naming the file.
        input: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `SlipwayTraffic`'s `action` is none of those known.
    #[error("input 'action' must be route, weights, swap, promote, rollback, retire or register, not '{0}'")]
    UnknownAction(String),
    /// `sameAs` names a slot the service does not have.
    #[error("input 'sameAs': service '{service}' has no slot '{slot}'")]
    NoSuchSlot {
        /// The service.
        service: String,
        /// The slot.
        slot: String,
    },
    /// `sameAs` names a slot whose process another agent started.
    #[error(
        "input 'sameAs': slot '{slot}' ({upstream}) was not started by this agent, so its command is not known here; give 'command' and 'arguments' instead"
    )]
    NotStartedHere {
        /// The slot.
        slot: String,
        /// Where it runs.
        upstream: String,
    },
    /// The server answered a request with the answer to another (`what` it should have been).
    #[error("the server answered with something else than {what}")]
    UnexpectedAnswer {
        /// What was asked for (`the service`).
        what: &'static str,
    },
    /// The job could not do what the task asked (no server, the server refused, the slot's
    /// process did not start).
    #[error(transparent)]
    Host(#[from] HostError),
    /// A slot's process started but the server did not register it (the process was stopped).
    #[error("could not register slot '{slot}' of service '{service}': {source}")]
    Register {
        /// The slot.
        slot: String,
        /// The service.
        service: String,
        /// Why.
        source: Box<DeliveryTaskError>,
    },
    /// The job was cancelled while an analysis ran; the run was stopped.
    #[error("canceled; analysis run {0} was stopped")]
    AnalysisCanceled(i64),
    /// The analysis ended other than `Successful`.
    #[error("analysis run {id} ended {phase}{}", message.as_deref().map(|message| format!(": {message}")).unwrap_or_default())]
    AnalysisEnded {
        /// The analysis run.
        id: i64,
        /// How it ended (`Failed`, `Error`, `Inconclusive`).
        phase: String,
        /// Why, when the server said.
        message: Option<String>,
    },
    /// The job was cancelled while an experiment ran; it was stopped.
    #[error("canceled; chaos experiment {0} was stopped and its faults taken away")]
    ChaosCanceled(i64),
    /// The system deviated from its steady state under the method's faults.
    #[error("chaos experiment {0}: the system deviated from its steady state under the method's faults")]
    ChaosDeviated(i64),
    /// An action of the method could not act.
    #[error(
        "chaos experiment {0}: an action of the method could not act (see its line above); its faults were taken away"
    )]
    ChaosActionFailed(i64),
    /// The steady state did not hold before the method.
    #[error("chaos experiment {0}: the steady state did not hold before the method, so nothing was injected")]
    ChaosNotSteady(i64),
    /// The experiment ended with another status.
    #[error("chaos experiment {id} ended {status}")]
    ChaosEnded {
        /// The experiment.
        id: i64,
        /// Its status.
        status: String,
    },
}

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "SlipwayDeploySlot",
        id: "5c1e7a52-3d0b-4a8e-9a57-5d1f0f1e0a01",
        majors: &[1],
        inputs: deploy_inputs,
        run: run_deploy,
    },
    Builtin {
        name: "SlipwayTraffic",
        id: "5c1e7a52-3d0b-4a8e-9a57-5d1f0f1e0a02",
        majors: &[1],
        inputs: traffic_inputs,
        run: run_traffic,
    },
    Builtin {
        name: "SlipwayFeatureFlag",
        id: "5c1e7a52-3d0b-4a8e-9a57-5d1f0f1e0a05",
        majors: &[1],
        inputs: flag_inputs,
        run: run_flag,
    },
    Builtin {
        name: "SlipwayChaos",
        id: "5c1e7a52-3d0b-4a8e-9a57-5d1f0f1e0a04",
        majors: &[1],
        inputs: chaos_inputs,
        run: run_chaos,
    },
    Builtin {
        name: "SlipwayAnalysis",
        id: "5c1e7a52-3d0b-4a8e-9a57-5d1f0f1e0a03",
        majors: &[1],
        inputs: analysis_inputs,
        run: run_analysis,
    },
];

fn deploy_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("service").required(),
        InputSpec::string("slot").required(),
        InputSpec::string("sameAs"),
        InputSpec::string("command").required().visible("sameAs = "),
        InputSpec::string("arguments"),
        InputSpec::path("workingDirectory").alias(&["cwd"]),
        InputSpec::lines("environment"),
        InputSpec::string("host").default("127.0.0.1"),
        InputSpec::integer("port"),
        InputSpec::string("healthPath").default("/healthz"),
        InputSpec::integer("healthTimeoutSeconds").default("30"),
        InputSpec::integer("weight"),
    ]
}

fn traffic_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("service").required(),
        InputSpec::pick("action", &["route", "weights", "swap", "promote", "rollback", "retire", "register"])
            .required()
            .default("route"),
        InputSpec::string("slot").required().visible("action != weights"),
        InputSpec::integer("percent").required().visible("action = route"),
        InputSpec::lines("weights").required().visible("action = weights"),
        InputSpec::string("upstream").required().visible("action = register"),
        InputSpec::integer("weight").visible("action = register"),
        InputSpec::string("with").required().visible("action = swap"),
        InputSpec::string("stableSlot").default("stable").visible("action = promote || action = rollback"),
    ]
}

fn flag_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("flag").required(),
        InputSpec::string("variant"),
        InputSpec::pick("state", &["", "enabled", "disabled"]).default(""),
    ]
}

fn run_flag(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let flag = inputs.text("flag").to_owned();
    let variant = inputs.get("variant").map(str::to_owned);
    let state = inputs.get("state").map(str::to_ascii_uppercase);
    if variant.is_none() && state.is_none() {
        return Outcome::failed(
            "give the flag's 'variant' (its new default variant), its 'state' (enabled or disabled), or both",
        );
    }
    match host.delivery(&DeliveryRequest::SetFlag { flag: flag.clone(), variant, state }) {
        Ok(DeliveryAnswer::Flag(changed)) => {
            host.log(&format!(
                "Flag '{}' of {} is {} with default variant {} (revision {}).",
                changed.flag,
                changed.environment,
                changed.state,
                changed.default_variant.as_deref().unwrap_or("(the application's own)"),
                changed.revision
            ));
            Outcome::Succeeded
        }
        Ok(_) => Outcome::failed("the server answered with something else than the flag"),
        Err(message) => Outcome::Failed(format!("could not set flag '{flag}': {message}")),
    }
}

fn chaos_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("service").required(),
        InputSpec::string("experiment"),
        InputSpec::path("experimentFile"),
        InputSpec::integer("loadRequestsPerSecond").default("0"),
        InputSpec::string("loadPath").default("/"),
        InputSpec::boolean("publishJournal", true),
    ]
}

fn analysis_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("service").required(),
        InputSpec::string("template"),
        InputSpec::path("templateFile"),
        InputSpec::lines("args"),
        InputSpec::integer("loadRequestsPerSecond").default("0"),
        InputSpec::string("loadPath").default("/"),
    ]
}

/// An integer input, checked.
fn integer(inputs: &Inputs, name: &str) -> Result<Option<u64>, DeliveryTaskError> {
    inputs
        .get(name)
        .map(|value| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| DeliveryTaskError::NotWhole { input: name.to_owned(), value: value.to_owned() })
        })
        .transpose()
}

/// An integer input that must be 0 to 100 (a weight, a percentage).
fn percentage(input: &'static str, value: u64) -> Result<u32, DeliveryTaskError> {
    u32::try_from(value).ok().filter(|&value| value <= 100).ok_or(DeliveryTaskError::OutOfRange {
        input,
        range: "0 to 100",
        value,
    })
}

/// Text given inline (input `name`) or in a file (input `nameFile`): the name messages give it
/// and the text.
fn inline_or_file(
    inputs: &Inputs,
    working: &std::path::Path,
    name: &str,
    what: &'static str,
    inline: &'static str,
) -> Result<(String, String), DeliveryTaskError> {
    let file = format!("{name}File");
    match (inputs.get(name), inputs.path(&file, working)) {
        (Some(_), Some(_)) => Err(DeliveryTaskError::InlineAndFile { input: name.to_owned() }),
        (Some(text), None) => Ok((name.to_owned(), text.to_owned())),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => Ok((inputs.text(&file).to_owned(), text)),
            Err(source) => Err(DeliveryTaskError::Read { input: file, path, source }),
        },
        (None, None) => Err(DeliveryTaskError::NeitherInlineNorFile { input: name.to_owned(), what, inline }),
    }
}

/// The synthetic load the inputs ask for (`loadRequestsPerSecond`, `loadPath`), if any.
fn load(inputs: &Inputs) -> Result<Option<Load>, DeliveryTaskError> {
    let rate = integer(inputs, "loadRequestsPerSecond")?.unwrap_or(0);
    if rate > 1000 {
        return Err(DeliveryTaskError::OutOfRange { input: "loadRequestsPerSecond", range: "0 to 1000", value: rate });
    }
    Ok((rate > 0).then(|| Load {
        rate: u32::try_from(rate).unwrap_or(1000),
        path: inputs.get("loadPath").unwrap_or("/").to_owned(),
    }))
}

/// `NAME=value` lines.
fn pairs(inputs: &Inputs, name: &str) -> Result<Vec<(String, String)>, DeliveryTaskError> {
    inputs
        .lines(name)
        .into_iter()
        .map(|line| match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.trim().to_owned())),
            _ => Err(DeliveryTaskError::NotAPair { input: name.to_owned(), line }),
        })
        .collect()
}

fn service_of(answer: Result<DeliveryAnswer, HostError>) -> Result<ServiceState, DeliveryTaskError> {
    match answer? {
        DeliveryAnswer::Service(service) => Ok(service),
        DeliveryAnswer::Analysis(_) | DeliveryAnswer::Chaos(_) | DeliveryAnswer::Flag(_) => {
            Err(DeliveryTaskError::UnexpectedAnswer { what: "the service" })
        }
    }
}

fn describe(service: &ServiceState) -> String {
    let slots: Vec<String> =
        service.slots.iter().map(|slot| format!("{} {}% ({})", slot.name, slot.weight, slot.upstream)).collect();
    format!(
        "{}/{} on {}: {}",
        service.environment,
        service.service,
        service.listen,
        if slots.is_empty() { "no slots".to_owned() } else { slots.join(", ") }
    )
}

/// Stops the processes of slots the change retired, where this agent runs them.
fn stop_retired(host: &mut dyn TaskHost, service: &ServiceState) {
    for upstream in &service.retired {
        if host.stop_slot(upstream) {
            host.log(&format!("Stopped the retired version at {upstream}."));
        } else {
            host.log(&format!("The retired version at {upstream} does not run on this agent; stop it where it runs."));
        }
    }
}

fn run_deploy(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    match deploy(inputs, host) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

fn deploy(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<Outcome, DeliveryTaskError> {
    let service = inputs.text("service").to_owned();
    let slot = inputs.text("slot").to_owned();
    let port = integer(inputs, "port")?
        .map(|port| {
            u16::try_from(port).map_err(|_| DeliveryTaskError::OutOfRange {
                input: "port",
                range: "1 to 65535",
                value: port,
            })
        })
        .transpose()?;
    let timeout = integer(inputs, "healthTimeoutSeconds")?.unwrap_or(30);
    let weight = integer(inputs, "weight")?.map(|weight| percentage("weight", weight)).transpose()?;
    let working = host.working_directory();
    let environment_name = host.variable("Environment.Name").unwrap_or_default();
    let command = match inputs.get("sameAs") {
        // The version another slot runs, started again (a baseline beside a canary).
        Some(other) => {
            let state = service_of(host.delivery(&DeliveryRequest::Service { service: service.clone() }))?;
            let upstream =
                state.slots.iter().find(|known| known.name == other).map(|known| known.upstream.clone()).ok_or_else(
                    || DeliveryTaskError::NoSuchSlot { service: service.clone(), slot: other.to_owned() },
                )?;
            let mut command = host.slot_command(&upstream).ok_or_else(|| DeliveryTaskError::NotStartedHere {
                slot: other.to_owned(),
                upstream: upstream.clone(),
            })?;
            command.environment.extend(pairs(inputs, "environment")?);
            command
        }
        None => {
            let mut environment = pairs(inputs, "environment")?;
            environment.push(("SLIPWAY_SERVICE".into(), service.clone()));
            CommandLine {
                program: inputs.text("command").to_owned(),
                arguments: super::commands::split(inputs.text("arguments")),
                working_directory: Some(inputs.path("workingDirectory", &working).unwrap_or(working)),
                environment,
            }
        }
    };
    let process = SlotProcess {
        key: format!("{environment_name}/{service}/{slot}"),
        command,
        host: inputs.text("host").to_owned(),
        port,
        health_path: inputs.text("healthPath").to_owned(),
        health_timeout: Duration::from_secs(timeout),
    };
    host.log(&format!("Starting {} in slot '{slot}' of service '{service}'.", process.command.display()));
    let started = host.start_slot(&process)?;
    host.log(&format!(
        "It is healthy at {} (process {}; its output goes to {}).",
        started.upstream,
        started.pid,
        started.log_file.display()
    ));
    let request = DeliveryRequest::SetSlot {
        service: service.clone(),
        slot: slot.clone(),
        upstream: started.upstream.clone(),
        weight,
    };
    let answer = match service_of(host.delivery(&request)) {
        Ok(answer) => answer,
        Err(error) => {
            // Nothing routes to it: it must not keep running.
            host.stop_slot(&started.upstream);
            return Err(DeliveryTaskError::Register { slot, service, source: Box::new(error) });
        }
    };
    stop_retired(host, &answer);
    host.log(&format!("Service {}", describe(&answer)));
    host.set_variable("upstream", &started.upstream, SetVariable::default());
    host.set_variable("port", &started.port.to_string(), SetVariable::default());
    Ok(Outcome::Succeeded)
}

fn run_traffic(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    match traffic(inputs, host) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

fn traffic(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<Outcome, DeliveryTaskError> {
    let service = inputs.text("service").to_owned();
    let slot = inputs.text("slot").to_owned();
    let stable = inputs.text("stableSlot").to_owned();
    let request = match inputs.text("action") {
        "route" => {
            let percent = integer(inputs, "percent")?.unwrap_or(0);
            let percent = percentage("percent", percent)?;
            DeliveryRequest::Route { service, slot, percent }
        }
        "weights" => {
            let weights = pairs(inputs, "weights")?
                .into_iter()
                .map(|(slot, weight)| {
                    weight
                        .parse::<u32>()
                        .ok()
                        .filter(|weight| *weight <= 100)
                        .map(|weight| (slot.clone(), weight))
                        .ok_or_else(|| DeliveryTaskError::Weight { slot: slot.clone(), weight: weight.clone() })
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            DeliveryRequest::Weights { service, weights }
        }
        "swap" => DeliveryRequest::Swap { service, slot, with: inputs.text("with").to_owned() },
        // A version the job's own steps started somewhere (a container, another machine): its
        // address only, no process of this agent's.
        "register" => {
            let weight = integer(inputs, "weight")?.map(|weight| percentage("weight", weight)).transpose()?;
            DeliveryRequest::SetSlot { service, slot, upstream: inputs.text("upstream").trim().to_owned(), weight }
        }
        "promote" => DeliveryRequest::Promote { service, slot, into: stable },
        "rollback" => DeliveryRequest::Rollback { service, slot, to: stable },
        "retire" => DeliveryRequest::Retire { service, slot },
        other => {
            return Err(DeliveryTaskError::UnknownAction(other.to_owned()));
        }
    };
    let answer = service_of(host.delivery(&request))?;
    stop_retired(host, &answer);
    host.log(&format!("Service {}", describe(&answer)));
    Ok(Outcome::Succeeded)
}

fn run_analysis(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    match analysis(inputs, host) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// How often the task asks how the analysis goes.
const POLL: Duration = Duration::from_millis(500);

fn analysis(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<Outcome, DeliveryTaskError> {
    let service = inputs.text("service").to_owned();
    let working = host.working_directory();
    let (template_name, template) =
        inline_or_file(inputs, &working, "template", "the analysis template", "inline YAML")?;
    let args: BTreeMap<String, String> = pairs(inputs, "args")?.into_iter().collect();
    let load = load(inputs)?;
    let request = DeliveryRequest::StartAnalysis { service: service.clone(), template_name, template, args, load };
    let mut state = analysis_state(host.delivery(&request))?;
    host.log(&format!("Analysis run {} of service '{service}' started.", state.id));
    host.set_variable("analysisRun", &state.id.to_string(), SetVariable::default());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut waiting = false;
    let started = Instant::now();
    loop {
        for metric in &state.metrics {
            let known = seen.entry(metric.name.clone()).or_default();
            for measurement in metric.measurements.iter().skip(*known) {
                let value = measurement.value.as_ref().map_or_else(|| "no value".to_owned(), ToString::to_string);
                let message = measurement.message.as_deref().map(|message| format!(": {message}")).unwrap_or_default();
                host.log(&format!("{}: {} ({value}){message}", metric.name, measurement.phase));
            }
            *known = metric.measurements.len();
        }
        if state.phase == "Inconclusive" {
            if !waiting {
                waiting = true;
                host.log(&format!(
                    "Analysis run {id} is inconclusive{}: waiting for a person to decide it: `slipway analysis decide {id} \
                     --pass` (or `--fail`), or POST /api/v1/analysis-runs/{id}/decision.",
                    state.message.as_deref().map(|message| format!(" ({message})")).unwrap_or_default(),
                    id = state.id
                ));
            }
        } else if state.finished() {
            break;
        }
        if host.is_canceled() {
            if let Err(error) = host.delivery(&DeliveryRequest::StopAnalysis { id: state.id }) {
                tracing::warn!(analysis_run = state.id, %error, "could not stop the analysis run of a canceled job");
            }
            return Err(DeliveryTaskError::AnalysisCanceled(state.id));
        }
        std::thread::sleep(POLL);
        state = match analysis_state(host.delivery(&DeliveryRequest::Analysis { id: state.id })) {
            Ok(state) => state,
            // The server restarting: keep asking for a while.
            Err(error) if started.elapsed() < Duration::from_secs(24 * 3600) => {
                host.warning(&format!("could not ask how analysis run {} goes: {error}", state.id));
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
            Err(error) => return Err(error),
        };
    }
    host.set_variable("phase", &state.phase, SetVariable::default());
    let summary: Vec<String> = state.metrics.iter().map(|metric| format!("{} {}", metric.name, metric.phase)).collect();
    host.log(&format!("Analysis run {} ended {} ({}).", state.id, state.phase, summary.join(", ")));
    match state.phase.as_str() {
        "Successful" => Ok(Outcome::Succeeded),
        phase => {
            Err(DeliveryTaskError::AnalysisEnded { id: state.id, phase: phase.to_owned(), message: state.message })
        }
    }
}

fn analysis_state(answer: Result<DeliveryAnswer, HostError>) -> Result<AnalysisState, DeliveryTaskError> {
    match answer? {
        DeliveryAnswer::Analysis(state) => Ok(state),
        DeliveryAnswer::Service(_) | DeliveryAnswer::Chaos(_) | DeliveryAnswer::Flag(_) => {
            Err(DeliveryTaskError::UnexpectedAnswer { what: "the analysis run" })
        }
    }
}

fn run_chaos(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    match chaos(inputs, host) {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

fn chaos_state(
    answer: Result<DeliveryAnswer, HostError>,
) -> Result<slipway_events::delivery::ChaosState, DeliveryTaskError> {
    match answer? {
        DeliveryAnswer::Chaos(state) => Ok(state),
        DeliveryAnswer::Service(_) | DeliveryAnswer::Analysis(_) | DeliveryAnswer::Flag(_) => {
            Err(DeliveryTaskError::UnexpectedAnswer { what: "the chaos experiment" })
        }
    }
}

/// A journal entry for the log: the activity's name, how it went, and its output (cut short).
fn journal_line(entry: &serde_json::Value) -> String {
    let name = entry["activity"]["name"].as_str().unwrap_or("?");
    let output = match &entry["output"] {
        serde_json::Value::Object(answer) if answer.contains_key("status") && answer.contains_key("body") => {
            format!("status {}", answer["status"])
        }
        other => other.to_string(),
    };
    let output: String = output.chars().take(200).collect();
    match entry.get("tolerance_met").and_then(serde_json::Value::as_bool) {
        Some(true) => format!("{name}: {output} (within tolerance)"),
        Some(false) => format!("{name}: {output} (OUT of tolerance {})", entry["activity"]["tolerance"]),
        None => format!("{name}: {} {output}", entry["status"].as_str().unwrap_or("?")),
    }
}

fn chaos(inputs: &Inputs, host: &mut dyn TaskHost) -> Result<Outcome, DeliveryTaskError> {
    let service = inputs.text("service").to_owned();
    let working = host.working_directory();
    let (experiment_name, experiment) =
        inline_or_file(inputs, &working, "experiment", "the experiment", "inline YAML or JSON")?;
    let load = load(inputs)?;
    let request = DeliveryRequest::StartChaos { service: service.clone(), experiment_name, experiment, load };
    let mut state = chaos_state(host.delivery(&request))?;
    host.log(&format!("Chaos experiment {} against service '{service}' started.", state.id));
    let mut shown = (false, 0_usize, false);
    loop {
        if !shown.0 && state.journal["steady_states"]["before"].is_object() {
            shown.0 = true;
            host.log("Steady-state hypothesis, before the method:");
            for probe in state.journal["steady_states"]["before"]["probes"].as_array().into_iter().flatten() {
                host.log(&format!("  {}", journal_line(probe)));
            }
        }
        let run = state.journal["run"].as_array().cloned().unwrap_or_default();
        for entry in run.iter().skip(shown.1) {
            host.log(&format!("Method: {}", journal_line(entry)));
        }
        shown.1 = run.len();
        if !shown.2 && state.journal["steady_states"]["after"].is_object() {
            shown.2 = true;
            host.log("Steady-state hypothesis, after the method:");
            for probe in state.journal["steady_states"]["after"]["probes"].as_array().into_iter().flatten() {
                host.log(&format!("  {}", journal_line(probe)));
            }
        }
        if state.status != "running" {
            break;
        }
        if host.is_canceled() {
            if let Err(error) = host.delivery(&DeliveryRequest::StopChaos { id: state.id }) {
                tracing::warn!(chaos_experiment = state.id, %error, "could not stop the chaos experiment of a canceled job");
            }
            return Err(DeliveryTaskError::ChaosCanceled(state.id));
        }
        std::thread::sleep(POLL);
        state = chaos_state(host.delivery(&DeliveryRequest::Chaos { id: state.id }))?;
    }
    if inputs.boolean("publishJournal") {
        let directory = host
            .variable("Agent.TempDirectory")
            .map_or_else(std::env::temp_dir, std::path::PathBuf::from)
            .join(format!("chaos-journal-{}", state.id));
        let written = std::fs::create_dir_all(&directory).and_then(|()| {
            std::fs::write(
                directory.join("journal.json"),
                serde_json::to_string_pretty(&state.journal).unwrap_or_default(),
            )
        });
        let name = format!("chaos-journal-{}", state.id);
        match written
            .map_err(|error| HostError::Failed(Box::new(error)))
            .and_then(|()| host.publish_artifact(&name, &directory))
        {
            Ok(()) => host.log(&format!("The experiment's journal is the artifact '{name}' (journal.json).")),
            Err(error) => host.warning(&format!("could not keep the experiment's journal: {error}")),
        }
    }
    host.set_variable("chaosStatus", &state.status, SetVariable::default());
    host.set_variable("chaosDeviated", &state.deviated.to_string(), SetVariable::default());
    match (state.status.as_str(), state.deviated) {
        ("completed", false) => {
            host.log(&format!("Chaos experiment {}: the steady state held.", state.id));
            Ok(Outcome::Succeeded)
        }
        ("completed", true) => Err(DeliveryTaskError::ChaosDeviated(state.id)),
        ("failed", _) if state.journal["steady_states"]["before"]["steady_state_met"] == true => {
            Err(DeliveryTaskError::ChaosActionFailed(state.id))
        }
        ("failed", _) => Err(DeliveryTaskError::ChaosNotSteady(state.id)),
        (status, _) => Err(DeliveryTaskError::ChaosEnded { id: state.id, status: status.to_owned() }),
    }
}
