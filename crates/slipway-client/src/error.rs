//! What a call can fail with: the server's problem documents, and the server not being there.

use std::fmt;

/// An `application/problem+json` answer (RFC 9457), as the server sends for every error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// The problem's type, such as `/problems/not-found` (empty when the answer was not a problem
    /// document).
    pub kind: String,
    /// The status's title.
    pub title: String,
    /// What went wrong, in the server's words.
    pub detail: String,
}

impl Problem {
    /// The problem an error answer describes: its problem document, or for any other body, the
    /// status with the body's text (shortened) as the detail.
    #[must_use]
    pub fn from_answer(status: u16, body: &str) -> Self {
        let document = serde_json::from_str::<serde_json::Value>(body).ok();
        let text = |key: &str| {
            document
                .as_ref()
                .and_then(|document| document.get(key))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let detail = text("detail").unwrap_or_else(|| {
            let body = body.trim();
            if body.is_empty() {
                format!("the server answered {status} with no explanation")
            } else {
                body.chars().take(300).collect()
            }
        });
        Self {
            status,
            kind: text("type").unwrap_or_default(),
            title: text("title").unwrap_or_else(|| reason(status).to_owned()),
            detail,
        }
    }

    /// Whether the route itself does not exist on the server (an older server, or a typo in the
    /// path), as opposed to the thing it names.
    #[must_use]
    pub fn is_unknown_route(&self) -> bool {
        (self.status == 404 && self.detail == "there is no such API route") || self.status == 405
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.detail)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is not an `http(s)://` URL.
    #[error("'{server}' is not a server address: {reason}")]
    InvalidServer {
        /// The address given.
        server: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made, or the request could not be sent.
    #[error("cannot reach the Slipway server at {server}: {reason}")]
    Unreachable {
        /// The server's address.
        server: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The server answered with an error.
    #[error("{0}")]
    Api(Problem),
    /// The server's answer could not be read or was not what the API promises.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// The problem the server answered, if it answered one.
    #[must_use]
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Api(problem) => Some(problem),
            _ => None,
        }
    }

    /// The HTTP status the server answered, if it answered an error.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.problem().map(|problem| problem.status)
    }
}

/// A transport error in a few words for people (`connection refused`, `host not found`, ...).
pub(crate) fn describe_transport(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::ConnectionReset => "the connection was reset".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "the connection failed".to_owned(),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        other => other.to_string(),
    }
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
        assert!(Problem::from_answer(404, r#"{"detail":"there is no such API route"}"#).is_unknown_route());
    }
}
