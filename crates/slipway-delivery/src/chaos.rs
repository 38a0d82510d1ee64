//! Chaos experiments in Chaos Toolkit's format, run by the server against a service: the
//! steady-state hypothesis (probes with tolerances) is checked, the method's actions inject
//! faults through the service's router (latency, error answers, aborted connections, for a
//! fraction of the requests, to a slot or all, for a duration) with their pauses, the hypothesis
//! is checked again, and the faults are taken away (the implicit rollback, whatever happened).
//! The result is a journal as Chaos Toolkit writes one (`status`, `deviated`, `steady_states`
//! before and after with each probe's value and whether it was within tolerance, `run`,
//! `rollbacks`).
//!
//! Probes: Chaos Toolkit's `http` provider (the answer's status, headers and body; an integer
//! tolerance is the status) and Slipway's `slipway` provider (a router metric of a slot).
//! Actions: Slipway's `fault` provider. Tolerances: a boolean, number or string (equal), a list
//! of two numbers (a range, inclusive), `{type: range, range: [a, b], target?}`,
//! `{type: regex, pattern, target?}` and `{type: jsonpath, path, expect?, target?}`. Python and
//! process providers, controls, secrets and configuration are refused as not supported.
//! Reading is pure; running is in [`crate::runner`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::analysis::RouterMetric;
use crate::faults::FaultKind;

/// A chaos experiment, read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its title.
    pub title: String,
    /// The steady-state hypothesis's title.
    pub hypothesis: String,
    /// The hypothesis's probes.
    pub probes: Vec<Activity>,
    /// The method: actions and probes in order.
    pub method: Vec<Activity>,
}

/// A probe or an action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Its name.
    pub name: String,
    /// Whether it is a probe (else an action).
    pub probe: bool,
    /// What it does.
    pub provider: ChaosProvider,
    /// What a probe's value must be (hypothesis probes).
    pub tolerance: Option<serde_json::Value>,
    /// Seconds to wait before it.
    pub pause_before: f64,
    /// Seconds to wait after it.
    pub pause_after: f64,
}

/// What an activity does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChaosProvider {
    /// An HTTP request; its value is `{status, headers, body}`.
    Http {
        /// The address.
        url: String,
        /// The method.
        method: String,
        /// Its timeout, in seconds.
        timeout: f64,
    },
    /// A router metric of a slot of the service over a window.
    Slipway {
        /// The slot.
        slot: String,
        /// The metric.
        metric: RouterMetric,
        /// The window, in seconds.
        window: u64,
    },
    /// A fault injected into the service's router.
    Fault {
        /// The slot; every slot when `None`.
        slot: Option<String>,
        /// The fraction of the requests hit.
        fraction: f64,
        /// What it does (latency in milliseconds, an error status, or an abort).
        kind: FaultSpec,
        /// For how long, in seconds.
        duration: f64,
    },
}

/// A fault as experiments write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultSpec {
    /// Added latency, in milliseconds.
    Latency(u64),
    /// An error status.
    Error(u16),
    /// Aborted connections.
    Abort,
}

impl FaultSpec {
    /// The router's fault.
    #[must_use]
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Latency(milliseconds) => FaultKind::Latency(Duration::from_millis(*milliseconds)),
            Self::Error(status) => FaultKind::Error(*status),
            Self::Abort => FaultKind::Abort,
        }
    }
}

/// Every mistake in an experiment, one per line, each with where (`file:line:col` and a JSON
/// pointer when read from text, the pointer alone when read from JSON already parsed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ExperimentError(pub Vec<String>);

struct Reader {
    errors: Vec<String>,
}

impl Reader {
    fn error(&mut self, at: &str, message: impl std::fmt::Display) {
        self.errors.push(format!("{}: {message}", if at.is_empty() { "/" } else { at }));
    }

    fn text(&mut self, value: &serde_json::Value, at: &str, key: &str) -> Option<String> {
        match value.get(key) {
            Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
            Some(other) => {
                self.error(&format!("{at}/{key}"), format!("must be a non-empty string, found {other}"));
                None
            }
            None => {
                self.error(at, format!("needs `{key}`"));
                None
            }
        }
    }

    fn number(&mut self, value: &serde_json::Value, at: &str, key: &str, default: Option<f64>) -> Option<f64> {
        match value.get(key) {
            Some(number) => match number.as_f64().filter(|number| number.is_finite() && *number >= 0.0) {
                Some(number) => Some(number),
                None => {
                    self.error(&format!("{at}/{key}"), format!("must be a number, 0 or more, found {number}"));
                    None
                }
            },
            None if default.is_some() => default,
            None => {
                self.error(at, format!("needs `{key}`"));
                None
            }
        }
    }

    fn activity(&mut self, value: &serde_json::Value, at: &str, in_hypothesis: bool) -> Option<Activity> {
        let Some(object) = value.as_object() else {
            self.error(at, "an activity must be a mapping with `type`, `name` and `provider`");
            return None;
        };
        for key in object.keys() {
            match key.as_str() {
                "type" | "name" | "provider" | "tolerance" | "pauses" | "ref" => {}
                "background" | "controls" => {
                    self.error(&format!("{at}/{key}"), format!("`{key}` is not supported yet: remove it"));
                }
                other => self.error(
                    &format!("{at}/{other}"),
                    "unknown key: an activity has `type`, `name`, `provider`, `tolerance` and `pauses`",
                ),
            }
        }
        if object.contains_key("ref") {
            self.error(&format!("{at}/ref"), "`ref` is not supported yet: write the activity out again");
            return None;
        }
        let name = self.text(value, at, "name");
        let probe = match value.get("type").and_then(serde_json::Value::as_str) {
            Some("probe") => true,
            Some("action") => false,
            other => {
                self.error(&format!("{at}/type"), format!("must be `probe` or `action`, found {other:?}"));
                return None;
            }
        };
        if in_hypothesis && !probe {
            self.error(&format!("{at}/type"), "the steady-state hypothesis has probes only");
        }
        let tolerance = value.get("tolerance").cloned();
        if in_hypothesis && tolerance.is_none() {
            self.error(at, "a hypothesis probe needs `tolerance`: the value it must have, e.g. `tolerance: 200`");
        }
        if let Some(tolerance) = &tolerance {
            self.check_tolerance(tolerance, &format!("{at}/tolerance"));
        }
        let pauses = value.get("pauses").cloned().unwrap_or_default();
        let pause_before = self.number(&pauses, &format!("{at}/pauses"), "before", Some(0.0)).unwrap_or(0.0);
        let pause_after = self.number(&pauses, &format!("{at}/pauses"), "after", Some(0.0)).unwrap_or(0.0);
        let provider = match value.get("provider") {
            Some(provider) => self.provider(provider, &format!("{at}/provider"), probe),
            None => {
                self.error(at, "needs `provider`");
                None
            }
        };
        Some(Activity { name: name?, probe, provider: provider?, tolerance, pause_before, pause_after })
    }

    fn check_tolerance(&mut self, tolerance: &serde_json::Value, at: &str) {
        match tolerance {
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) | serde_json::Value::String(_) => {}
            serde_json::Value::Array(bounds) => {
                if bounds.len() != 2 || !bounds.iter().all(serde_json::Value::is_number) {
                    self.error(at, "a list tolerance is a range of two numbers, `[low, high]`");
                }
            }
            serde_json::Value::Object(object) => match object.get("type").and_then(serde_json::Value::as_str) {
                Some("range") => {
                    let bounds = object.get("range").and_then(serde_json::Value::as_array);
                    if !bounds
                        .is_some_and(|bounds| bounds.len() == 2 && bounds.iter().all(serde_json::Value::is_number))
                    {
                        self.error(at, "a range tolerance needs `range: [low, high]`");
                    }
                }
                Some("regex") => match object.get("pattern").and_then(serde_json::Value::as_str) {
                    Some(pattern) => {
                        if let Err(error) = regex::Regex::new(pattern) {
                            self.error(&format!("{at}/pattern"), format!("is not a regular expression: {error}"));
                        }
                    }
                    None => self.error(at, "a regex tolerance needs `pattern`"),
                },
                Some("jsonpath") => match object.get("path").and_then(serde_json::Value::as_str) {
                    Some(path) => {
                        if let Err(error) = serde_json_path::JsonPath::parse(path) {
                            self.error(&format!("{at}/path"), format!("is not a JSONPath: {error}"));
                        }
                    }
                    None => self.error(at, "a jsonpath tolerance needs `path`"),
                },
                Some("probe") => {
                    self.error(at, "a probe as tolerance is not supported yet: use a range, regex or jsonpath")
                }
                other => self.error(
                    &format!("{at}/type"),
                    format!("a tolerance's type is `range`, `regex` or `jsonpath`, found {other:?}"),
                ),
            },
            serde_json::Value::Null => self.error(at, "a tolerance cannot be null"),
        }
    }

    fn provider(&mut self, value: &serde_json::Value, at: &str, probe: bool) -> Option<ChaosProvider> {
        let kind = value.get("type").and_then(serde_json::Value::as_str);
        match kind {
            Some("http") => {
                let url = self.text(value, at, "url")?;
                let method = value.get("method").and_then(serde_json::Value::as_str).unwrap_or("GET").to_owned();
                // Chaos Toolkit also takes `[connect, read]`; their sum bounds the whole request.
                let timeout = match value.get("timeout") {
                    Some(serde_json::Value::Array(parts)) => parts.iter().filter_map(serde_json::Value::as_f64).sum(),
                    Some(other) => other.as_f64().unwrap_or(30.0),
                    None => 30.0,
                };
                Some(ChaosProvider::Http { url, method, timeout })
            }
            Some("slipway") => {
                if !probe {
                    self.error(at, "the `slipway` provider measures: use it in a probe");
                }
                let slot = self.text(value, at, "slot")?;
                let name = self.text(value, at, "metric")?;
                let Some(metric) = RouterMetric::from_name(&name) else {
                    self.error(
                        &format!("{at}/metric"),
                        format!(
                            "must be one of `{}`, found `{name}`",
                            RouterMetric::ALL.map(RouterMetric::name).join("`, `")
                        ),
                    );
                    return None;
                };
                let window = self.number(value, at, "window", Some(10.0))?;
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked: 1 s or more, whole"
                )]
                let window = window.max(1.0).round() as u64;
                Some(ChaosProvider::Slipway { slot, metric, window })
            }
            Some("fault") => {
                if probe {
                    self.error(at, "the `fault` provider changes things: use it in an action");
                }
                let slot = value.get("slot").and_then(serde_json::Value::as_str).map(str::to_owned);
                let fraction = match (value.get("fraction"), value.get("percent")) {
                    (Some(_), Some(_)) => {
                        self.error(at, "give `fraction` or `percent`, not both");
                        None
                    }
                    (None, Some(_)) => self.number(value, at, "percent", None).map(|percent| percent / 100.0),
                    _ => self.number(value, at, "fraction", Some(1.0)),
                };
                if fraction.is_some_and(|fraction| fraction > 1.0) {
                    self.error(at, "a fault hits at most all the requests (`percent` up to 100, `fraction` up to 1)");
                }
                let duration = self.number(value, at, "duration", None);
                let kind = match value.get("fault").and_then(serde_json::Value::as_str) {
                    Some("latency") => self
                        .number(value, at, "latency_ms", None)
                        .map(|milliseconds| FaultSpec::Latency(milliseconds.round() as u64)),
                    Some("error") => {
                        let status = value.get("status").and_then(serde_json::Value::as_u64).unwrap_or(500);
                        match u16::try_from(status).ok().filter(|status| (400..=599).contains(status)) {
                            Some(status) => Some(FaultSpec::Error(status)),
                            None => {
                                self.error(
                                    &format!("{at}/status"),
                                    format!("must be an error status, 400 to 599, found {status}"),
                                );
                                None
                            }
                        }
                    }
                    Some("abort") => Some(FaultSpec::Abort),
                    other => {
                        self.error(
                            &format!("{at}/fault"),
                            format!("must be `latency` (with `latency_ms`), `error` (with `status`) or `abort`, found {other:?}"),
                        );
                        None
                    }
                };
                Some(ChaosProvider::Fault { slot, fraction: fraction?, kind: kind?, duration: duration? })
            }
            Some(other @ ("python" | "process")) => {
                self.error(
                    &format!("{at}/type"),
                    format!(
                        "the `{other}` provider is not supported: Slipway runs experiments on its server; run such \
                         activities in script steps around the experiment"
                    ),
                );
                None
            }
            other => {
                self.error(
                    &format!("{at}/type"),
                    format!("a provider's type is `http`, `slipway` or `fault`, found {other:?}"),
                );
                None
            }
        }
    }
}

/// Reads an experiment (Chaos Toolkit's JSON, or the same as YAML) with every mistake named.
///
/// # Errors
/// Every mistake, each with its JSON pointer.
pub fn parse_experiment(document: &serde_json::Value) -> Result<Experiment, ExperimentError> {
    let mut reader = Reader { errors: Vec::new() };
    let Some(object) = document.as_object() else {
        return Err(ExperimentError(vec![
            "/: an experiment is a mapping with `title`, \
                                         `steady-state-hypothesis` and `method`"
                .to_owned(),
        ]));
    };
    for key in object.keys() {
        match key.as_str() {
            "title"
            | "description"
            | "version"
            | "tags"
            | "contributions"
            | "extensions"
            | "steady-state-hypothesis"
            | "method"
            | "rollbacks" => {}
            "configuration" | "secrets" | "controls" | "runtime" => {
                reader.error(&format!("/{key}"), format!("`{key}` is not supported yet: remove it"));
            }
            other => reader.error(&format!("/{other}"), "unknown key in an experiment"),
        }
    }
    let title = reader.text(document, "", "title");
    let (hypothesis, probes) = match document.get("steady-state-hypothesis") {
        Some(hypothesis) => {
            let title = reader.text(hypothesis, "/steady-state-hypothesis", "title");
            let probes: Vec<Activity> = match hypothesis.get("probes").and_then(serde_json::Value::as_array) {
                Some(probes) if !probes.is_empty() => probes
                    .iter()
                    .enumerate()
                    .filter_map(|(index, probe)| {
                        reader.activity(probe, &format!("/steady-state-hypothesis/probes/{index}"), true)
                    })
                    .collect(),
                _ => {
                    reader.error("/steady-state-hypothesis", "needs `probes`, a list of at least one probe");
                    Vec::new()
                }
            };
            (title, probes)
        }
        None => {
            reader.error("", "needs `steady-state-hypothesis`: what must hold before and after the method");
            (None, Vec::new())
        }
    };
    let method: Vec<Activity> = match document.get("method").and_then(serde_json::Value::as_array) {
        Some(method) if !method.is_empty() => method
            .iter()
            .enumerate()
            .filter_map(|(index, activity)| reader.activity(activity, &format!("/method/{index}"), false))
            .collect(),
        _ => {
            reader.error("", "needs `method`, a list of at least one action or probe");
            Vec::new()
        }
    };
    if let Some(rollbacks) = document.get("rollbacks").and_then(serde_json::Value::as_array)
        && !rollbacks.is_empty()
    {
        reader.error(
            "/rollbacks",
            "only the implicit rollback is supported yet: every fault the method injected is taken away at the end; \
             leave `rollbacks` empty",
        );
    }
    if !reader.errors.is_empty() {
        return Err(ExperimentError(reader.errors));
    }
    Ok(Experiment { title: title.unwrap_or_default(), hypothesis: hypothesis.unwrap_or_default(), probes, method })
}

/// Reads an experiment from its YAML or JSON text; `name` names it in messages.
///
/// # Errors
/// Every mistake at `name:line:col` (the experiment's with the JSON pointer of what it is about).
pub fn read_experiment(text: &str, name: &str) -> Result<Experiment, ExperimentError> {
    let root = crate::analysis::load_yaml(text, name).map_err(|error| ExperimentError(vec![error.to_string()]))?;
    parse_experiment(&crate::analysis::yaml_to_json(&root)).map_err(|ExperimentError(errors)| {
        ExperimentError(errors.into_iter().map(|error| placed(&root, name, &error)).collect())
    })
}

/// A mistake `POINTER: message` placed at the line and column of the node its pointer names (or
/// of the nearest one there is, for a key that is missing).
fn placed(root: &slipway_yaml::Node, name: &str, error: &str) -> String {
    let Some((pointer, message)) = error.split_once(": ") else { return format!("{name}: {error}") };
    let mut node = root;
    for segment in pointer.split('/').filter(|segment| !segment.is_empty()) {
        let next = match segment.parse::<usize>() {
            Ok(index) if node.as_sequence().is_some() => node.as_sequence().and_then(|items| items.get(index)),
            _ => node.get(segment),
        };
        match next {
            Some(child) => node = child,
            None => break,
        }
    }
    let start = node.span.start;
    format!("{name}:{}:{}: {message} (at {pointer})", start.line, start.column)
}

/// Whether a probe's value is within its tolerance, as Chaos Toolkit decides it.
#[must_use]
pub fn within_tolerance(tolerance: &serde_json::Value, value: &serde_json::Value) -> bool {
    // An HTTP probe's value is its answer: numbers and ranges are about its status by default.
    let http_status = value.get("status").filter(|_| value.get("body").is_some());
    let target = |object: &serde_json::Map<String, serde_json::Value>| -> serde_json::Value {
        match object.get("target").and_then(serde_json::Value::as_str) {
            Some(key) => value.get(key).cloned().unwrap_or_default(),
            None => match http_status {
                Some(_) if object.get("type").and_then(serde_json::Value::as_str) == Some("range") => {
                    value["status"].clone()
                }
                Some(_) => value["body"].clone(),
                None => value.clone(),
            },
        }
    };
    let in_range =
        |low: f64, high: f64, actual: &serde_json::Value| actual.as_f64().is_some_and(|v| v >= low && v <= high);
    match tolerance {
        serde_json::Value::Bool(_) | serde_json::Value::String(_) => tolerance == value,
        serde_json::Value::Number(number) => match http_status {
            Some(status) => status.as_f64() == number.as_f64(),
            None => value.as_f64() == number.as_f64(),
        },
        serde_json::Value::Array(bounds) => {
            let actual = http_status.cloned().unwrap_or_else(|| value.clone());
            match (
                bounds.first().and_then(serde_json::Value::as_f64),
                bounds.get(1).and_then(serde_json::Value::as_f64),
            ) {
                (Some(low), Some(high)) => in_range(low, high, &actual),
                _ => false,
            }
        }
        serde_json::Value::Object(object) => match object.get("type").and_then(serde_json::Value::as_str) {
            Some("range") => {
                let bounds = object.get("range").and_then(serde_json::Value::as_array);
                let low = bounds.and_then(|bounds| bounds.first()).and_then(serde_json::Value::as_f64);
                let high = bounds.and_then(|bounds| bounds.get(1)).and_then(serde_json::Value::as_f64);
                matches!((low, high), (Some(low), Some(high)) if in_range(low, high, &target(object)))
            }
            Some("regex") => {
                let text = match target(object) {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                object
                    .get("pattern")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|pattern| regex::Regex::new(pattern).ok())
                    .is_some_and(|pattern| pattern.is_match(&text))
            }
            Some("jsonpath") => {
                let Some(path) = object.get("path").and_then(serde_json::Value::as_str) else { return false };
                let Ok(query) = serde_json_path::JsonPath::parse(path) else { return false };
                let target = target(object);
                let target = match &target {
                    // A body that is JSON text.
                    serde_json::Value::String(text) => serde_json::from_str(text).unwrap_or(target.clone()),
                    _ => target,
                };
                let found: Vec<serde_json::Value> = query.query(&target).all().into_iter().cloned().collect();
                match object.get("expect") {
                    None => !found.is_empty(),
                    Some(serde_json::Value::Array(expected)) => &found == expected,
                    Some(expected) => found.len() == 1 && &found[0] == expected,
                }
            }
            _ => false,
        },
        serde_json::Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn experiment() -> serde_json::Value {
        json!({
            "version": "1.0.0",
            "title": "the stable slot tolerates a slow half",
            "steady-state-hypothesis": {
                "title": "it answers",
                "probes": [
                    {"type": "probe", "name": "success rate", "tolerance": [0.95, 1.0],
                     "provider": {"type": "slipway", "slot": "stable", "metric": "success-rate", "window": 3}},
                    {"type": "probe", "name": "health", "tolerance": 200,
                     "provider": {"type": "http", "url": "http://127.0.0.1:1/healthz", "timeout": [1, 2]}}
                ]
            },
            "method": [
                {"type": "action", "name": "slow half", "pauses": {"after": 3},
                 "provider": {"type": "fault", "slot": "stable", "fault": "latency", "latency_ms": 200, "percent": 50, "duration": 10}}
            ],
            "rollbacks": []
        })
    }

    #[test]
    fn reads_an_experiment_in_chaos_toolkits_format() {
        let read = parse_experiment(&experiment()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(read.title, "the stable slot tolerates a slow half");
        assert_eq!(read.probes.len(), 2);
        assert_eq!(
            read.probes[1].provider,
            ChaosProvider::Http { url: "http://127.0.0.1:1/healthz".into(), method: "GET".into(), timeout: 3.0 }
        );
        assert_eq!(
            read.method[0].provider,
            ChaosProvider::Fault {
                slot: Some("stable".into()),
                fraction: 0.5,
                kind: FaultSpec::Latency(200),
                duration: 10.0
            }
        );
        assert!((read.method[0].pause_after - 3.0).abs() < f64::EPSILON);
    }

    #[test]
    fn names_every_mistake_with_its_place() {
        let mut document = experiment();
        document["secrets"] = json!({});
        document["steady-state-hypothesis"]["probes"][0]["tolerance"] = json!([1]);
        document["steady-state-hypothesis"]["probes"][1]["provider"]["type"] = json!("python");
        document["method"][0]["provider"]["percent"] = json!(150);
        document["method"][0]["provider"]["fault"] = json!("slow");
        document["rollbacks"] = json!([{"type": "action"}]);
        let error = parse_experiment(&document).err().map(|error| error.to_string()).unwrap_or_default();
        assert_eq!(
            error,
            "/secrets: `secrets` is not supported yet: remove it\n\
             /steady-state-hypothesis/probes/0/tolerance: a list tolerance is a range of two numbers, `[low, high]`\n\
             /steady-state-hypothesis/probes/1/provider/type: the `python` provider is not supported: Slipway runs \
             experiments on its server; run such activities in script steps around the experiment\n\
             /method/0/provider: a fault hits at most all the requests (`percent` up to 100, `fraction` up to 1)\n\
             /method/0/provider/fault: must be `latency` (with `latency_ms`), `error` (with `status`) or `abort`, found \
             Some(\"slow\")\n\
             /rollbacks: only the implicit rollback is supported yet: every fault the method injected is taken away at \
             the end; leave `rollbacks` empty"
        );
    }

    #[test]
    fn mistakes_in_an_experiment_file_are_named_at_their_line_and_column() {
        let text = "title: t\nsteady-state-hypothesis:\n  title: h\n  probes:\n  - type: probe\n    name: p\n    \
                    tolerance: [1]\n    provider: {type: slipway, slot: s, metric: success-rate}\nmethod:\n- type: action\n  \
                    name: a\n  provider: {type: fault, fault: slow, duration: 1}\n";
        let error = read_experiment(text, "chaos.yaml").err().map(|error| error.to_string()).unwrap_or_default();
        assert_eq!(
            error,
            "chaos.yaml:7:16: a list tolerance is a range of two numbers, `[low, high]` (at \
             /steady-state-hypothesis/probes/0/tolerance)\n\
             chaos.yaml:12:34: must be `latency` (with `latency_ms`), `error` (with `status`) or `abort`, found \
             Some(\"slow\") (at /method/0/provider/fault)"
        );
        let broken = read_experiment("title: [", "chaos.yaml").err().map(|error| error.to_string()).unwrap_or_default();
        assert!(broken.starts_with("chaos.yaml:2:1: invalid YAML"), "{broken}");
    }

    #[test]
    fn tolerances_are_decided_as_chaos_toolkit_does() {
        let answer = json!({"status": 200, "headers": {}, "body": "{\"ok\": true, \"rate\": 0.97}"});
        assert!(within_tolerance(&json!(200), &answer));
        assert!(!within_tolerance(&json!(503), &answer));
        assert!(within_tolerance(&json!([200, 299]), &answer));
        assert!(within_tolerance(&json!({"type": "regex", "pattern": "\"ok\": true"}), &answer));
        assert!(within_tolerance(&json!({"type": "jsonpath", "path": "$.ok", "expect": true}), &answer));
        assert!(!within_tolerance(&json!({"type": "jsonpath", "path": "$.ok", "expect": false}), &answer));
        assert!(within_tolerance(&json!([0.95, 1.0]), &json!(0.97)));
        assert!(!within_tolerance(&json!([0.95, 1.0]), &json!(0.5)));
        assert!(within_tolerance(&json!({"type": "range", "range": [0, 0.05]}), &json!(0.01)));
        assert!(within_tolerance(&json!(true), &json!(true)));
        assert!(!within_tolerance(&json!([0.95, 1.0]), &serde_json::Value::Null), "no value is not within");
    }
}
