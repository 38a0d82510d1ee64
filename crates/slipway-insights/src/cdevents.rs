//! CDEvents 0.5.1 as structured CloudEvents 1.0: the envelope of Slipway's own events, and events
//! pushed in from outside checked against the CDEvents schemas.
//!
//! A CDEvent (`{context, subject, customData?}`) travels as the `data` of a CloudEvent whose
//! `id`, `source`, `type`, `subject` and `time` repeat the CDEvent's context (CDEvents'
//! CloudEvents binding). Slipway stores and serves the whole structured CloudEvent.
//!
//! The schemas are those of CDEvents v0.5.1 (tag `v0.5.1`, commit `df02ce0b`,
//! <https://github.com/cdevents/spec>, Apache-2.0; copied into `cdevents/schemas/` with the
//! licence beside them). Types of the `dev.cdevents.` namespace are checked against their schema;
//! custom types (`dev.cdeventsx.<tool>-<subject>.<predicate>.<version>`, the spec's custom
//! events, which Slipway uses for what 0.5.1 has no type for: approvals and failed deployments)
//! are checked for the context and subject every CDEvent has.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// The CDEvents specification version Slipway speaks.
pub const SPEC_VERSION: &str = "0.5.1";
/// The CloudEvents specification version of the envelope.
pub const CLOUDEVENTS_VERSION: &str = "1.0";
/// The media type of a structured CloudEvent in JSON.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The types Slipway emits.
pub mod types {
    /// A run was created.
    pub const PIPELINE_RUN_QUEUED: &str = "dev.cdevents.pipelinerun.queued.0.3.0";
    /// A run began.
    pub const PIPELINE_RUN_STARTED: &str = "dev.cdevents.pipelinerun.started.0.3.0";
    /// A run ended.
    pub const PIPELINE_RUN_FINISHED: &str = "dev.cdevents.pipelinerun.finished.0.3.0";
    /// A job (an attempt of it) began.
    pub const TASK_RUN_STARTED: &str = "dev.cdevents.taskrun.started.0.3.0";
    /// A job ended.
    pub const TASK_RUN_FINISHED: &str = "dev.cdevents.taskrun.finished.0.3.0";
    /// An artifact was published.
    pub const ARTIFACT_PUBLISHED: &str = "dev.cdevents.artifact.published.0.3.0";
    /// Test results were published.
    pub const TEST_SUITE_RUN_FINISHED: &str = "dev.cdevents.testsuiterun.finished.0.3.0";
    /// An environment was created.
    pub const ENVIRONMENT_CREATED: &str = "dev.cdevents.environment.created.0.3.0";
    /// The first version of a service went to an environment.
    pub const SERVICE_DEPLOYED: &str = "dev.cdevents.service.deployed.0.3.0";
    /// A new version of a service went to an environment.
    pub const SERVICE_UPGRADED: &str = "dev.cdevents.service.upgraded.0.3.0";
    /// A service went back to an earlier version.
    pub const SERVICE_ROLLED_BACK: &str = "dev.cdevents.service.rolledback.0.3.0";
    /// An incident was detected.
    pub const INCIDENT_DETECTED: &str = "dev.cdevents.incident.detected.0.3.0";
    /// An incident was reported through a ticket (a work item).
    pub const INCIDENT_REPORTED: &str = "dev.cdevents.incident.reported.0.3.0";
    /// An incident was resolved.
    pub const INCIDENT_RESOLVED: &str = "dev.cdevents.incident.resolved.0.3.0";
    /// A ticket (work item) was created.
    pub const TICKET_CREATED: &str = "dev.cdevents.ticket.created.0.2.0";
    /// A ticket changed.
    pub const TICKET_UPDATED: &str = "dev.cdevents.ticket.updated.0.2.0";
    /// A ticket was closed.
    pub const TICKET_CLOSED: &str = "dev.cdevents.ticket.closed.0.2.0";
    /// A deployment failed (Slipway's custom type: CDEvents 0.5.1 has none).
    pub const DEPLOYMENT_FAILED: &str = "dev.cdeventsx.slipway-deployment.failed.0.1.0";
    /// An approval began to wait for someone (Slipway's custom type, after the 0.6 draft's
    /// `approval.created`).
    pub const APPROVAL_CREATED: &str = "dev.cdeventsx.slipway-approval.created.0.1.0";
    /// Someone decided an approval (Slipway's custom type, after the 0.6 draft's
    /// `approval.updated`).
    pub const APPROVAL_UPDATED: &str = "dev.cdeventsx.slipway-approval.updated.0.1.0";
}

/// One event to build: a CDEvent's context and subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id (unique with its source).
    pub id: String,
    /// Who emitted it (a URI reference).
    pub source: String,
    /// Its type.
    pub event_type: String,
    /// When it happened, in milliseconds since the epoch.
    pub time_ms: i64,
    /// The subject's id.
    pub subject_id: String,
    /// The subject's content, as its schema says.
    pub content: Value,
    /// Ties the events of one run together (CDEvents `chainId`).
    pub chain_id: Option<String>,
    /// What else is worth knowing, outside the schema (`customData`).
    pub custom_data: Option<Value>,
}

/// An RFC 3339 time (UTC, milliseconds) from milliseconds since the epoch.
#[must_use]
pub fn rfc3339(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|time| time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

impl Event {
    /// The CDEvent (`{context, subject, customData?}`).
    #[must_use]
    pub fn cdevent(&self) -> Value {
        let time = rfc3339(self.time_ms);
        let mut context = Map::new();
        context.insert("specversion".into(), json!(SPEC_VERSION));
        context.insert("id".into(), json!(self.id));
        context.insert("source".into(), json!(self.source));
        context.insert("type".into(), json!(self.event_type));
        context.insert("timestamp".into(), json!(time));
        if let Some(chain) = &self.chain_id {
            context.insert("chainId".into(), json!(chain));
        }
        let mut event = Map::new();
        event.insert("context".into(), Value::Object(context));
        event
            .insert("subject".into(), json!({ "id": self.subject_id, "source": self.source, "content": self.content }));
        if let Some(custom) = &self.custom_data {
            event.insert("customData".into(), custom.clone());
            event.insert("customDataContentType".into(), json!("application/json"));
        }
        Value::Object(event)
    }

    /// The structured CloudEvent carrying the CDEvent.
    #[must_use]
    pub fn cloudevent(&self) -> Value {
        json!({
            "specversion": CLOUDEVENTS_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.event_type,
            "subject": self.subject_id,
            "time": rfc3339(self.time_ms),
            "datacontenttype": "application/json",
            "data": self.cdevent(),
        })
    }
}

/// A CDEvent pushed in from outside, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The CloudEvent's (and CDEvent's) id.
    pub id: String,
    /// Its source.
    pub source: String,
    /// Its type.
    pub event_type: String,
    /// Its subject's id.
    pub subject: String,
    /// Its time, in milliseconds since the epoch.
    pub time_ms: i64,
    /// The environment it is about (`subject.content.environment.id`), if any.
    pub environment: Option<String>,
    /// The pipeline it is about (`subject.content.pipelineName`), if any.
    pub pipeline: Option<String>,
    /// The whole structured CloudEvent, as Slipway stores it (a bare CDEvent or one in binary
    /// mode is wrapped).
    pub document: Value,
}

/// What is wrong with an event pushed in: every problem, each at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct Rejected {
    /// `(pointer, message)` pairs.
    pub problems: Vec<(String, String)>,
}

fn render(problems: &[(String, String)]) -> String {
    problems
        .iter()
        .map(|(pointer, message)| if pointer.is_empty() { message.clone() } else { format!("at {pointer}: {message}") })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Rejected {
    fn one(pointer: &str, message: impl Into<String>) -> Self {
        Self { problems: vec![(pointer.to_owned(), message.into())] }
    }
}

/// The CloudEvents attributes of a binary-mode request (`ce-*` headers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinaryAttributes {
    /// `ce-specversion`.
    pub specversion: Option<String>,
    /// `ce-id`.
    pub id: Option<String>,
    /// `ce-source`.
    pub source: Option<String>,
    /// `ce-type`.
    pub event_type: Option<String>,
    /// `ce-subject`.
    pub subject: Option<String>,
    /// `ce-time`.
    pub time: Option<String>,
}

impl BinaryAttributes {
    /// Whether the request carried any `ce-` attribute (binary mode).
    #[must_use]
    pub fn any(&self) -> bool {
        self.specversion.is_some() || self.id.is_some() || self.source.is_some() || self.event_type.is_some()
    }
}

/// Checks an event pushed in: a structured CloudEvent whose `data` is a CDEvent, a CDEvent in
/// binary mode (`attributes` from the `ce-` headers, `body` the CDEvent), or a bare CDEvent.
///
/// # Errors
/// Every problem found, each at its JSON pointer: a CloudEvents attribute missing or not agreeing
/// with the CDEvent's context, a type this version does not know, the CDEvent against its
/// schema.
pub fn accept(body: &Value, attributes: &BinaryAttributes) -> Result<Accepted, Rejected> {
    let Some(object) = body.as_object() else {
        return Err(Rejected::one("", "the body must be a JSON object: a CloudEvent or a CDEvent"));
    };
    let (envelope, cdevent, prefix) = if attributes.any() {
        let envelope = json!({
            "specversion": attributes.specversion,
            "id": attributes.id,
            "source": attributes.source,
            "type": attributes.event_type,
            "subject": attributes.subject,
            "time": attributes.time,
        });
        (Some(envelope), body.clone(), "")
    } else if object.contains_key("specversion") {
        let data = object.get("data").cloned().unwrap_or(Value::Null);
        (Some(body.clone()), data, "/data")
    } else {
        (None, body.clone(), "")
    };
    let mut problems = Vec::new();
    check_cdevent(&cdevent, prefix, &mut problems);
    let context = cdevent.get("context");
    let text =
        |key: &str| context.and_then(|context| context.get(key)).and_then(Value::as_str).unwrap_or_default().to_owned();
    let id = text("id");
    let source = text("source");
    let event_type = text("type");
    let timestamp = text("timestamp");
    let subject = cdevent.get("subject").and_then(|subject| subject.get("id")).and_then(Value::as_str);
    let subject = subject.unwrap_or_default().to_owned();
    if let Some(envelope) = &envelope {
        let mode = if attributes.any() { "header ce-" } else { "/" };
        let attribute = |key: &str| envelope.get(key).and_then(Value::as_str);
        match attribute("specversion") {
            Some(CLOUDEVENTS_VERSION) => {}
            Some(other) => problems.push((format!("{mode}specversion"), format!("CloudEvents '{other}' is not 1.0"))),
            None => problems.push((format!("{mode}specversion"), "missing: a CloudEvent needs specversion 1.0".into())),
        }
        for (key, expected, what) in [
            ("id", id.as_str(), "the CDEvent's context.id"),
            ("source", source.as_str(), "the CDEvent's context.source"),
            ("type", event_type.as_str(), "the CDEvent's context.type"),
        ] {
            match attribute(key) {
                None => problems.push((format!("{mode}{key}"), format!("missing: it must be {what}"))),
                Some(found) if !expected.is_empty() && found != expected => problems.push((
                    format!("{mode}{key}"),
                    format!("'{found}' does not match {what} '{expected}' (CDEvents' CloudEvents binding)"),
                )),
                Some(_) => {}
            }
        }
        if let Some(found) = attribute("subject")
            && !subject.is_empty()
            && found != subject
        {
            problems.push((
                format!("{mode}subject"),
                format!("'{found}' does not match the CDEvent's subject.id '{subject}'"),
            ));
        }
        if !attributes.any() && object.get("data").is_none_or(|data| !data.is_object()) {
            problems.push(("/data".into(), "missing: a structured CloudEvent carries the CDEvent as its data".into()));
        }
    }
    let time_ms = match timestamp.parse::<jiff::Timestamp>() {
        Ok(time) => time.as_millisecond(),
        Err(_) if timestamp.is_empty() => 0,
        Err(error) => {
            problems.push((
                format!("{prefix}/context/timestamp"),
                format!("'{timestamp}' is not an RFC 3339 time: {error}"),
            ));
            0
        }
    };
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(Rejected { problems });
    }
    let content = cdevent.get("subject").and_then(|subject| subject.get("content"));
    let environment = content
        .and_then(|content| content.get("environment"))
        .and_then(|environment| environment.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let pipeline = content.and_then(|content| content.get("pipelineName")).and_then(Value::as_str).map(str::to_owned);
    let document = json!({
        "specversion": CLOUDEVENTS_VERSION,
        "id": id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": rfc3339(time_ms),
        "datacontenttype": "application/json",
        "data": cdevent,
    });
    Ok(Accepted { id, source, event_type, subject, time_ms, environment, pipeline, document })
}

/// Checks a CDEvent: its type known, and the whole event against its schema (custom types:
/// the context and subject every CDEvent has).
fn check_cdevent(cdevent: &Value, prefix: &str, problems: &mut Vec<(String, String)>) {
    let Some(event_type) = cdevent.get("context").and_then(|context| context.get("type")).and_then(Value::as_str)
    else {
        problems.push((format!("{prefix}/context/type"), "missing: a CDEvent's context names its type".into()));
        check_envelope(cdevent, prefix, problems);
        return;
    };
    if let Some(custom) = event_type.strip_prefix("dev.cdeventsx.") {
        if custom.split('.').count() != 5 || !custom.contains('-') {
            problems.push((
                format!("{prefix}/context/type"),
                format!(
                    "'{event_type}' is not a custom type: custom types are \
                     dev.cdeventsx.<tool>-<subject>.<predicate>.<major>.<minor>.<patch>"
                ),
            ));
        }
        check_envelope(cdevent, prefix, problems);
        return;
    }
    let Some(validator) = validators().get(event_type) else {
        let known = known_type_named(event_type);
        let hint = match known {
            Some(known) => format!("Slipway takes CDEvents {SPEC_VERSION}, where this event is '{known}'"),
            None => format!(
                "it is not a CDEvents {SPEC_VERSION} type (dev.cdevents.<subject>.<predicate>.<version>) or a custom \
                 type (dev.cdeventsx.<tool>-<subject>.<predicate>.<version>)"
            ),
        };
        problems.push((format!("{prefix}/context/type"), format!("unknown type '{event_type}': {hint}")));
        return;
    };
    for error in validator.iter_errors(cdevent) {
        problems.push((format!("{prefix}{}", error.instance_path()), error.to_string()));
    }
}

/// The type of 0.5.1 with the same subject and predicate as `event_type`, if any.
fn known_type_named(event_type: &str) -> Option<&'static str> {
    let stem: Vec<&str> = event_type.split('.').take(4).collect();
    validators().keys().map(String::as_str).find(|known| known.split('.').take(4).eq(stem.iter().copied()))
}

/// The context and subject every CDEvent has.
fn check_envelope(cdevent: &Value, prefix: &str, problems: &mut Vec<(String, String)>) {
    let Some(object) = cdevent.as_object() else {
        problems.push((prefix.to_owned(), "a CDEvent is a JSON object with context and subject".into()));
        return;
    };
    let context = object.get("context").and_then(Value::as_object);
    match context {
        None => problems.push((format!("{prefix}/context"), "missing: a CDEvent has a context object".into())),
        Some(context) => {
            for key in ["specversion", "id", "source", "type", "timestamp"] {
                if context.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                    problems.push((format!("{prefix}/context/{key}"), "missing: a CDEvent's context needs it".into()));
                }
            }
        }
    }
    let subject = object.get("subject").and_then(Value::as_object);
    match subject {
        None => problems.push((format!("{prefix}/subject"), "missing: a CDEvent has a subject object".into())),
        Some(subject) => {
            if subject.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
                problems.push((format!("{prefix}/subject/id"), "missing: a CDEvent's subject needs an id".into()));
            }
            if !subject.get("content").is_some_and(Value::is_object) {
                problems.push((format!("{prefix}/subject/content"), "missing: a CDEvent's subject has content".into()));
            }
        }
    }
}

/// The schemas of CDEvents 0.5.1, by file name.
const SCHEMAS: &[(&str, &str)] = &[
    ("artifactdeleted", include_str!("../cdevents/schemas/artifactdeleted.json")),
    ("artifactdownloaded", include_str!("../cdevents/schemas/artifactdownloaded.json")),
    ("artifactpackaged", include_str!("../cdevents/schemas/artifactpackaged.json")),
    ("artifactpublished", include_str!("../cdevents/schemas/artifactpublished.json")),
    ("artifactsigned", include_str!("../cdevents/schemas/artifactsigned.json")),
    ("branchcreated", include_str!("../cdevents/schemas/branchcreated.json")),
    ("branchdeleted", include_str!("../cdevents/schemas/branchdeleted.json")),
    ("buildfinished", include_str!("../cdevents/schemas/buildfinished.json")),
    ("buildqueued", include_str!("../cdevents/schemas/buildqueued.json")),
    ("buildstarted", include_str!("../cdevents/schemas/buildstarted.json")),
    ("changeabandoned", include_str!("../cdevents/schemas/changeabandoned.json")),
    ("changecreated", include_str!("../cdevents/schemas/changecreated.json")),
    ("changemerged", include_str!("../cdevents/schemas/changemerged.json")),
    ("changereviewed", include_str!("../cdevents/schemas/changereviewed.json")),
    ("changeupdated", include_str!("../cdevents/schemas/changeupdated.json")),
    ("environmentcreated", include_str!("../cdevents/schemas/environmentcreated.json")),
    ("environmentdeleted", include_str!("../cdevents/schemas/environmentdeleted.json")),
    ("environmentmodified", include_str!("../cdevents/schemas/environmentmodified.json")),
    ("incidentdetected", include_str!("../cdevents/schemas/incidentdetected.json")),
    ("incidentreported", include_str!("../cdevents/schemas/incidentreported.json")),
    ("incidentresolved", include_str!("../cdevents/schemas/incidentresolved.json")),
    ("pipelinerunfinished", include_str!("../cdevents/schemas/pipelinerunfinished.json")),
    ("pipelinerunqueued", include_str!("../cdevents/schemas/pipelinerunqueued.json")),
    ("pipelinerunstarted", include_str!("../cdevents/schemas/pipelinerunstarted.json")),
    ("repositorycreated", include_str!("../cdevents/schemas/repositorycreated.json")),
    ("repositorydeleted", include_str!("../cdevents/schemas/repositorydeleted.json")),
    ("repositorymodified", include_str!("../cdevents/schemas/repositorymodified.json")),
    ("servicedeployed", include_str!("../cdevents/schemas/servicedeployed.json")),
    ("servicepublished", include_str!("../cdevents/schemas/servicepublished.json")),
    ("serviceremoved", include_str!("../cdevents/schemas/serviceremoved.json")),
    ("servicerolledback", include_str!("../cdevents/schemas/servicerolledback.json")),
    ("serviceupgraded", include_str!("../cdevents/schemas/serviceupgraded.json")),
    ("taskrunfinished", include_str!("../cdevents/schemas/taskrunfinished.json")),
    ("taskrunstarted", include_str!("../cdevents/schemas/taskrunstarted.json")),
    ("testcaserunfinished", include_str!("../cdevents/schemas/testcaserunfinished.json")),
    ("testcaserunqueued", include_str!("../cdevents/schemas/testcaserunqueued.json")),
    ("testcaserunskipped", include_str!("../cdevents/schemas/testcaserunskipped.json")),
    ("testcaserunstarted", include_str!("../cdevents/schemas/testcaserunstarted.json")),
    ("testoutputpublished", include_str!("../cdevents/schemas/testoutputpublished.json")),
    ("testsuiterunfinished", include_str!("../cdevents/schemas/testsuiterunfinished.json")),
    ("testsuiterunqueued", include_str!("../cdevents/schemas/testsuiterunqueued.json")),
    ("testsuiterunstarted", include_str!("../cdevents/schemas/testsuiterunstarted.json")),
    ("ticketclosed", include_str!("../cdevents/schemas/ticketclosed.json")),
    ("ticketcreated", include_str!("../cdevents/schemas/ticketcreated.json")),
    ("ticketupdated", include_str!("../cdevents/schemas/ticketupdated.json")),
];

/// The link schemas the event schemas refer to.
const LINK_SCHEMAS: &[(&str, &str)] = &[
    ("embeddedlinkend", include_str!("../cdevents/schemas/links/embeddedlinkend.json")),
    ("embeddedlinkpath", include_str!("../cdevents/schemas/links/embeddedlinkpath.json")),
    ("embeddedlinkrelation", include_str!("../cdevents/schemas/links/embeddedlinkrelation.json")),
    ("embeddedlinksarray", include_str!("../cdevents/schemas/links/embeddedlinksarray.json")),
];

/// A validator per event type, built once.
fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static VALIDATORS: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let links: Vec<(String, Value)> = LINK_SCHEMAS
            .iter()
            .filter_map(|(name, text)| {
                let schema = serde_json::from_str(text).ok()?;
                Some((format!("https://cdevents.dev/{SPEC_VERSION}/schema/links/{name}"), schema))
            })
            .collect();
        let mut validators = BTreeMap::new();
        for (name, text) in SCHEMAS {
            let Ok(schema) = serde_json::from_str::<Value>(text) else {
                tracing::error!(schema = name, "a built-in CDEvents schema is not JSON");
                continue;
            };
            let Some(event_type) =
                schema.pointer("/properties/context/properties/type/enum/0").and_then(Value::as_str).map(str::to_owned)
            else {
                tracing::error!(schema = name, "a built-in CDEvents schema names no type");
                continue;
            };
            let registry = links
                .iter()
                .try_fold(jsonschema::Registry::new(), |registry, (uri, schema)| registry.add(uri.as_str(), schema))
                .and_then(|registry| registry.prepare())
                .map_err(|error| error.to_string());
            let built = registry.and_then(|registry| {
                jsonschema::options()
                    .with_registry(&registry)
                    .should_validate_formats(true)
                    .build(&schema)
                    .map_err(|error| error.to_string())
            });
            match built {
                Ok(validator) => {
                    validators.insert(event_type, validator);
                }
                Err(error) => tracing::error!(schema = name, %error, "a built-in CDEvents schema does not compile"),
            }
        }
        validators
    })
}

/// Checks one of Slipway's own events against its schema (for tests and debugging): every
/// problem, as [`accept`] reports them.
///
/// # Errors
/// What is wrong with it.
pub fn check_own(event: &Event) -> Result<(), Rejected> {
    accept(&event.cloudevent(), &BinaryAttributes::default()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conformance() -> Vec<(String, Value)> {
        let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/cdevents/conformance");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(directory).expect("the conformance examples are there") {
            let path = entry.expect("a directory entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            found.push((path.display().to_string(), serde_json::from_str(&text).expect("JSON")));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn every_schema_compiles() {
        assert_eq!(validators().len(), SCHEMAS.len());
    }

    #[test]
    fn every_conformance_example_of_the_spec_is_accepted_bare_and_as_a_cloudevent() {
        let examples = conformance();
        assert_eq!(examples.len(), 45);
        for (path, example) in examples {
            let accepted =
                accept(&example, &BinaryAttributes::default()).unwrap_or_else(|error| panic!("{path}: {error}"));
            let structured = accept(&accepted.document, &BinaryAttributes::default())
                .unwrap_or_else(|error| panic!("{path} as a CloudEvent: {error}"));
            assert_eq!(structured, accepted, "{path}");
        }
    }

    fn deployed() -> Value {
        json!({
            "context": {
                "specversion": "0.5.1", "id": "e1", "source": "/ci/deployer",
                "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-12-01T10:00:00Z"
            },
            "subject": { "id": "svc", "content": { "environment": { "id": "production" }, "artifactId": "pkg:generic/app@1.0" } }
        })
    }

    #[test]
    fn a_deployment_is_accepted_with_its_environment_and_time() {
        let accepted = accept(&deployed(), &BinaryAttributes::default()).expect("valid");
        assert_eq!(accepted.environment.as_deref(), Some("production"));
        assert_eq!(accepted.time_ms, 1_796_119_200_000);
        assert_eq!(accepted.document["specversion"], "1.0");
        assert_eq!(accepted.document["subject"], "svc");
    }

    #[test]
    fn every_problem_is_named_at_its_pointer() {
        let mut event = deployed();
        event["subject"]["content"] = json!({ "environment": {} });
        event["context"]["timestamp"] = json!("yesterday");
        let error = accept(&event, &BinaryAttributes::default()).expect_err("invalid");
        let pointers: Vec<&str> = error.problems.iter().map(|(pointer, _)| pointer.as_str()).collect();
        assert!(pointers.contains(&"/subject/content"), "{error}");
        assert!(pointers.contains(&"/subject/content/environment"), "{error}");
        assert!(pointers.contains(&"/context/timestamp"), "{error}");
    }

    #[test]
    fn an_older_version_of_a_type_is_refused_with_the_version_taken() {
        let mut event = deployed();
        event["context"]["type"] = json!("dev.cdevents.service.deployed.0.1.1");
        let error = accept(&event, &BinaryAttributes::default()).expect_err("old");
        assert_eq!(
            error.to_string(),
            "at /context/type: unknown type 'dev.cdevents.service.deployed.0.1.1': Slipway takes CDEvents 0.5.1, \
             where this event is 'dev.cdevents.service.deployed.0.3.0'"
        );
    }

    #[test]
    fn a_cloudevent_must_agree_with_its_cdevent() {
        let envelope = json!({
            "specversion": "1.0", "id": "other", "source": "/ci/deployer",
            "type": "dev.cdevents.service.deployed.0.3.0", "data": deployed()
        });
        let error = accept(&envelope, &BinaryAttributes::default()).expect_err("disagrees");
        assert_eq!(
            error.to_string(),
            "at /id: 'other' does not match the CDEvent's context.id 'e1' (CDEvents' CloudEvents binding)"
        );
        let binary = BinaryAttributes {
            specversion: Some("1.0".into()),
            id: Some("e1".into()),
            source: Some("/ci/deployer".into()),
            event_type: Some("dev.cdevents.service.deployed.0.3.0".into()),
            subject: Some("svc".into()),
            time: None,
        };
        assert!(accept(&deployed(), &binary).is_ok());
    }

    #[test]
    fn custom_events_need_the_context_and_subject_every_cdevent_has() {
        let custom = json!({
            "context": { "specversion": "0.5.1", "id": "c1", "source": "/x", "type": "dev.cdeventsx.mytool-process.finished.0.1.0" },
            "subject": { "id": "p" }
        });
        let error = accept(&custom, &BinaryAttributes::default()).expect_err("incomplete");
        assert_eq!(
            error.to_string(),
            "at /context/timestamp: missing: a CDEvent's context needs it; at /subject/content: missing: a CDEvent's \
             subject has content"
        );
    }

    #[test]
    fn not_an_object_is_refused() {
        let error = accept(&json!([1]), &BinaryAttributes::default()).expect_err("array");
        assert_eq!(error.to_string(), "the body must be a JSON object: a CloudEvent or a CDEvent");
    }

    #[test]
    fn own_events_render_as_their_schema_says() {
        let event = Event {
            id: "c1.0".into(),
            source: "/slipway".into(),
            event_type: types::PIPELINE_RUN_FINISHED.into(),
            time_ms: 1_796_119_200_123,
            subject_id: "runs/1".into(),
            content: json!({ "pipelineName": "ci", "uri": "http://127.0.0.1:8080/runs/1", "outcome": "success" }),
            chain_id: Some("run-1".into()),
            custom_data: Some(json!({ "runNumber": "20261201.1" })),
        };
        check_own(&event).expect("valid");
        assert_eq!(event.cloudevent()["time"], "2026-12-01T10:00:00.123Z");
    }
}
