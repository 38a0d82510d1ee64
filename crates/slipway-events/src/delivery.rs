//! What a deployment job's delivery tasks ask of the server, and what it answers: slots of a
//! service registered, traffic moved, slots swapped, promoted, rolled back and retired, and
//! analyses started and followed. The built-in delivery tasks build these requests; agents carry
//! them to the server over the agent protocol with the job's lease (so only a running deployment
//! job, and only for services of its own environment, may make them); the in-process agents hand
//! them to the server directly. Their JSON is part of the agent protocol: fields are only added.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One thing a deployment job asks of its environment's services.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum DeliveryRequest {
    /// The service as it is (slots, weights).
    Service {
        /// The service's name in the job's environment.
        service: String,
    },
    /// Adds or replaces a slot: where its version listens. A new slot takes no traffic until
    /// it is given some; a replaced slot keeps its weight unless `weight` is given.
    SetSlot {
        /// The service.
        service: String,
        /// The slot (`stable`, `canary`, `blue`, ...).
        slot: String,
        /// Where its version listens (`http://127.0.0.1:41234`).
        upstream: String,
        /// Its share of the traffic, when it should change.
        weight: Option<u32>,
    },
    /// Sends `percent` of the traffic to `slot`, and the rest to the other slots in proportion
    /// to their weights (equally when none has any).
    Route {
        /// The service.
        service: String,
        /// The slot.
        slot: String,
        /// 0 to 100.
        percent: u32,
    },
    /// Sets the weights of the slots named (the others keep theirs): e.g. `stable` 80, `canary`
    /// 10 and `baseline` 10, so that a canary and its baseline get the same traffic.
    Weights {
        /// The service.
        service: String,
        /// Slot names and their new weights.
        weights: BTreeMap<String, u32>,
    },
    /// Exchanges the weights of two slots (blue-green).
    Swap {
        /// The service.
        service: String,
        /// One slot.
        slot: String,
        /// The other.
        with: String,
    },
    /// The canary won: `slot`'s version takes the name `into` and all the traffic, the version
    /// that had that name is retired, and the deployment is recorded as promoted.
    Promote {
        /// The slot that won (`canary`).
        slot: String,
        /// The slot it replaces (`stable`).
        into: String,
        /// The service.
        service: String,
    },
    /// The canary lost: all the traffic goes back to `to`, `slot` is retired, and the
    /// deployment is recorded as rolled back (with the analysis that failed, if any).
    Rollback {
        /// The service.
        service: String,
        /// The slot that lost (`canary`).
        slot: String,
        /// The slot that takes the traffic back (`stable`).
        to: String,
    },
    /// Removes a slot (it must have no traffic unless it is the only slot).
    Retire {
        /// The service.
        service: String,
        /// The slot.
        slot: String,
    },
    /// Starts an analysis run of the service: an Argo `AnalysisTemplate` (YAML text), measured by
    /// the server, with synthetic load through the router while it runs when `load` is given.
    StartAnalysis {
        /// The service.
        service: String,
        /// The template's name, for messages (`analysis.yaml`, or `inline`).
        template_name: String,
        /// The template's YAML.
        template: String,
        /// Values of the template's `args`.
        args: BTreeMap<String, String>,
        /// Synthetic traffic while the analysis runs.
        load: Option<Load>,
    },
    /// Starts a chaos experiment against the service (Chaos Toolkit's format, YAML or JSON),
    /// with synthetic load through its router while it runs when `load` is given.
    StartChaos {
        /// The service.
        service: String,
        /// The experiment's name, for messages.
        experiment_name: String,
        /// The experiment.
        experiment: String,
        /// Synthetic traffic while it runs.
        load: Option<Load>,
    },
    /// A chaos experiment as it is now.
    Chaos {
        /// Its id.
        id: i64,
    },
    /// Stops a chaos experiment (the step was canceled); its faults are taken away.
    StopChaos {
        /// Its id.
        id: i64,
    },
    /// Sets a feature flag of the job's environment: its default variant and/or its state
    /// (`ENABLED`, `DISABLED`).
    SetFlag {
        /// The flag's key.
        flag: String,
        /// Its new default variant.
        variant: Option<String>,
        /// Its new state.
        state: Option<String>,
    },
    /// An analysis run as it is now.
    Analysis {
        /// Its id.
        id: i64,
    },
    /// Ends an analysis run early (the step was canceled): its load stops and it is recorded as
    /// terminated.
    StopAnalysis {
        /// Its id.
        id: i64,
    },
}

impl DeliveryRequest {
    /// The service the request is about, if it names one.
    #[must_use]
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::Service { service }
            | Self::SetSlot { service, .. }
            | Self::Route { service, .. }
            | Self::Weights { service, .. }
            | Self::Swap { service, .. }
            | Self::Promote { service, .. }
            | Self::Rollback { service, .. }
            | Self::Retire { service, .. }
            | Self::StartAnalysis { service, .. }
            | Self::StartChaos { service, .. } => Some(service),
            Self::Analysis { .. }
            | Self::StopAnalysis { .. }
            | Self::Chaos { .. }
            | Self::StopChaos { .. }
            | Self::SetFlag { .. } => None,
        }
    }
}

/// Synthetic traffic sent through a service's router while an analysis runs (as Flagger's load
/// tester does), so that a release with no real users yet has measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Load {
    /// Requests per second, 1 to 1,000.
    pub rate: u32,
    /// The path asked for (`/`).
    pub path: String,
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DeliveryAnswer {
    /// The service after the change.
    Service(ServiceState),
    /// The analysis run.
    Analysis(AnalysisState),
    /// The chaos experiment.
    Chaos(ChaosState),
    /// The flag as it is now.
    Flag(FlagState),
}

/// A feature flag after a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagState {
    /// The environment.
    pub environment: String,
    /// The flag's key.
    pub flag: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// Its default variant.
    pub default_variant: Option<String>,
    /// The flag document's revision.
    pub revision: i64,
}

/// A chaos experiment, as a delivery task follows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosState {
    /// Its id.
    pub id: i64,
    /// `running`, `completed`, `failed` (the hypothesis did not hold before the method) or
    /// `aborted`.
    pub status: String,
    /// Whether the hypothesis did not hold after the method.
    pub deviated: bool,
    /// Chaos Toolkit's journal of it so far.
    pub journal: serde_json::Value,
}

/// A service, as a delivery task sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    /// The environment.
    pub environment: String,
    /// The service.
    pub service: String,
    /// Where its router listens.
    pub listen: String,
    /// Its slots.
    pub slots: Vec<SlotState>,
    /// Upstreams the change left without a slot: their processes may be stopped.
    #[serde(default)]
    pub retired: Vec<String>,
}

/// A slot of a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotState {
    /// Its name.
    pub name: String,
    /// Where its version listens.
    pub upstream: String,
    /// Its share of the traffic.
    pub weight: u32,
}

/// An analysis run, as a delivery task follows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisState {
    /// Its id.
    pub id: i64,
    /// `Running`, `Successful`, `Failed`, `Inconclusive`, `Error` or `Terminated`.
    pub phase: String,
    /// Why it ended as it did.
    pub message: Option<String>,
    /// Each metric's measurements so far.
    pub metrics: Vec<MetricState>,
}

impl AnalysisState {
    /// Whether the run has ended.
    #[must_use]
    pub fn finished(&self) -> bool {
        self.phase != "Running"
    }
}

/// One metric of an analysis run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricState {
    /// Its name.
    pub name: String,
    /// `Pending`, `Running`, `Successful`, `Failed`, `Inconclusive` or `Error`.
    pub phase: String,
    /// Its measurements, oldest first.
    pub measurements: Vec<MeasurementState>,
}

/// One measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementState {
    /// `Successful`, `Failed`, `Inconclusive` or `Error`.
    pub phase: String,
    /// What was measured.
    pub value: Option<serde_json::Value>,
    /// Why it failed or errored.
    pub message: Option<String>,
    /// When it was taken (milliseconds since the epoch).
    pub finished_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_shape() {
        let request = DeliveryRequest::Route { service: "web".into(), slot: "canary".into(), percent: 10 };
        let json = serde_json::to_string(&request).unwrap_or_default();
        assert_eq!(json, r#"{"op":"route","service":"web","slot":"canary","percent":10}"#);
        let request = DeliveryRequest::StartAnalysis {
            service: "web".into(),
            template_name: "inline".into(),
            template: "metrics: []".into(),
            args: BTreeMap::new(),
            load: Some(Load { rate: 20, path: "/".into() }),
        };
        let json = serde_json::to_string(&request).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"op":"startAnalysis","service":"web","templateName":"inline","template":"metrics: []","args":{},"load":{"rate":20,"path":"/"}}"#
        );
        let back: DeliveryRequest = serde_json::from_str(&json).unwrap_or(DeliveryRequest::Analysis { id: 0 });
        assert_eq!(back, request);
    }
}
