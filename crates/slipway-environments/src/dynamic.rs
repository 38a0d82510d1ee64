//! The dynamic checks that ask something outside Slipway: invoking a REST API (Azure's "Invoke
//! REST API") and querying metrics (Azure's "Query Azure Monitor alerts", as a Prometheus query
//! that works anywhere). Each is evaluated again at its retry interval until it passes or its
//! timeout ends; one that fails with no retry interval fails at once.
//!
//! Requests go out with the run's variables substituted (`$(Build.BuildId)`), a 30-second limit,
//! and no redirects followed; what is recorded of them has the run's secrets masked.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::InvalidSetting;
use slipway_driver::{Masker, Variables};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an answer is read.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// Azure's default time between evaluations of a dynamic check.
pub const DEFAULT_RETRY_MINUTES: u32 = 5;

/// Invoke REST API's settings (Azure's names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvokeRestApiSettings {
    /// `GET`, `POST` (the default), `PUT`, `PATCH` or `DELETE`.
    #[serde(default = "default_method")]
    pub method: String,
    /// The URL (`http` or `https`), with `$(variables)`.
    pub url: String,
    /// Headers, with `$(variables)` (secrets from variable groups are masked in what is kept).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, with `$(variables)`.
    #[serde(default)]
    pub body: String,
    /// An expression over the JSON answer as `root` that must be true, such as
    /// `eq(root['status'], 'ok')`; without one, any 2xx answer passes.
    #[serde(default)]
    pub success_criteria: String,
    /// Minutes between evaluations; 0 fails the check at the first answer that does not pass.
    #[serde(default = "default_retry")]
    pub retry_interval_minutes: u32,
}

/// Query metrics' settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryMetricsSettings {
    /// The Prometheus server (`http://127.0.0.1:9090`), whose HTTP API is asked.
    pub url: String,
    /// A PromQL query that selects what is wrong, as an alerting rule's does (such as
    /// `rate(http_errors_total[5m]) > 0.01`): the check passes when it returns nothing.
    pub query: String,
    /// Minutes between evaluations; 0 fails the check at the first result that fires.
    #[serde(default = "default_retry")]
    pub retry_interval_minutes: u32,
}

fn default_method() -> String {
    "POST".to_owned()
}

fn default_retry() -> u32 {
    DEFAULT_RETRY_MINUTES
}

fn check_url(field: &'static str, url: &str) -> Result<(), InvalidSetting> {
    let lower = url.trim().to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(InvalidSetting::NotHttpUrl { field, value: url.to_owned() });
    }
    Ok(())
}

impl InvokeRestApiSettings {
    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming the field that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&self.method.to_ascii_uppercase().as_str()) {
            return Err(InvalidSetting::Method(self.method.clone()));
        }
        check_url("url", &self.url)?;
        for name in self.headers.keys() {
            if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(InvalidSetting::HeaderName(name.clone()));
            }
        }
        if !self.success_criteria.trim().is_empty() {
            slipway_expr::parse(&self.success_criteria).map_err(InvalidSetting::SuccessCriteria)?;
        }
        Ok(())
    }
}

impl QueryMetricsSettings {
    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming the field that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_url("url", &self.url)?;
        if self.query.trim().is_empty() {
            return Err(InvalidSetting::EmptyQuery);
        }
        Ok(())
    }
}

/// What one evaluation of a dynamic check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed(String),
    /// It did not pass this time.
    NotYet(String),
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION"), " (checks)"))
        .build()
        .into()
}

/// Calls the REST API (blocking: run it on a blocking thread) and judges its answer.
#[must_use]
pub fn invoke(settings: &InvokeRestApiSettings, variables: &Variables, masker: &Masker) -> Outcome {
    let url = variables.expand(settings.url.trim());
    let method = settings.method.to_ascii_uppercase();
    let mut request = ureq::http::Request::builder().method(method.as_str()).uri(&url);
    for (name, value) in &settings.headers {
        request = request.header(name.as_str(), variables.expand(value));
    }
    let body = variables.expand(&settings.body);
    if !body.is_empty() && !settings.headers.keys().any(|name| name.eq_ignore_ascii_case("content-type")) {
        request = request.header("content-type", "application/json");
    }
    let shown_url = masker.mask(&url);
    let answer = match request.body(body) {
        Ok(request) => agent().run(request),
        Err(error) => return Outcome::NotYet(format!("{method} {shown_url} could not be sent: {error}")),
    };
    let mut answer = match answer {
        Ok(answer) => answer,
        Err(error) => return Outcome::NotYet(masker.mask(&format!("{method} {shown_url} got no answer: {error}"))),
    };
    let status = answer.status().as_u16();
    let text = answer.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_string().unwrap_or_default();
    if !answer.status().is_success() {
        return Outcome::NotYet(format!("{method} {shown_url} answered {status}"));
    }
    if settings.success_criteria.trim().is_empty() {
        return Outcome::Passed(format!("{method} {shown_url} answered {status}"));
    }
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(error) => {
            return Outcome::NotYet(format!(
                "{method} {shown_url} answered {status} with a body that is not JSON ({error}), so the success criteria cannot be evaluated"
            ));
        }
    };
    let mut context = slipway_expr::Object::new();
    context.insert("root", slipway_expr::Value::from_json(&json));
    let verdict = slipway_expr::parse(&settings.success_criteria)
        .map_err(|error| error.to_string())
        .and_then(|expression| slipway_expr::evaluate(&expression, &context).map_err(|error| error.to_string()));
    match verdict {
        Ok(value) if value.is_truthy() => {
            Outcome::Passed(format!("{method} {shown_url} answered {status}; '{}' is true", settings.success_criteria))
        }
        Ok(_) => {
            Outcome::NotYet(format!("{method} {shown_url} answered {status}; '{}' is false", settings.success_criteria))
        }
        Err(error) => Outcome::NotYet(format!("the success criteria '{}' failed: {error}", settings.success_criteria)),
    }
}

/// The answer of Prometheus's `/api/v1/query`.
#[derive(Deserialize)]
struct PrometheusAnswer {
    status: String,
    #[serde(default)]
    data: Option<PrometheusData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusData {
    result_type: String,
    result: serde_json::Value,
}

/// Asks Prometheus (blocking: run it on a blocking thread) and judges the result: nothing
/// returned passes.
#[must_use]
pub fn query_metrics(settings: &QueryMetricsSettings, variables: &Variables, masker: &Masker) -> Outcome {
    let base = variables.expand(settings.url.trim());
    let query = variables.expand(&settings.query);
    let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let shown = masker.mask(&base);
    let body = format!("query={}", form_encode(&query));
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    let answer = match request {
        Ok(request) => agent().run(request),
        Err(error) => return Outcome::NotYet(format!("the query could not be sent to {shown}: {error}")),
    };
    let mut answer = match answer {
        Ok(answer) => answer,
        Err(error) => return Outcome::NotYet(masker.mask(&format!("Prometheus at {shown} did not answer: {error}"))),
    };
    let status = answer.status().as_u16();
    let text = answer.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_string().unwrap_or_default();
    let parsed: PrometheusAnswer = match serde_json::from_str(&text) {
        Ok(parsed) => parsed,
        Err(_) => {
            return Outcome::NotYet(format!("Prometheus at {shown} answered {status}, not with its query API's JSON"));
        }
    };
    if parsed.status != "success" {
        return Outcome::NotYet(format!(
            "Prometheus at {shown} refused '{query}': {}",
            parsed.error.unwrap_or_else(|| format!("status {status}"))
        ));
    }
    let Some(data) = parsed.data else {
        return Outcome::NotYet(format!("Prometheus at {shown} answered without data"));
    };
    let fired = match (data.result_type.as_str(), &data.result) {
        ("vector" | "matrix", serde_json::Value::Array(items)) => items.len(),
        // A scalar or string result is one value: it fires unless it is zero.
        ("scalar", serde_json::Value::Array(pair)) => {
            usize::from(pair.get(1).and_then(serde_json::Value::as_str).is_some_and(|value| value != "0"))
        }
        _ => 1,
    };
    if fired == 0 {
        Outcome::Passed(format!("'{query}' returned nothing"))
    } else {
        Outcome::NotYet(format!("'{query}' fires: {fired} series returned"))
    }
}

/// Percent-encodes a form value.
fn form_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
