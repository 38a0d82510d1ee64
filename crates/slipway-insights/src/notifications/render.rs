//! What a notification says, pure: an event of the stream summed up ([`Summary`]) and rendered as
//! a Slack message (Block Kit), a Microsoft Teams message (an Adaptive Card 1.4, as a Workflows
//! webhook takes it), an e-mail (subject and plain text) and a generic webhook's signed body (the
//! structured CloudEvent itself, with an HMAC-SHA256 signature of the body).
//!
//! Events carry no secret values (the stream is made from the store's records, never from
//! variables), and nothing here reads a subscription's secret except the signature.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::cdevents::types;

/// The header a generic webhook's signature travels in (as GitHub's `X-Hub-Signature-256`).
pub const SIGNATURE_HEADER: &str = "X-Slipway-Signature-256";
/// Slack's longest header text, in characters.
const SLACK_HEADER_MAX: usize = 150;
/// The longest text of a Slack field, in characters.
const SLACK_FIELD_MAX: usize = 1900;

/// An event summed up for people: a title, facts, a link and a line of context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// One line: what happened.
    pub title: String,
    /// Named facts, in order (pipeline, run, branch, result, who must approve...).
    pub facts: Vec<(String, String)>,
    /// Where to look: the button's label and URL.
    pub link: Option<(String, String)>,
    /// The event's type, source and time.
    pub context: String,
    /// Whether it is bad news (a failure, a rollback).
    pub failed: bool,
}

/// Text of a JSON value that is a string or a number.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The short name of an event type: `pipelinerun.finished` for
/// `dev.cdevents.pipelinerun.finished.0.3.0`, `slipway-approval.created` for Slipway's own.
#[must_use]
pub fn short_type(event_type: &str) -> String {
    let rest = event_type
        .strip_prefix("dev.cdevents.")
        .or_else(|| event_type.strip_prefix("dev.cdeventsx."))
        .unwrap_or(event_type);
    let parts: Vec<&str> = rest.split('.').collect();
    match parts.as_slice() {
        [subject, predicate, ..] => format!("{subject}.{predicate}"),
        _ => rest.to_owned(),
    }
}

/// Sums up a structured CloudEvent carrying a CDEvent.
#[must_use]
pub fn summarize(document: &Value) -> Summary {
    let event_type = document["type"].as_str().unwrap_or_default();
    let data = &document["data"];
    let content = &data["subject"]["content"];
    let custom = &data["customData"];
    let mut facts = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            facts.push((name.to_owned(), value));
        }
    };
    let run_number = text(&custom["runNumber"]);
    let run_label = run_number.as_deref().map(|number| format!(" #{number}")).unwrap_or_default();
    let outcome = text(&content["outcome"]);
    let mut failed = matches!(outcome.as_deref(), Some("failure" | "error"));
    let (title, link_label) = match event_type {
        types::PIPELINE_RUN_QUEUED | types::PIPELINE_RUN_STARTED | types::PIPELINE_RUN_FINISHED => {
            let pipeline = text(&content["pipelineName"]).unwrap_or_else(|| "A pipeline".to_owned());
            let what = match event_type {
                types::PIPELINE_RUN_QUEUED => "queued".to_owned(),
                types::PIPELINE_RUN_STARTED => "started".to_owned(),
                _ => match outcome.as_deref() {
                    Some("success") => "succeeded".to_owned(),
                    Some("failure") => "failed".to_owned(),
                    Some("cancel") => "was canceled".to_owned(),
                    Some(other) => format!("finished ({other})"),
                    None => "finished".to_owned(),
                },
            };
            push("Pipeline", Some(pipeline.clone()));
            push("Run", run_number.clone());
            push("Branch", text(&custom["branch"]));
            push("Result", text(&custom["result"]).or(outcome.clone()));
            push("Commit", text(&custom["commit"]).map(|commit| commit.chars().take(12).collect()));
            push("Requested by", text(&custom["requestedBy"]));
            push("Errors", text(&content["errors"]));
            (format!("{pipeline}{run_label} {what}"), "Open run")
        }
        types::TASK_RUN_STARTED | types::TASK_RUN_FINISHED => {
            let job = text(&content["taskName"]).unwrap_or_else(|| "A job".to_owned());
            let what = if event_type == types::TASK_RUN_STARTED {
                "started".to_owned()
            } else {
                outcome.clone().map_or_else(|| "finished".to_owned(), |outcome| format!("finished: {outcome}"))
            };
            push("Job", Some(job.clone()));
            push("Branch", text(&custom["branch"]));
            push("Errors", text(&content["errors"]));
            (format!("Job {job} {what}"), "Open run")
        }
        types::SERVICE_DEPLOYED | types::SERVICE_UPGRADED | types::SERVICE_ROLLED_BACK | types::DEPLOYMENT_FAILED => {
            let environment = text(&content["environment"]["id"]).unwrap_or_else(|| "an environment".to_owned());
            let service = text(&content["artifactId"]).or_else(|| text(&custom["resource"]));
            let what = match event_type {
                types::SERVICE_DEPLOYED => "Deployed to",
                types::SERVICE_UPGRADED => "Upgraded in",
                types::SERVICE_ROLLED_BACK => "Rolled back in",
                _ => "Deployment failed in",
            };
            failed = matches!(event_type, types::SERVICE_ROLLED_BACK | types::DEPLOYMENT_FAILED);
            push("Environment", Some(environment.clone()));
            push("Service", service);
            push("Run", run_number.clone());
            push("Stage", text(&custom["stage"]));
            push("Branch", text(&custom["branch"]));
            push("Result", text(&custom["result"]));
            push("Detail", text(&custom["outcomeDetail"]));
            (format!("{what} {environment}"), "Open environment")
        }
        types::APPROVAL_CREATED => {
            let approvers = custom["approvers"]
                .as_array()
                .map(|approvers| approvers.iter().filter_map(text).collect::<Vec<_>>().join(", "));
            let stage = text(&content["stage"]);
            let resource = text(&content["resource"]);
            push("Approvers", approvers.filter(|approvers| !approvers.is_empty()));
            push("Run", run_number.clone());
            push("Stage", stage.clone());
            push("Resource", resource.clone());
            push("Requested by", text(&custom["requestedBy"]));
            push("Instructions", text(&custom["instructions"]));
            let target = resource.map(|resource| format!(" for {resource}")).unwrap_or_default();
            (format!("Approval waiting{target}{run_label}"), "Review approval")
        }
        types::APPROVAL_UPDATED => {
            let decision = text(&content["decision"]).unwrap_or_else(|| "updated".to_owned());
            failed = decision.eq_ignore_ascii_case("rejected");
            push("Decision", Some(decision.clone()));
            push("By", text(&content["by"]));
            push("Comment", text(&content["comment"]));
            push("Stage", text(&content["stage"]));
            push("Resource", text(&content["resource"]));
            (format!("Approval {decision}{run_label}"), "Open approvals")
        }
        _ => {
            let name = text(&content["summary"])
                .or_else(|| text(&content["description"]))
                .or_else(|| text(&data["subject"]["id"]))
                .unwrap_or_default();
            failed |= event_type.contains(".incident.detected") || event_type.contains(".incident.reported");
            push("Subject", text(&document["subject"]));
            (format!("{}: {name}", short_type(event_type)).trim_end_matches([':', ' ']).to_owned(), "Open")
        }
    };
    let link = text(&content["uri"]).or_else(|| text(&custom["uri"])).map(|uri| (link_label.to_owned(), uri));
    let context = [
        Some(short_type(event_type)),
        text(&document["source"]).map(|source| format!("from {source}")),
        text(&document["time"]).map(|time| format!("at {time}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    Summary { title, facts, link, context, failed }
}

/// Truncates `text` to at most `max` characters, ending in `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// Escapes Slack's three control characters of mrkdwn.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The one-line text of a summary (notification text, e-mail subject).
fn headline(summary: &Summary) -> String {
    let mark = if summary.failed { "[failed] " } else { "" };
    format!("{mark}{}", summary.title)
}

/// A Slack incoming webhook's message: `text` (the fallback and the notification's text) and
/// `blocks`: a header, a section of mrkdwn fields (at most ten), a context line and, with a
/// link, an actions block with a URL button.
#[must_use]
pub fn slack(summary: &Summary) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": clip(&summary.title, SLACK_HEADER_MAX) },
    })];
    if !summary.facts.is_empty() {
        let fields: Vec<Value> = summary
            .facts
            .iter()
            .take(10)
            .map(|(name, value)| {
                json!({ "type": "mrkdwn", "text": clip(&format!("*{}:*\n{}", slack_escape(name), slack_escape(value)), SLACK_FIELD_MAX) })
            })
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    blocks
        .push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": slack_escape(&summary.context) }] }));
    if let Some((label, url)) = &summary.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": label },
                "url": url,
                "action_id": "open",
            }],
        }));
    }
    json!({ "text": headline(summary), "blocks": blocks })
}

/// A Microsoft Teams message for a Workflows webhook: one Adaptive Card 1.4 attachment with a
/// title, a fact set, a context line and, with a link, an `Action.OpenUrl`.
#[must_use]
pub fn teams(summary: &Summary) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": summary.title,
        "weight": "Bolder",
        "size": "Medium",
        "wrap": true,
        "color": if summary.failed { "Attention" } else { "Default" },
    })];
    if !summary.facts.is_empty() {
        let facts: Vec<Value> =
            summary.facts.iter().map(|(name, value)| json!({ "title": name, "value": value })).collect();
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    body.push(json!({ "type": "TextBlock", "text": summary.context, "isSubtle": true, "size": "Small", "wrap": true }));
    let actions: Vec<Value> = summary
        .link
        .iter()
        .map(|(label, url)| json!({ "type": "Action.OpenUrl", "title": label, "url": url }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// An e-mail's subject and plain-text body.
#[must_use]
pub fn email(summary: &Summary) -> (String, String) {
    let subject = format!("[Slipway] {}", headline(summary)).replace(['\r', '\n'], " ");
    let mut body = format!("{}\n\n", summary.title);
    for (name, value) in &summary.facts {
        body.push_str(&format!("{name}: {value}\n"));
    }
    if let Some((label, url)) = &summary.link {
        body.push_str(&format!("\n{label}: {url}\n"));
    }
    body.push_str(&format!("\n-- \n{}\n", summary.context));
    (subject, body)
}

/// The HMAC-SHA256 signature of `body` under `key`, as the signature header's value:
/// `sha256=` and 64 lowercase hexadecimal digits.
#[must_use]
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this is never reached.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_finished() -> Value {
        json!({
            "specversion": "1.0",
            "id": "e-1",
            "source": "/slipway",
            "type": types::PIPELINE_RUN_FINISHED,
            "subject": "runs/7",
            "time": "2026-12-07T10:00:00Z",
            "data": {
                "subject": { "id": "runs/7", "content": { "pipelineName": "app", "uri": "http://ci/runs/7", "outcome": "failure", "errors": "Build/Compile failed" } },
                "customData": { "runId": 7, "runNumber": 12, "branch": "main", "commit": "0123456789abcdef0123", "result": "Failed", "requestedBy": "alice" },
            },
        })
    }

    fn approval() -> Value {
        json!({
            "specversion": "1.0",
            "id": "e-2",
            "source": "/slipway",
            "type": types::APPROVAL_CREATED,
            "time": "2026-12-07T10:00:00Z",
            "data": {
                "subject": { "id": "approvals/3", "content": { "state": "waiting", "stage": "Deploy", "resource": "production", "uri": "http://ci/approvals#approval-3" } },
                "customData": { "runNumber": 12, "requestedBy": "alice", "approvers": ["bob", "carol"], "instructions": "Check the canary" },
            },
        })
    }

    #[test]
    fn a_failed_run_is_summed_up() {
        let summary = summarize(&run_finished());
        assert_eq!(summary.title, "app #12 failed");
        assert!(summary.failed);
        assert_eq!(summary.link, Some(("Open run".to_owned(), "http://ci/runs/7".to_owned())));
        assert_eq!(summary.context, "pipelinerun.finished from /slipway at 2026-12-07T10:00:00Z");
        let names: Vec<&str> = summary.facts.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["Pipeline", "Run", "Branch", "Result", "Commit", "Requested by", "Errors"]);
    }

    #[test]
    fn slack_messages_are_block_kit() {
        let summary = Summary {
            title: "app #12 failed".into(),
            facts: vec![("Branch".into(), "main".into()), ("Errors".into(), "a < b".into())],
            link: Some(("Open run".into(), "http://ci/runs/7".into())),
            context: "pipelinerun.finished".into(),
            failed: true,
        };
        assert_eq!(
            slack(&summary),
            json!({
                "text": "[failed] app #12 failed",
                "blocks": [
                    { "type": "header", "text": { "type": "plain_text", "text": "app #12 failed" } },
                    { "type": "section", "fields": [
                        { "type": "mrkdwn", "text": "*Branch:*\nmain" },
                        { "type": "mrkdwn", "text": "*Errors:*\na &lt; b" },
                    ] },
                    { "type": "context", "elements": [{ "type": "mrkdwn", "text": "pipelinerun.finished" }] },
                    { "type": "actions", "elements": [{
                        "type": "button", "text": { "type": "plain_text", "text": "Open run" }, "url": "http://ci/runs/7", "action_id": "open",
                    }] },
                ],
            })
        );
    }

    #[test]
    fn teams_messages_carry_an_adaptive_card() {
        let summary = summarize(&approval());
        assert_eq!(
            teams(&summary),
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "text": "Approval waiting for production #12", "weight": "Bolder", "size": "Medium", "wrap": true, "color": "Default" },
                            { "type": "FactSet", "facts": [
                                { "title": "Approvers", "value": "bob, carol" },
                                { "title": "Run", "value": "12" },
                                { "title": "Stage", "value": "Deploy" },
                                { "title": "Resource", "value": "production" },
                                { "title": "Requested by", "value": "alice" },
                                { "title": "Instructions", "value": "Check the canary" },
                            ] },
                            { "type": "TextBlock", "text": "slipway-approval.created from /slipway at 2026-12-07T10:00:00Z", "isSubtle": true, "size": "Small", "wrap": true },
                        ],
                        "actions": [{ "type": "Action.OpenUrl", "title": "Review approval", "url": "http://ci/approvals#approval-3" }],
                    },
                }],
            })
        );
    }

    #[test]
    fn emails_are_plain_text() {
        let (subject, body) = email(&summarize(&approval()));
        assert_eq!(subject, "[Slipway] Approval waiting for production #12");
        assert_eq!(
            body,
            "Approval waiting for production #12\n\nApprovers: bob, carol\nRun: 12\nStage: Deploy\nResource: production\n\
             Requested by: alice\nInstructions: Check the canary\n\nReview approval: http://ci/approvals#approval-3\n\n\
             -- \nslipway-approval.created from /slipway at 2026-12-07T10:00:00Z\n"
        );
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231's test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn short_types_drop_the_namespace_and_version() {
        assert_eq!(short_type(types::PIPELINE_RUN_FINISHED), "pipelinerun.finished");
        assert_eq!(short_type(types::DEPLOYMENT_FAILED), "slipway-deployment.failed");
        assert_eq!(short_type("custom"), "custom");
    }
}
