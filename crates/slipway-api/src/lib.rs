//! The wire types of Slipway's REST API (`/api/v1`): what the server's handlers read and write
//! and what its client ([`slipway-client`](../slipway_client/index.html)) sends and reads, defined
//! once, with their OpenAPI schemas (`utoipa`). Times are milliseconds since the Unix epoch; ids
//! are integers. Nothing here does I/O.
//!
//! Every error is a [`Problem`] (`application/problem+json`, RFC 9457).

/// Gives a text enum its wire names: `as_str` and `Display` (the same names serde uses).
macro_rules! wire_names {
    ($name:ident { $($variant:ident => $text:literal,)+ }) => {
        impl $name {
            /// Its name on the wire.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

pub mod agents;
pub mod artifacts;
pub mod audit;
pub mod delivery;
pub mod environments;
pub mod events;
pub mod evidence;
pub mod flags;
pub mod insights;
pub mod notifications;
pub mod osv;
pub mod pipelines;
pub mod runs;
pub mod security;
pub mod team;
pub mod users;
pub mod variables;
pub mod webhooks;
pub mod work_items;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};

pub use agents::*;
pub use artifacts::*;
pub use audit::*;
pub use delivery::*;
pub use environments::*;
pub use events::*;
pub use flags::*;
pub use insights::*;
pub use notifications::*;
pub use osv::*;
pub use pipelines::*;
pub use runs::*;
pub use security::*;
pub use users::*;
pub use variables::*;
pub use webhooks::*;
pub use work_items::*;

wire_names!(QueueStatus { Enabled => "enabled", Disabled => "disabled", });
wire_names!(TriggerKind {
    Manual => "manual",
    Push => "push",
    PullRequest => "pr",
    Schedule => "schedule",
    PipelineCompletion => "pipeline-completion",
});
wire_names!(RunStatus { Queued => "queued", Running => "running", Completed => "completed", });
wire_names!(JobStatus { Pending => "pending", Queued => "queued", Running => "running", Completed => "completed", });
wire_names!(UserRole { Admin => "admin", Contributor => "contributor", Reader => "reader", });
wire_names!(AgentState { Idle => "idle", Busy => "busy", Draining => "draining", Offline => "offline", });
wire_names!(AgentLostAction { Fail => "fail", Requeue => "requeue", });

/// The media type of API errors.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An API error (RFC 9457): what went wrong, for people and programs. Every route answers its
/// errors with one, as `application/problem+json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable, relative URI naming the kind of problem (`/problems/not-found`).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The HTTP status's reason phrase.
    #[serde(default)]
    pub title: String,
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    /// What went wrong and, where it can, what to do about it.
    #[serde(default)]
    pub detail: String,
}

/// The `detail` of the problem answered for a path the API has no route for.
pub const UNKNOWN_ROUTE: &str = "there is no such API route";

impl Problem {
    /// The problem an error answer describes: its problem document, or for any other body (a
    /// proxy's error page, say), the status with the body's text, shortened, as the detail.
    #[must_use]
    pub fn from_answer(status: u16, body: &str) -> Self {
        #[derive(Deserialize)]
        struct Loose {
            #[serde(rename = "type")]
            kind: Option<String>,
            title: Option<String>,
            detail: Option<String>,
        }
        let document = serde_json::from_str::<Loose>(body).ok();
        let document = document.unwrap_or(Loose { kind: None, title: None, detail: None });
        let detail = document.detail.unwrap_or_else(|| {
            let body = body.trim();
            if body.is_empty() {
                format!("the server answered {status} with no explanation")
            } else {
                body.chars().take(300).collect()
            }
        });
        Self {
            kind: document.kind.unwrap_or_default(),
            title: document.title.unwrap_or_else(|| reason(status).to_owned()),
            status,
            detail,
        }
    }

    /// Whether the route itself does not exist on the server (an older server, or a typo in the
    /// path), as opposed to the thing it names.
    #[must_use]
    pub fn is_unknown_route(&self) -> bool {
        (self.status == 404 && self.detail == UNKNOWN_ROUTE) || self.status == 405
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.detail)
    }
}

/// The reason phrase of an HTTP status the API answers.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

impl<'a> utoipa::ToResponse<'a> for Problem {
    fn response() -> (&'a str, RefOr<Response>) {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
        let response = ResponseBuilder::new()
            .description("A problem (RFC 9457): what went wrong, and what to do about it.")
            .content(PROBLEM_CONTENT_TYPE, content)
            .build();
        ("Problem", RefOr::T(response))
    }
}

/// Encodes text (a pipeline's, variable's or artifact's name) as one segment of a URL's path:
/// everything but letters, digits, `-`, `.`, `_` and `~` is percent-encoded.
#[must_use]
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `GET /health`: the server is up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The store's database: `sqlite` or `postgres`.
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_documents_and_other_answers() {
        let problem = Problem::from_answer(
            404,
            r#"{"type":"/problems/not-found","title":"Not Found","status":404,"detail":"no run 9"}"#,
        );
        assert_eq!(problem.detail, "no run 9");
        assert_eq!(problem.kind, "/problems/not-found");
        assert!(!problem.is_unknown_route());
        let plain = Problem::from_answer(502, "bad gateway\n");
        assert_eq!((plain.title.as_str(), plain.detail.as_str()), ("Bad Gateway", "bad gateway"));
        assert_eq!(Problem::from_answer(500, "").detail, "the server answered 500 with no explanation");
        let unknown = format!(r#"{{"detail":"{UNKNOWN_ROUTE}"}}"#);
        assert!(Problem::from_answer(404, &unknown).is_unknown_route());
        assert!(Problem::from_answer(405, "").is_unknown_route());
    }

    #[test]
    fn enums_are_named_as_serde_names_them() {
        fn serde_name(value: impl Serialize) -> String {
            serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default()
        }
        for kind in [
            TriggerKind::Manual,
            TriggerKind::Push,
            TriggerKind::PullRequest,
            TriggerKind::Schedule,
            TriggerKind::PipelineCompletion,
        ] {
            assert_eq!(serde_name(kind), kind.to_string());
        }
        for status in [RunStatus::Queued, RunStatus::Running, RunStatus::Completed] {
            assert_eq!(serde_name(status), status.as_str());
        }
        for status in [JobStatus::Pending, JobStatus::Queued, JobStatus::Running, JobStatus::Completed] {
            assert_eq!(serde_name(status), status.as_str());
        }
        for role in [UserRole::Admin, UserRole::Contributor, UserRole::Reader] {
            assert_eq!(serde_name(role), role.as_str());
        }
        for state in [AgentState::Idle, AgentState::Busy, AgentState::Draining, AgentState::Offline] {
            assert_eq!(serde_name(state), state.as_str());
        }
        for status in [QueueStatus::Enabled, QueueStatus::Disabled] {
            assert_eq!(serde_name(status), status.as_str());
        }
        for action in [AgentLostAction::Fail, AgentLostAction::Requeue] {
            assert_eq!(serde_name(action), action.as_str());
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("Build.Config_1-x~"), "Build.Config_1-x~");
        assert_eq!(path_segment("a b/c%"), "a%20b%2Fc%25");
        assert_eq!(path_segment("é"), "%C3%A9");
    }
}
