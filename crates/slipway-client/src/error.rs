//! What a call can fail with: the server's problem documents, and the server not being there.

use slipway_api::Problem;

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
    /// The server answered with an error (a problem document, RFC 9457).
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

    /// Whether trying again later may work: the server could not be reached, failed (5xx), timed
    /// the request out (408) or asked to be called less often (429).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Api(problem) => problem.status >= 500 || problem.status == 429 || problem.status == 408,
            Self::InvalidServer { .. } | Self::Protocol(_) => false,
        }
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
    fn what_is_worth_trying_again() {
        let api = |status| ClientError::Api(Problem { status, ..Problem::default() });
        assert!(ClientError::Unreachable { server: "s".into(), reason: "r".into() }.is_transient());
        for status in [500, 502, 503, 408, 429] {
            assert!(api(status).is_transient(), "{status}");
        }
        for status in [400, 401, 404, 409, 426] {
            assert!(!api(status).is_transient(), "{status}");
        }
        assert!(!ClientError::Protocol("x".into()).is_transient());
    }
}
