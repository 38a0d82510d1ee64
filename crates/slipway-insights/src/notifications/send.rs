//! Sending one delivery (blocking: the caller runs it on a blocking thread): HTTP POSTs with
//! `ureq` to Slack, Teams and generic webhooks, e-mail over plain SMTP with `lettre`.
//!
//! What an attempt came to decides what happens next: a 2xx answer (or SMTP's acceptance) is
//! delivered; no answer, a timeout, 408, 429 or a 5xx is tried again; any other answer (a 4xx,
//! a redirect, which is not followed, SMTP's permanent refusals) fails at once. Errors never
//! hold the target (a Slack or Teams URL is a credential) nor the secret.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{SmtpTransport, Transport};
use slipway_store::{DueDelivery, NotificationKind};

use super::render;
use crate::cdevents::STRUCTURED_CONTENT_TYPE;

/// The most bytes of an answer read (and dropped).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// The sender of e-mail when the target names none.
const DEFAULT_FROM: &str = "slipway@localhost";

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Received (with the answer's status or SMTP code).
    Delivered(Option<u16>),
    /// Not received this time; worth trying again.
    Retry(Option<u16>, String),
    /// Refused; not worth trying again.
    Refused(Option<u16>, String),
}

/// An e-mail target: `smtp://HOST:PORT/TO[,TO...][?from=ADDRESS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpTarget {
    /// The SMTP server's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The recipients.
    pub to: Vec<String>,
    /// The sender.
    pub from: String,
}

/// Reads an e-mail target, naming what is wrong.
///
/// # Errors
/// When it is not `smtp://HOST:PORT/TO[,TO...][?from=ADDRESS]` with valid addresses.
pub fn parse_smtp_target(target: &str) -> Result<SmtpTarget, String> {
    let rest = target
        .trim()
        .strip_prefix("smtp://")
        .ok_or("it must be smtp://HOST:PORT/TO@EXAMPLE.COM (plain SMTP; TO may be a comma-separated list)")?;
    let (authority, rest) = rest.split_once('/').ok_or("it names no recipient after HOST:PORT/")?;
    let (host, port) = authority.rsplit_once(':').ok_or("it names no port (HOST:PORT)")?;
    if host.is_empty() {
        return Err("it names no host".to_owned());
    }
    let port: u16 = port.parse().map_err(|_| format!("'{port}' is not a port"))?;
    let (recipients, query) = rest.split_once('?').unwrap_or((rest, ""));
    let to: Vec<String> = recipients.split(',').map(str::trim).filter(|to| !to.is_empty()).map(str::to_owned).collect();
    if to.is_empty() {
        return Err("it names no recipient".to_owned());
    }
    let mut from = DEFAULT_FROM.to_owned();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("from", address)) => address.clone_into(&mut from),
            _ => return Err(format!("'{pair}' is not a parameter it takes (only from=ADDRESS)")),
        }
    }
    for address in to.iter().chain([&from]) {
        address.parse::<Mailbox>().map_err(|error| format!("'{address}' is not an e-mail address: {error}"))?;
    }
    Ok(SmtpTarget { host: host.trim_matches(['[', ']']).to_owned(), port, to, from })
}

/// The HTTP client every delivery is sent with: built once per notifier (its TLS roots and
/// connection pool are reused; building one per delivery cost more than the delivery on
/// loopback), redirects not followed, every attempt bounded by `timeout`.
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION"), " (notifications)"))
        .build()
        .into()
}

/// Makes one attempt at `due` (blocking), HTTP targets with `agent`.
pub(crate) fn send(due: &DueDelivery, agent: &ureq::Agent, timeout: Duration) -> Attempt {
    let attempt = match due.subscription.kind {
        NotificationKind::Slack => {
            let body = render::slack(&render::summarize(&due.document)).to_string();
            post(agent, &due.subscription.target, "application/json", body.into_bytes(), &[])
        }
        NotificationKind::Teams => {
            let body = render::teams(&render::summarize(&due.document)).to_string();
            post(agent, &due.subscription.target, "application/json", body.into_bytes(), &[])
        }
        NotificationKind::Webhook => {
            let body = due.document.to_string().into_bytes();
            let mut headers = vec![("X-Slipway-Delivery".to_owned(), due.delivery.id.to_string())];
            if let Some(secret) = &due.secret {
                headers.push((render::SIGNATURE_HEADER.to_owned(), render::signature(secret.as_bytes(), &body)));
            }
            post(agent, &due.subscription.target, STRUCTURED_CONTENT_TYPE, body, &headers)
        }
        NotificationKind::Email => mail(&due.subscription.target, &due.document, timeout),
    };
    mask(attempt, &due.subscription.target, due.secret.as_deref())
}

/// Takes the target and the secret out of an attempt's error.
fn mask(attempt: Attempt, target: &str, secret: Option<&str>) -> Attempt {
    let clean = |error: String| {
        let mut error = error;
        for hidden in [Some(target.trim()), secret].into_iter().flatten().filter(|hidden| hidden.len() >= 4) {
            error = error.replace(hidden, "***");
        }
        error
    };
    match attempt {
        Attempt::Delivered(status) => Attempt::Delivered(status),
        Attempt::Retry(status, error) => Attempt::Retry(status, clean(error)),
        Attempt::Refused(status, error) => Attempt::Refused(status, clean(error)),
    }
}

fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: Vec<u8>, headers: &[(String, String)]) -> Attempt {
    let mut request =
        ureq::http::Request::builder().method("POST").uri(url.trim()).header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = match request.body(body) {
        Ok(request) => request,
        Err(error) => return Attempt::Refused(None, format!("the request could not be made: {error}")),
    };
    let mut answer = match agent.run(request) {
        Ok(answer) => answer,
        Err(error) => return Attempt::Retry(None, format!("no answer: {error}")),
    };
    let status = answer.status().as_u16();
    // The answer's body is read so the connection ends cleanly; what it says is not kept.
    let _ = answer.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec();
    match status {
        200..=299 => Attempt::Delivered(Some(status)),
        408 | 429 | 500..=599 => Attempt::Retry(Some(status), format!("answered {status}")),
        _ => Attempt::Refused(Some(status), format!("answered {status}")),
    }
}

fn mail(target: &str, document: &serde_json::Value, timeout: Duration) -> Attempt {
    let target = match parse_smtp_target(target) {
        Ok(target) => target,
        Err(error) => return Attempt::Refused(None, format!("the e-mail target is wrong: {error}")),
    };
    let (subject, body) = render::email(&render::summarize(document));
    let mut builder = Message::builder().subject(subject).header(ContentType::TEXT_PLAIN);
    match target.from.parse::<Mailbox>() {
        Ok(from) => builder = builder.from(from),
        Err(error) => return Attempt::Refused(None, format!("the sender is wrong: {error}")),
    }
    for to in &target.to {
        match to.parse::<Mailbox>() {
            Ok(to) => builder = builder.to(to),
            Err(error) => return Attempt::Refused(None, format!("a recipient is wrong: {error}")),
        }
    }
    let message = match builder.body(body) {
        Ok(message) => message,
        Err(error) => return Attempt::Refused(None, format!("the message could not be made: {error}")),
    };
    let transport =
        SmtpTransport::builder_dangerous(target.host.as_str()).port(target.port).timeout(Some(timeout)).build();
    match transport.send(&message) {
        Ok(response) => Attempt::Delivered(response.code().to_string().parse().ok()),
        Err(error) if error.is_permanent() => {
            Attempt::Refused(error.status().and_then(|code| code.to_string().parse().ok()), format!("refused: {error}"))
        }
        Err(error) => {
            Attempt::Retry(error.status().and_then(|code| code.to_string().parse().ok()), format!("not sent: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_targets_are_read() {
        assert_eq!(
            parse_smtp_target("smtp://127.0.0.1:2525/a@example.com, b@example.com?from=ci@example.com"),
            Ok(SmtpTarget {
                host: "127.0.0.1".into(),
                port: 2525,
                to: vec!["a@example.com".into(), "b@example.com".into()],
                from: "ci@example.com".into(),
            })
        );
        assert!(parse_smtp_target("a@example.com").is_err_and(|error| error.contains("smtp://")));
        assert!(parse_smtp_target("smtp://host/a@example.com").is_err_and(|error| error.contains("port")));
        assert!(parse_smtp_target("smtp://host:25/").is_err_and(|error| error.contains("recipient")));
        assert!(
            parse_smtp_target("smtp://host:25/not-an-address").is_err_and(|error| error.contains("not-an-address"))
        );
    }

    #[test]
    fn errors_hide_the_target_and_secret() {
        let attempt = Attempt::Retry(None, "no answer from https://hooks.example/T/B/xyz with key s3cret".into());
        assert_eq!(
            mask(attempt, "https://hooks.example/T/B/xyz", Some("s3cret")),
            Attempt::Retry(None, "no answer from *** with key ***".into())
        );
    }
}
