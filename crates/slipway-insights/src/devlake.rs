//! Apache DevLake's incoming-webhook payloads read as CDEvents, so that deployments and incidents
//! of systems Slipway does not run count in its DORA metrics as they would in DevLake.
//!
//! The payloads are DevLake's (its webhook plugin, `backend/plugins/webhook/api/deployments.go`
//! and `issues.go`, as read in November 2026; <https://devlake.apache.org/docs/Plugins/webhook>):
//!
//! - a **deployment**: `id` (required), `startedDate` and `finishedDate` (required, RFC 3339),
//!   `createdDate`, `result` (`SUCCESS` by default; anything else is a failed deployment),
//!   `environment` (`PRODUCTION` by default, one of `PRODUCTION`, `STAGING`, `TESTING`,
//!   `DEVELOPMENT`), `originalEnvironment`, `name`, `displayTitle`, and `deploymentCommits`
//!   (at least one; each `repoUrl` and `commitSha` required, `commitMsg`, `refName`,
//!   `startedDate`, `finishedDate` ...). It becomes `service.deployed` (or Slipway's
//!   `slipway-deployment.failed`) in the environment named by `originalEnvironment` when given,
//!   else by `environment` in lower case (`production`), with the commits in `customData`.
//! - an **incident**: `issueKey`, `title`, `originalStatus` and `createdDate` required, `type`
//!   (`INCIDENT`, the default here: this endpoint takes incidents only), `status` (`TODO`,
//!   `IN_PROGRESS` or `DONE`), `resolutionDate`, `description`, `url`, `severity`, `priority`,
//!   `component`, assignee and creator. An open one becomes `incident.detected`, a `DONE` one
//!   `incident.resolved`; closing one by its key (DevLake's `issue/:issueKey/close`) is
//!   `incident.resolved` now. DevLake incidents name no environment: they are `production`'s.

use serde_json::{Map, Value, json};

use crate::cdevents::{Event, Rejected, types};

/// The source of events made from DevLake payloads.
pub const SOURCE: &str = "/slipway/devlake";

fn problem(problems: &mut Vec<(String, String)>, field: &str, message: impl Into<String>) {
    problems.push((format!("/{field}"), message.into()));
}

fn text<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str).filter(|text| !text.trim().is_empty())
}

fn required<'a>(object: &'a Map<String, Value>, field: &str, problems: &mut Vec<(String, String)>) -> &'a str {
    match object.get(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            problem(problems, field, "missing: DevLake's payload requires it");
            ""
        }
        Some(other) => {
            problem(problems, field, format!("expected a string, found {}", kind(other)));
            ""
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn date(object: &Map<String, Value>, field: &str, required: bool, problems: &mut Vec<(String, String)>) -> Option<i64> {
    match object.get(field) {
        None | Some(Value::Null) => {
            if required {
                problem(problems, field, "missing: DevLake's payload requires it (an RFC 3339 time)");
            }
            None
        }
        Some(Value::String(text)) => match text.parse::<jiff::Timestamp>() {
            Ok(time) => Some(time.as_millisecond()),
            Err(_) => {
                problem(problems, field, format!("'{text}' is not an RFC 3339 time such as 2026-01-01T12:00:00+00:00"));
                None
            }
        },
        Some(other) => {
            problem(problems, field, format!("expected an RFC 3339 time, found {}", kind(other)));
            None
        }
    }
}

fn object(payload: &Value) -> Result<&Map<String, Value>, Rejected> {
    payload.as_object().ok_or_else(|| Rejected {
        problems: vec![(String::new(), "the body must be a JSON object: DevLake's webhook payload".into())],
    })
}

/// The environment a DevLake payload names, as a Slipway environment.
fn environment(object: &Map<String, Value>, problems: &mut Vec<(String, String)>) -> String {
    if let Some(original) = text(object, "originalEnvironment") {
        return original.to_owned();
    }
    match text(object, "environment") {
        None => "production".to_owned(),
        Some(tier @ ("PRODUCTION" | "STAGING" | "TESTING" | "DEVELOPMENT")) => tier.to_lowercase(),
        Some(other) => {
            problem(
                problems,
                "environment",
                format!("'{other}' is not one of DevLake's PRODUCTION, STAGING, TESTING, DEVELOPMENT"),
            );
            String::new()
        }
    }
}

/// A DevLake deployment as a CDEvent.
///
/// # Errors
/// Every field that is missing or wrong, by its JSON pointer.
pub fn deployment(payload: &Value) -> Result<Event, Rejected> {
    let object = object(payload)?;
    let mut problems = Vec::new();
    let id = required(object, "id", &mut problems).to_owned();
    let started = date(object, "startedDate", true, &mut problems);
    let finished = date(object, "finishedDate", true, &mut problems);
    let created = date(object, "createdDate", false, &mut problems);
    let environment = environment(object, &mut problems);
    let result = text(object, "result").unwrap_or("SUCCESS").to_owned();
    let mut changes = Vec::new();
    let mut artifact = None;
    match object.get("deploymentCommits") {
        Some(Value::Array(commits)) if !commits.is_empty() => {
            for (index, commit) in commits.iter().enumerate() {
                let Some(commit) = commit.as_object() else {
                    problem(&mut problems, &format!("deploymentCommits/{index}"), "expected an object");
                    continue;
                };
                let mut inner = Vec::new();
                let repo = required(commit, "repoUrl", &mut inner).to_owned();
                let sha = required(commit, "commitSha", &mut inner).to_owned();
                let commit_started = date(commit, "startedDate", false, &mut inner);
                let commit_created = date(commit, "createdDate", false, &mut inner);
                for (pointer, message) in inner {
                    problems.push((format!("/deploymentCommits/{index}{pointer}"), message));
                }
                if artifact.is_none() && !sha.is_empty() {
                    let name = repo.trim_end_matches('/').trim_end_matches(".git").rsplit('/').next().unwrap_or("");
                    artifact = Some(format!("pkg:generic/{}@{sha}", if name.is_empty() { "repository" } else { name }));
                }
                changes.push(json!({
                    "commit": sha,
                    "repository": repo,
                    "ref": text(commit, "refName"),
                    "message": text(commit, "commitMsg"),
                    "time": commit_created.or(commit_started),
                }));
            }
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => problem(
            &mut problems,
            "deploymentCommits",
            "missing: a deployment lists its commits (at least one, each with repoUrl and commitSha)",
        ),
        Some(other) => problem(&mut problems, "deploymentCommits", format!("expected an array, found {}", kind(other))),
    }
    if let (Some(started), Some(finished)) = (started, finished)
        && finished < started
    {
        problem(&mut problems, "finishedDate", "it is before startedDate");
    }
    if !problems.is_empty() {
        return Err(Rejected { problems });
    }
    let succeeded = result.eq_ignore_ascii_case("SUCCESS");
    let name = text(object, "name").or_else(|| text(object, "displayTitle")).unwrap_or(&id).to_owned();
    Ok(Event {
        id: format!("devlake-deployment-{id}"),
        source: SOURCE.to_owned(),
        event_type: if succeeded { types::SERVICE_DEPLOYED } else { types::DEPLOYMENT_FAILED }.to_owned(),
        time_ms: finished.unwrap_or_default(),
        subject_id: format!("services/{name}"),
        content: json!({
            "environment": { "id": environment, "source": SOURCE },
            "artifactId": artifact.unwrap_or_else(|| format!("pkg:generic/{id}")),
        }),
        chain_id: None,
        custom_data: Some(json!({
            "devlakeId": id,
            "result": result,
            "displayTitle": text(object, "displayTitle"),
            "createdAt": created.or(started),
            "startedAt": started,
            "finishedAt": finished,
            "changes": changes,
        })),
    })
}

/// A DevLake incident (an issue of type `INCIDENT`) as a CDEvent: detected while open, resolved
/// when `DONE`.
///
/// # Errors
/// Every field that is missing or wrong, by its JSON pointer.
pub fn incident(payload: &Value) -> Result<Event, Rejected> {
    let object = object(payload)?;
    let mut problems = Vec::new();
    let key = required(object, "issueKey", &mut problems).to_owned();
    let title = required(object, "title", &mut problems).to_owned();
    required(object, "originalStatus", &mut problems);
    let created = date(object, "createdDate", true, &mut problems);
    let resolved_at = date(object, "resolutionDate", false, &mut problems);
    match text(object, "type") {
        None | Some("INCIDENT") => {}
        Some(other) => problem(
            &mut problems,
            "type",
            format!("'{other}' is not INCIDENT: this endpoint takes incidents (DevLake counts only those in DORA)"),
        ),
    }
    let status = text(object, "status").unwrap_or("TODO");
    if !matches!(status, "TODO" | "IN_PROGRESS" | "DONE") {
        problem(&mut problems, "status", format!("'{status}' is not one of DevLake's TODO, IN_PROGRESS, DONE"));
    }
    if !problems.is_empty() {
        return Err(Rejected { problems });
    }
    let done = status == "DONE";
    let mut event =
        incident_event(&key, done, if done { resolved_at.or(created) } else { created }.unwrap_or_default());
    event.content["description"] = json!(title);
    if let Some(component) = text(object, "component") {
        event.content["service"] = json!({ "id": component, "source": SOURCE });
    }
    event.custom_data = Some(json!({
        "devlakeKey": key,
        "title": title,
        "description": text(object, "description"),
        "url": text(object, "url"),
        "status": status,
        "severity": text(object, "severity"),
        "priority": text(object, "priority"),
        "assignee": text(object, "assigneeName"),
        "createdAt": created,
        "resolvedAt": resolved_at,
    }));
    Ok(event)
}

/// DevLake's "close issue" for an incident key, at `time_ms`.
#[must_use]
pub fn close_incident(key: &str, time_ms: i64) -> Event {
    let mut event = incident_event(key, true, time_ms);
    event.custom_data = Some(json!({ "devlakeKey": key, "status": "DONE", "resolvedAt": time_ms }));
    event
}

fn incident_event(key: &str, resolved: bool, time_ms: i64) -> Event {
    Event {
        id: format!("devlake-incident-{key}-{}", if resolved { "resolved" } else { "detected" }),
        source: SOURCE.to_owned(),
        event_type: if resolved { types::INCIDENT_RESOLVED } else { types::INCIDENT_DETECTED }.to_owned(),
        time_ms,
        subject_id: format!("incidents/{key}"),
        content: json!({ "environment": { "id": "production", "source": SOURCE } }),
        chain_id: None,
        custom_data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdevents::check_own;

    /// The payload of DevLake's documentation (apache/devlake#8059's example).
    fn documented() -> Value {
        json!({
            "id": "Test 2",
            "createdDate": "2024-09-02T11:00:00+00:00",
            "startedDate": "2024-09-02T12:00:00+00:00",
            "finishedDate": "2024-09-03T13:00:00+00:00",
            "environment": "PRODUCTION",
            "result": "SUCCESS",
            "displayTitle": "optional-custom-deploy-display-title",
            "name": "Test Name",
            "deploymentCommits": [{
                "repoUrl": "https://github.com/apache/incubator-devlake",
                "refName": "main",
                "startedDate": "2024-09-02T12:00:00+00:00",
                "finishedDate": "2024-09-03T13:00:00+00:00",
                "commitSha": "015e3d3b480e417aede5a1293bd61de9b0fd051d",
                "commitMsg": "a change"
            }]
        })
    }

    #[test]
    fn a_documented_deployment_is_a_valid_service_deployed() {
        let event = deployment(&documented()).expect("valid");
        check_own(&event).expect("schema");
        assert_eq!(event.event_type, types::SERVICE_DEPLOYED);
        assert_eq!(event.content["environment"]["id"], "production");
        assert_eq!(
            event.content["artifactId"],
            "pkg:generic/incubator-devlake@015e3d3b480e417aede5a1293bd61de9b0fd051d"
        );
        assert_eq!(event.time_ms, 1_725_368_400_000);
        assert_eq!(event.id, "devlake-deployment-Test 2");
    }

    #[test]
    fn a_failed_deployment_is_slipways_failed_deployment() {
        let mut payload = documented();
        payload["result"] = json!("FAILURE");
        payload["originalEnvironment"] = json!("prod-eu");
        let event = deployment(&payload).expect("valid");
        check_own(&event).expect("schema");
        assert_eq!(event.event_type, types::DEPLOYMENT_FAILED);
        assert_eq!(event.content["environment"]["id"], "prod-eu");
    }

    #[test]
    fn every_missing_or_wrong_field_is_named() {
        let payload = json!({
            "startedDate": "yesterday",
            "environment": "PROD",
            "deploymentCommits": [{ "repoUrl": "x" }, 3]
        });
        let error = deployment(&payload).expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "at /id: missing: DevLake's payload requires it; at /startedDate: 'yesterday' is not an RFC 3339 time such \
             as 2026-01-01T12:00:00+00:00; at /finishedDate: missing: DevLake's payload requires it (an RFC 3339 time); \
             at /environment: 'PROD' is not one of DevLake's PRODUCTION, STAGING, TESTING, DEVELOPMENT; at \
             /deploymentCommits/0/commitSha: missing: DevLake's payload requires it; at /deploymentCommits/1: expected \
             an object"
        );
    }

    #[test]
    fn incidents_open_and_close() {
        let payload = json!({
            "issueKey": "INC-7", "title": "checkout down", "type": "INCIDENT", "originalStatus": "CREATED",
            "status": "IN_PROGRESS", "createdDate": "2026-06-03T08:00:00+00:00", "component": "checkout"
        });
        let opened = incident(&payload).expect("valid");
        check_own(&opened).expect("schema");
        assert_eq!(opened.event_type, types::INCIDENT_DETECTED);
        assert_eq!(opened.content["service"]["id"], "checkout");
        let closed = close_incident("INC-7", 1_780_000_000_000);
        check_own(&closed).expect("schema");
        assert_eq!(closed.event_type, types::INCIDENT_RESOLVED);
        assert_ne!(closed.id, opened.id);
        let mut done = payload;
        done["status"] = json!("DONE");
        done["resolutionDate"] = json!("2026-06-03T09:30:00+00:00");
        let resolved = incident(&done).expect("valid");
        assert_eq!(resolved.event_type, types::INCIDENT_RESOLVED);
        assert_eq!(resolved.id, closed.id, "closing twice is one event");
    }

    #[test]
    fn other_issue_types_are_refused() {
        let payload = json!({ "issueKey": "B-1", "title": "t", "type": "BUG", "originalStatus": "x", "createdDate": "2026-06-03T08:00:00Z" });
        let error = incident(&payload).expect_err("bug");
        assert_eq!(
            error.to_string(),
            "at /type: 'BUG' is not INCIDENT: this endpoint takes incidents (DevLake counts only those in DORA)"
        );
    }
}
