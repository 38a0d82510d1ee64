//! Reading an analysis template from YAML, with every mistake in it named at once, each at its
//! `file:line:col` (the spans `slipway-yaml` keeps), saying what was expected and how to fix it.
//!
//! Diagnostic codes: `A0001` a value of the wrong shape, `A0002` an unknown key, `A0003`
//! something of Argo's that Slipway does not support yet, `A0004` a missing key, `A0005` a bad
//! duration, `A0006` a bad number, `A0007` a metric with no provider or two, `A0008` `count`,
//! `interval` and the limits that do not fit together, `A0009` two metrics of one name, `A0010` a
//! condition that is not a valid expression, `A0011` an argument without a value or a
//! `{{...}}` that cannot be filled in, `A0012` a bad `apiVersion`, `kind`, `method` or router
//! metric. YAML's own errors keep their `Y` codes.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use slipway_diagnostics::{Diagnostic, SourceMap, Span, render_all};
use slipway_yaml::Node;

use super::{AnalysisTemplate, Arg, MetricSpec, Provider, RouterMetric, condition, did_you_mean_text, duration};

const SHAPE: &str = "A0001";
const UNKNOWN_KEY: &str = "A0002";
const UNSUPPORTED: &str = "A0003";
const MISSING: &str = "A0004";
const BAD_DURATION: &str = "A0005";
const BAD_NUMBER: &str = "A0006";
const PROVIDER: &str = "A0007";
const SCHEDULE: &str = "A0008";
const DUPLICATE: &str = "A0009";
const CONDITION: &str = "A0010";
const ARGUMENT: &str = "A0011";
const BAD_VALUE: &str = "A0012";

/// The metric keys Slipway reads.
const METRIC_KEYS: &[&str] = &[
    "name",
    "interval",
    "count",
    "initialDelay",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "provider",
];

/// The providers Slipway measures with.
const PROVIDERS: &[&str] = &["prometheus", "web", "slipway", "judge"];

/// Argo's other providers.
const UNSUPPORTED_PROVIDERS: &[&str] = &[
    "datadog",
    "newRelic",
    "wavefront",
    "kayenta",
    "cloudWatch",
    "graphite",
    "influxdb",
    "skywalking",
    "job",
    "plugin",
];

/// A template that could not be read: every mistake found in it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct TemplateError {
    name: String,
    text: String,
    diagnostics: Vec<Diagnostic>,
}

impl TemplateError {
    /// Each mistake, in the order of the file.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The file name the mistakes are reported in.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mistakes as Slipway renders diagnostics for people: each with its source line and a
    /// caret, then a count.
    #[must_use]
    pub fn render(&self) -> String {
        let mut sources = SourceMap::new();
        sources.add(self.name.clone(), self.text.clone());
        render_all(&self.diagnostics, &sources)
    }
}

/// One line per mistake: `name:line:col: message` (with its hint in parentheses).
impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            match diagnostic.span {
                Some(span) => {
                    write!(f, "{}:{}:{}: {}", self.name, span.start.line, span.start.column, diagnostic.message)?
                }
                None => write!(f, "{}: {}", self.name, diagnostic.message)?,
            }
            if let Some(hint) = &diagnostic.hint {
                write!(f, " ({hint})")?;
            }
        }
        Ok(())
    }
}

/// Reads a template from YAML text: either Argo's whole object (`apiVersion:
/// argoproj.io/v1alpha1`, `kind: AnalysisTemplate` or `ClusterAnalysisTemplate`, `metadata`,
/// `spec: {args, metrics}`) or just the spec (`{args, metrics}`).
///
/// `args` override the values of the template's arguments (names the template does not declare
/// are ignored, as Argo does when a rollout passes its arguments to several templates); then
/// every `{{args.NAME}}` (spaces inside the braces allowed) in every value of a metric is
/// replaced, as Argo does over the whole metric. An argument left without a value is an error,
/// and so is a `{{...}}` that names no argument.
///
/// `name` is the file name used in diagnostics.
///
/// # Errors
///
/// Every mistake found, each at its place: see the module's documentation for the list.
pub fn parse_template(
    text: &str,
    name: &str,
    args: &BTreeMap<String, String>,
) -> Result<AnalysisTemplate, TemplateError> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let fail = |diagnostics| TemplateError { name: name.to_owned(), text: text.to_owned(), diagnostics };
    let root = slipway_yaml::load(text, file).map_err(fail)?;
    let mut reader = Reader::default();
    let template = reader.document(&root, args);
    match template {
        Some(template) if reader.errors.is_empty() => Ok(template),
        _ => {
            let mut errors = reader.errors;
            if errors.is_empty() {
                errors.push(Diagnostic::error(SHAPE, "the template could not be read", Some(root.span)));
            }
            errors.sort_by_key(|diagnostic| diagnostic.span.map(|span| (span.start.line, span.start.column)));
            Err(fail(errors))
        }
    }
}

#[derive(Default)]
struct Reader {
    errors: Vec<Diagnostic>,
    /// The arguments' values once they are known; `{{args.NAME}}` is replaced only then (in the
    /// metrics, not in `args` itself). `None` as a value: declared without one (already reported).
    args: Option<BTreeMap<String, Option<String>>>,
}

impl Reader {
    fn error(&mut self, code: &'static str, span: Span, message: String) {
        self.errors.push(Diagnostic::error(code, message, Some(span)));
    }

    fn error_with_hint(&mut self, code: &'static str, span: Span, message: String, hint: Option<String>) {
        let mut diagnostic = Diagnostic::error(code, message, Some(span));
        diagnostic.hint = hint;
        self.errors.push(diagnostic);
    }

    fn document(&mut self, root: &Node, overrides: &BTreeMap<String, String>) -> Option<AnalysisTemplate> {
        if root.is_null() {
            self.error(
                SHAPE,
                root.span,
                "the file is empty: expected an analysis template, `metrics:` with at least one metric (or Argo's whole \
                 `AnalysisTemplate`)"
                    .to_owned(),
            );
            return None;
        }
        self.mapping(root, "an analysis template")?;
        let whole = ["apiVersion", "kind", "metadata", "spec"].into_iter().any(|key| root.get(key).is_some());
        if !whole {
            return self.spec(root, "an analysis template", overrides);
        }
        self.keys(root, "an `AnalysisTemplate`", &["apiVersion", "kind", "metadata", "spec"], &[]);
        match root.get("apiVersion") {
            None => self.missing(root, "apiVersion", "an `AnalysisTemplate`", "apiVersion: argoproj.io/v1alpha1"),
            Some(node) => {
                if let Some(version) = self.text(node, "apiVersion", "a string")
                    && version != "argoproj.io/v1alpha1"
                {
                    self.error(
                        BAD_VALUE,
                        node.span,
                        format!("`apiVersion` must be `argoproj.io/v1alpha1`, found `{version}`"),
                    );
                }
            }
        }
        match root.get("kind") {
            None => self.missing(root, "kind", "an `AnalysisTemplate`", "kind: AnalysisTemplate"),
            Some(node) => {
                if let Some(kind) = self.text(node, "kind", "a string")
                    && kind != "AnalysisTemplate"
                    && kind != "ClusterAnalysisTemplate"
                {
                    self.error(
                        BAD_VALUE,
                        node.span,
                        format!("`kind` must be `AnalysisTemplate` or `ClusterAnalysisTemplate`, found `{kind}`"),
                    );
                }
            }
        }
        if let Some(metadata) = root.get("metadata") {
            self.mapping(metadata, "`metadata`");
        }
        let Some(spec) = root.get("spec") else {
            self.missing(root, "spec", "an `AnalysisTemplate`", "spec: {metrics: [...]}");
            return None;
        };
        self.spec(spec, "`spec`", overrides)
    }

    fn spec(&mut self, node: &Node, what: &str, overrides: &BTreeMap<String, String>) -> Option<AnalysisTemplate> {
        self.mapping(node, what)?;
        self.keys(
            node,
            what,
            &["args", "metrics"],
            &[
                ("dryRun", "remove it: every metric counts toward the result"),
                ("measurementRetention", "remove it: Slipway does not drop measurements"),
                ("templates", "copy the other templates' metrics into this one"),
            ],
        );
        let mut args = node.get("args").filter(|node| !node.is_null()).map(|node| self.args(node)).unwrap_or_default();
        for (arg, span, reported) in &mut args {
            if let Some(value) = overrides.get(&arg.name) {
                arg.value = Some(value.clone());
            }
            if arg.value.is_none() && !*reported {
                self.error(
                    ARGUMENT,
                    *span,
                    format!(
                        "argument `{name}` has no value: give it a `value` here, or pass a value for `{name}` when the \
                         analysis runs",
                        name = arg.name
                    ),
                );
            }
        }
        self.args = Some(args.iter().map(|(arg, _, _)| (arg.name.clone(), arg.value.clone())).collect());
        let Some(metrics) = node.get("metrics") else {
            self.missing(node, "metrics", what, "metrics: [{name: success-rate, provider: ...}]");
            return None;
        };
        let Some(items) = metrics.as_sequence() else {
            self.error(
                SHAPE,
                metrics.span,
                format!("`metrics` must be a list of metrics, found {}", metrics.kind_name()),
            );
            return None;
        };
        if items.is_empty() {
            self.error(SHAPE, metrics.span, "`metrics` is empty: an analysis needs at least one metric".to_owned());
        }
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        let mut specs = Vec::new();
        for item in items {
            let (name, spec) = self.metric(item);
            if let Some((name, span)) = name {
                if let Some(first) = names.get(&name) {
                    self.error(
                        DUPLICATE,
                        span,
                        format!(
                            "a metric named `{name}` is already defined at line {}: metric names must be unique",
                            first.start.line
                        ),
                    );
                } else {
                    names.insert(name, span);
                }
            }
            specs.extend(spec);
        }
        Some(AnalysisTemplate { args: args.into_iter().map(|(arg, _, _)| arg).collect(), metrics: specs })
    }

    /// The `args` list: each argument, where it is, and whether a mistake about its value was
    /// already reported.
    fn args(&mut self, node: &Node) -> Vec<(Arg, Span, bool)> {
        let Some(items) = node.as_sequence() else {
            self.error(
                SHAPE,
                node.span,
                format!(
                    "`args` must be a list of `- name: NAME` (with an optional `value`), found {}",
                    node.kind_name()
                ),
            );
            return Vec::new();
        };
        let mut args: Vec<(Arg, Span, bool)> = Vec::new();
        for item in items {
            if self.mapping(item, "an argument").is_none() {
                continue;
            }
            self.keys(
                item,
                "an argument",
                &["name", "value"],
                &[("valueFrom", "give `value`, or pass the value when the analysis runs")],
            );
            let Some(name_node) = item.get("name") else {
                self.missing(item, "name", "an argument", "name: service-name");
                continue;
            };
            let Some(name) = self.text(name_node, "name", "a string") else { continue };
            if name.is_empty() {
                self.error(SHAPE, name_node.span, "an argument's `name` must not be empty".to_owned());
                continue;
            }
            let value = match item.get("value") {
                Some(node) if !node.is_null() => self.text(node, "value", "a string"),
                _ => None,
            };
            if let Some((_, first, _)) = args.iter().find(|(arg, _, _)| arg.name == name) {
                let line = first.start.line;
                self.error(DUPLICATE, name_node.span, format!("argument `{name}` is already declared at line {line}"));
                continue;
            }
            let reported = item.get("valueFrom").is_some()
                || item.get("value").is_some_and(|node| !node.is_null() && value.is_none());
            args.push((Arg { name, value }, name_node.span, reported));
        }
        args
    }

    /// One metric: its name (and where it is) for the duplicate check, and the metric when it has
    /// no mistake.
    fn metric(&mut self, node: &Node) -> (Option<(String, Span)>, Option<MetricSpec>) {
        if self.mapping(node, "a metric").is_none() {
            return (None, None);
        }
        let before = self.errors.len();
        self.keys(
            node,
            "a metric",
            METRIC_KEYS,
            &[("consecutiveSuccessLimit", "remove it, and use `count` with `failureLimit`")],
        );
        let name = match node.get("name") {
            None => {
                self.missing(node, "name", "a metric", "name: success-rate");
                None
            }
            Some(name_node) => match self.text(name_node, "name", "a string") {
                Some(name) if name.is_empty() => {
                    self.error(SHAPE, name_node.span, "a metric's `name` must not be empty".to_owned());
                    None
                }
                Some(name) => Some((name, name_node.span)),
                None => None,
            },
        };
        let interval = node.get("interval").and_then(|node| self.duration(node, "interval"));
        if let Some(interval) = interval
            && interval.is_zero()
            && let Some(node) = node.get("interval")
        {
            self.error(BAD_DURATION, node.span, "`interval` must be longer than `0s`, found `0s`".to_owned());
        }
        let count = node.get("count").and_then(|node| self.number(node, "count", 1, "a whole number, at least 1"));
        let initial_delay = node.get("initialDelay").and_then(|node| self.duration(node, "initialDelay"));
        let success_condition = node.get("successCondition").and_then(|node| self.condition(node, "successCondition"));
        let failure_condition = node.get("failureCondition").and_then(|node| self.condition(node, "failureCondition"));
        let failure_limit = self.limit(node, "failureLimit", 0);
        let inconclusive_limit = self.limit(node, "inconclusiveLimit", 0);
        let consecutive_error_limit = self.limit(node, "consecutiveErrorLimit", 4);
        let provider = match node.get("provider") {
            None => {
                self.missing(node, "provider", "a metric", "provider: {prometheus: {address: ..., query: ...}}");
                None
            }
            Some(provider) => self.provider(provider),
        };
        self.schedule(node, interval, count, failure_limit, inconclusive_limit);
        if self.errors.len() > before {
            return (name, None);
        }
        let spec = || {
            Some(MetricSpec {
                name: name.as_ref()?.0.clone(),
                interval,
                count,
                initial_delay: initial_delay.unwrap_or(Duration::ZERO),
                success_condition,
                failure_condition,
                failure_limit: failure_limit?,
                inconclusive_limit: inconclusive_limit?,
                consecutive_error_limit: consecutive_error_limit?,
                provider: provider?,
            })
        };
        let spec = spec();
        (name, spec)
    }

    /// `count`, `interval` and the limits together. Argo's rules (`ValidateMetric`): `count` > 1
    /// needs an `interval`; `count` must be at least `failureLimit` and `inconclusiveLimit`.
    /// Slipway's: an `interval` needs a `count`, because an analysis in a pipeline step must end
    /// (Argo refuses the same in a rollout's step: "metric ... runs indefinitely").
    fn schedule(
        &mut self,
        node: &Node,
        interval: Option<Duration>,
        count: Option<u32>,
        failure_limit: Option<u32>,
        inconclusive_limit: Option<u32>,
    ) {
        if let Some((key, _)) = node.entry("interval")
            && interval.is_some()
            && node.get("count").is_none()
        {
            self.error(
                SCHEDULE,
                key.span,
                "`interval` without `count` measures until the analysis is stopped, but an analysis in a pipeline step \
                 must end: give `count`, the number of measurements to take (e.g. `count: 5`)"
                    .to_owned(),
            );
        }
        let Some((key, _)) = node.entry("count") else { return };
        let Some(count) = count else { return };
        if count > 1 && node.get("interval").is_none() {
            self.error(
                SCHEDULE,
                key.span,
                format!(
                    "`count: {count}` takes {count} measurements, which needs an `interval` between them: add e.g. \
                     `interval: 1m`"
                ),
            );
        }
        for (limit, name) in [(failure_limit, "failureLimit"), (inconclusive_limit, "inconclusiveLimit")] {
            if let Some(limit) = limit
                && count < limit
            {
                self.error(
                    SCHEDULE,
                    key.span,
                    format!(
                        "`count` ({count}) must be at least `{name}` ({limit}), as Argo requires: raise `count` or \
                         lower `{name}`"
                    ),
                );
            }
        }
    }

    /// `failureLimit`, `inconclusiveLimit`, `consecutiveErrorLimit`: a whole number (Argo writes
    /// them as integers or strings), or the default when absent. `None` after a mistake.
    fn limit(&mut self, metric: &Node, key: &str, default: u32) -> Option<u32> {
        let Some(node) = metric.get(key) else { return Some(default) };
        if key == "failureLimit" && node.as_str().map(str::trim) == Some("-1") {
            self.error(
                UNSUPPORTED,
                node.span,
                "`failureLimit: -1` turns the limit off in Argo, for use with `consecutiveSuccessLimit`, which is not \
                 supported yet: give a whole number (0 or more)"
                    .to_owned(),
            );
            return None;
        }
        self.number(node, key, 0, "a whole number (0 or more)")
    }

    /// A condition: an expr-lang expression that parses and calls only known functions. An empty
    /// one is no condition, as in Argo.
    fn condition(&mut self, node: &Node, key: &str) -> Option<String> {
        let text = self.text(node, key, "an expression such as `result[0] >= 0.95`")?;
        if text.trim().is_empty() {
            return None;
        }
        if let Err(reason) = condition::check(&text) {
            self.error(CONDITION, node.span, format!("`{key}` {reason}"));
            return None;
        }
        Some(text)
    }

    fn provider(&mut self, node: &Node) -> Option<Provider> {
        let entries = self.mapping(node, "`provider`")?;
        let mut named: Vec<&Node> = Vec::new();
        for (key, _) in entries {
            let Some(name) = key.as_str() else {
                self.error(SHAPE, key.span, "the keys of `provider` must be provider names".to_owned());
                continue;
            };
            if PROVIDERS.contains(&name) {
                named.push(key);
            } else if UNSUPPORTED_PROVIDERS.contains(&name) {
                named.push(key);
                self.error(
                    UNSUPPORTED,
                    key.span,
                    format!(
                        "the `{name}` provider is not supported yet: Slipway measures with `prometheus`, `web`, \
                         `slipway` (its router's metrics) or `judge` (its statistical judge)"
                    ),
                );
            } else {
                let hint =
                    slipway_diagnostics::did_you_mean(name, PROVIDERS.iter().chain(UNSUPPORTED_PROVIDERS).copied())
                        .map(|candidate| format!("did you mean `{candidate}`?"));
                self.error_with_hint(
                    UNKNOWN_KEY,
                    key.span,
                    format!("unknown provider `{name}`: the providers are `prometheus`, `web`, `slipway` and `judge`"),
                    hint,
                );
            }
        }
        match named.as_slice() {
            [] => {
                if entries.is_empty() {
                    self.error(
                        PROVIDER,
                        node.span,
                        "`provider` names no provider: give one of `prometheus`, `web`, `slipway` or `judge`"
                            .to_owned(),
                    );
                }
                None
            }
            [key] => {
                let value = node.get(key.as_str()?)?;
                match key.as_str()? {
                    "prometheus" => self.prometheus(value),
                    "web" => self.web(value),
                    "slipway" => self.slipway(value),
                    "judge" => self.judge(value),
                    _ => None,
                }
            }
            [first, second, ..] => {
                // Each one's own mistakes are named too.
                for key in &named {
                    let (Some(name), Some(value)) = (key.as_str(), key.as_str().and_then(|name| node.get(name))) else {
                        continue;
                    };
                    match name {
                        "prometheus" => drop(self.prometheus(value)),
                        "web" => drop(self.web(value)),
                        "slipway" => drop(self.slipway(value)),
                        "judge" => drop(self.judge(value)),
                        _ => {}
                    }
                }
                let (first, second) = (first.as_str().unwrap_or_default(), second.as_str().unwrap_or_default());
                self.error(
                    PROVIDER,
                    node.span,
                    format!(
                        "a metric has one provider, but `provider` names {}: `{first}` and `{second}`; keep one (or make \
                         another metric)",
                        named.len()
                    ),
                );
                None
            }
        }
    }

    fn prometheus(&mut self, node: &Node) -> Option<Provider> {
        self.mapping(node, "`prometheus`")?;
        let before = self.errors.len();
        self.keys(
            node,
            "`prometheus`",
            &["address", "query", "timeout"],
            &[
                ("authentication", "remove it"),
                ("insecure", "remove it (TLS is always verified)"),
                ("headers", "remove it"),
                ("rangeQuery", "use an instant query instead (e.g. `avg_over_time(...[5m])`)"),
            ],
        );
        let address = self.required_text(node, "address", "`prometheus`", "address: http://prometheus:9090");
        let query = self.required_text(node, "query", "`prometheus`", "query: sum(rate(http_requests_total[5m]))");
        let timeout = node
            .get("timeout")
            .and_then(|node| {
                self.number(node, "timeout", 1, "a whole number of seconds, at least 1 (e.g. `timeout: 30`)")
            })
            .map(|seconds| Duration::from_secs(u64::from(seconds)));
        if self.errors.len() > before {
            return None;
        }
        Some(Provider::Prometheus { address: address?, query: query?, timeout })
    }

    fn web(&mut self, node: &Node) -> Option<Provider> {
        self.mapping(node, "`web`")?;
        let before = self.errors.len();
        self.keys(
            node,
            "`web`",
            &["url", "method", "headers", "body", "jsonPath", "timeoutSeconds"],
            &[
                (
                    "jsonBody",
                    "put the JSON in `body` as a string instead, with a `Content-Type: application/json` header",
                ),
                ("insecure", "remove it (TLS is always verified)"),
                ("authentication", "send a token in `headers` instead"),
            ],
        );
        let url = self.required_text(node, "url", "`web`", "url: https://example.com/health");
        let method = match node.get("method") {
            None => Some("GET".to_owned()),
            Some(method_node) => match self.text(method_node, "method", "a string") {
                Some(method) if ["GET", "POST", "PUT"].contains(&method.as_str()) => Some(method),
                Some(method) => {
                    let upper = method.to_ascii_uppercase();
                    let hint = ["GET", "POST", "PUT"].contains(&upper.as_str()).then(|| format!("write `{upper}`"));
                    self.error_with_hint(
                        BAD_VALUE,
                        method_node.span,
                        format!("`method` must be `GET`, `POST` or `PUT`, found `{method}`"),
                        hint,
                    );
                    None
                }
                None => None,
            },
        };
        let headers = node.get("headers").map(|node| self.headers(node)).unwrap_or_default();
        let body = node.get("body").and_then(|node| self.text(node, "body", "a string"));
        if let (Some(_), Some(method), Some(body_node)) = (&body, &method, node.get("body"))
            && method == "GET"
        {
            self.error(
                BAD_VALUE,
                body_node.span,
                "a `body` is sent only with `method: POST` or `method: PUT` (Argo refuses a body with `GET`): add \
                 `method: POST`"
                    .to_owned(),
            );
        }
        let json_path =
            node.get("jsonPath").and_then(|node| self.text(node, "jsonPath", "a string such as `{$.data.ok}`"));
        let timeout = node
            .get("timeoutSeconds")
            .and_then(|node| {
                self.number(node, "timeoutSeconds", 0, "a whole number of seconds (e.g. `timeoutSeconds: 20`)")
            })
            .filter(|seconds| *seconds > 0)
            .map(|seconds| Duration::from_secs(u64::from(seconds)));
        if self.errors.len() > before {
            return None;
        }
        Some(Provider::Web { url: url?, method: method?, headers, body, json_path, timeout })
    }

    fn headers(&mut self, node: &Node) -> Vec<(String, String)> {
        let Some(items) = node.as_sequence() else {
            self.error(
                SHAPE,
                node.span,
                format!("`headers` must be a list of `- key: NAME` and `value: VALUE`, found {}", node.kind_name()),
            );
            return Vec::new();
        };
        let mut headers = Vec::new();
        for item in items {
            if self.mapping(item, "a header").is_none() {
                continue;
            }
            self.keys(item, "a header", &["key", "value"], &[]);
            let key = self.required_text(item, "key", "a header", "key: Authorization");
            let value = match item.get("value") {
                None => {
                    self.missing(item, "value", "a header", "value: Bearer {{args.token}}");
                    None
                }
                Some(node) => self.text(node, "value", "a string"),
            };
            if let (Some(key), Some(value)) = (key, value) {
                headers.push((key, value));
            }
        }
        headers
    }

    fn slipway(&mut self, node: &Node) -> Option<Provider> {
        self.mapping(node, "`slipway`")?;
        let before = self.errors.len();
        self.keys(node, "`slipway`", &["service", "slot", "metric", "window"], &[]);
        let service = node.get("service").and_then(|node| self.text(node, "service", "a string"));
        let slot = self.required_text(node, "slot", "`slipway`", "slot: canary");
        let names = RouterMetric::ALL.map(RouterMetric::name);
        let metric = match node.get("metric") {
            None => {
                self.missing(node, "metric", "`slipway`", "metric: success-rate");
                None
            }
            Some(metric_node) => self.text(metric_node, "metric", "a string").and_then(|name| {
                let metric = RouterMetric::from_name(&name);
                if metric.is_none() {
                    let hint = slipway_diagnostics::did_you_mean(&name, names).map(|c| format!("did you mean `{c}`?"));
                    self.error_with_hint(
                        BAD_VALUE,
                        metric_node.span,
                        format!("`metric` must be one of `{}`, found `{name}`", names.join("`, `")),
                        hint,
                    );
                }
                metric
            }),
        };
        let window = node.get("window").and_then(|node| self.duration(node, "window"));
        if let (Some(window), Some(window_node)) = (window, node.get("window"))
            && window.is_zero()
        {
            self.error(BAD_DURATION, window_node.span, "`window` must be longer than `0s`, found `0s`".to_owned());
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Provider::Slipway { service, slot: slot?, metric: metric?, window })
    }

    fn judge(&mut self, node: &Node) -> Option<Provider> {
        self.mapping(node, "`judge`")?;
        let before = self.errors.len();
        self.keys(node, "`judge`", &["service", "canary", "baseline", "metrics", "window", "config"], &[]);
        let service = node.get("service").and_then(|node| self.text(node, "service", "a string"));
        let canary = self.required_text(node, "canary", "`judge`", "canary: canary");
        let baseline = self.required_text(node, "baseline", "`judge`", "baseline: baseline");
        let names = RouterMetric::ALL.map(RouterMetric::name);
        let mut metrics = Vec::new();
        match node.get("metrics") {
            None => metrics.extend([RouterMetric::ErrorRate, RouterMetric::LatencyP99]),
            Some(list) => match list.as_sequence() {
                Some(items) if !items.is_empty() => {
                    for item in items {
                        let Some(name) = self.text(item, "metrics", "a router metric's name") else { continue };
                        match RouterMetric::from_name(&name) {
                            Some(metric) if !metrics.contains(&metric) => metrics.push(metric),
                            Some(_) => self.error(BAD_VALUE, item.span, format!("`{name}` is listed twice")),
                            None => {
                                let hint = slipway_diagnostics::did_you_mean(&name, names)
                                    .map(|c| format!("did you mean `{c}`?"));
                                self.error_with_hint(
                                    BAD_VALUE,
                                    item.span,
                                    format!("`metrics` lists router metrics: `{}`, found `{name}`", names.join("`, `")),
                                    hint,
                                );
                            }
                        }
                    }
                }
                _ => self.error(
                    SHAPE,
                    list.span,
                    "`metrics` must be a list of router metrics, such as `[error-rate, latency-p99]`".to_owned(),
                ),
            },
        }
        let window = node.get("window").and_then(|node| self.duration(node, "window"));
        if let (Some(window), Some(window_node)) = (window, node.get("window"))
            && window < Duration::from_secs(5)
        {
            self.error(
                BAD_DURATION,
                window_node.span,
                "`window` must be at least `5s`: the judge compares one sample per second".to_owned(),
            );
        }
        let config = match node.get("config") {
            None => Some(crate::judge::JudgeConfig::default()),
            Some(config) => match serde_json::from_value::<crate::judge::JudgeConfig>(yaml_to_json(config)) {
                Ok(parsed) => match parsed.validate() {
                    Ok(()) => Some(parsed),
                    Err(reason) => {
                        self.error(BAD_VALUE, config.span, format!("the judge's `config`: {reason}"));
                        None
                    }
                },
                Err(error) => {
                    self.error(
                        SHAPE,
                        config.span,
                        format!(
                            "the judge's `config` is not one: {error} (it has `metrics` (per metric `direction`: \
                             increase, decrease or either, `critical`, `mustHaveData`, `group`), `groupWeights`, \
                             `pass`, `marginal`, `confidence` and `tolerance`)"
                        ),
                    );
                    None
                }
            },
        };
        if self.errors.len() > before {
            return None;
        }
        let mut config = config?;
        // Which way is worse, where the configuration does not say.
        for metric in &metrics {
            let direction = match metric {
                RouterMetric::SuccessRate => crate::judge::Direction::Decrease,
                RouterMetric::RequestRate => crate::judge::Direction::Either,
                _ => crate::judge::Direction::Increase,
            };
            config
                .metrics
                .entry(metric.name().to_owned())
                .or_insert(crate::judge::MetricConfig { direction, ..crate::judge::MetricConfig::default() });
        }
        Some(Provider::Judge { service, canary: canary?, baseline: baseline?, metrics, window, config })
    }

    // Helpers.

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        let entries = node.as_mapping();
        if entries.is_none() {
            self.error(SHAPE, node.span, format!("{what} must be a mapping, found {}", node.kind_name()));
        }
        entries
    }

    /// Reports each key of a mapping that is not `allowed`: one of Argo's that Slipway does not
    /// support yet (with advice), or unknown (with the keys there are).
    fn keys(&mut self, node: &Node, what: &str, allowed: &[&str], unsupported: &[(&str, &str)]) {
        let Some(entries) = node.as_mapping() else { return };
        for (key, _) in entries {
            let Some(name) = key.as_str() else {
                self.error(SHAPE, key.span, format!("the keys of {what} must be names, found {}", key.kind_name()));
                continue;
            };
            if allowed.contains(&name) {
                continue;
            }
            if let Some((_, advice)) = unsupported.iter().find(|(key, _)| *key == name) {
                self.error(UNSUPPORTED, key.span, format!("`{name}` is not supported yet: {advice}"));
                continue;
            }
            let hint = slipway_diagnostics::did_you_mean(name, allowed.iter().copied())
                .map(|c| format!("did you mean `{c}`?"));
            self.error_with_hint(
                UNKNOWN_KEY,
                key.span,
                format!("unknown key `{name}` in {what}: the keys are `{}`", allowed.join("`, `")),
                hint,
            );
        }
    }

    fn missing(&mut self, node: &Node, key: &str, what: &str, example: &str) {
        self.error(MISSING, node.span, format!("{what} needs `{key}`: add e.g. `{example}`"));
    }

    /// A required, non-empty string.
    fn required_text(&mut self, node: &Node, key: &str, what: &str, example: &str) -> Option<String> {
        let Some(value) = node.get(key) else {
            self.missing(node, key, what, example);
            return None;
        };
        let text = self.text(value, key, "a string")?;
        if text.trim().is_empty() {
            self.error(SHAPE, value.span, format!("`{key}` must not be empty: give e.g. `{example}`"));
            return None;
        }
        Some(text)
    }

    /// A scalar's text (a number or a boolean as written), with `{{args.NAME}}` replaced inside
    /// metrics.
    fn text(&mut self, node: &Node, key: &str, expected: &str) -> Option<String> {
        let scalar = match node.as_scalar() {
            Some(scalar) if !node.is_null() => scalar,
            _ => {
                self.error(SHAPE, node.span, format!("`{key}` must be {expected}, found {}", node.kind_name()));
                return None;
            }
        };
        if self.args.is_some() { self.substitute(&scalar.text, node.span) } else { Some(scalar.text.clone()) }
    }

    /// Replaces each `{{args.NAME}}` as Argo does (its `ResolveArgs`: the text between `{{` and
    /// the next `}}`, trimmed; anything that is not a known argument is an error).
    fn substitute(&mut self, text: &str, span: Span) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut complete = true;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                self.error(ARGUMENT, span, "`{{` is not closed by `}}`: write `{{args.NAME}}`".to_owned());
                return None;
            };
            let tag = after[..end].trim();
            rest = &after[end + 2..];
            let values = self.args.as_ref()?;
            let Some(name) = tag.strip_prefix("args.") else {
                self.error(
                    ARGUMENT,
                    span,
                    format!(
                        "`{{{{{tag}}}}}` cannot be filled in: only `{{{{args.NAME}}}}` is replaced in an analysis \
                         template"
                    ),
                );
                complete = false;
                continue;
            };
            match values.get(name) {
                Some(Some(value)) => out.push_str(value),
                // Declared without a value: reported where it is declared.
                Some(None) => complete = false,
                None => {
                    let declared: Vec<&str> = values.keys().map(String::as_str).collect();
                    let list = if declared.is_empty() {
                        "it declares none".to_owned()
                    } else {
                        format!("it declares `{}`", declared.join("`, `"))
                    };
                    let hint = did_you_mean_text(name, declared.iter().copied());
                    self.error(
                        ARGUMENT,
                        span,
                        format!(
                            "`{{{{{tag}}}}}` names no argument of the template ({list}){hint}: declare it under `args` \
                             as `- name: {name}`"
                        ),
                    );
                    complete = false;
                }
            }
        }
        out.push_str(rest);
        complete.then_some(out)
    }

    /// A whole number, written as an integer or a string holding one (Argo's `IntOrString`).
    fn number(&mut self, node: &Node, key: &str, min: u32, expected: &str) -> Option<u32> {
        let text = self.text(node, key, expected)?;
        match text.trim().parse::<u32>() {
            Ok(number) if number >= min => Some(number),
            _ => {
                self.error(BAD_NUMBER, node.span, format!("`{key}` must be {expected}, found `{text}`"));
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, key: &str) -> Option<Duration> {
        let text = self.text(node, key, "a duration such as `30s`, `5m` or `1h`")?;
        match duration::parse(text.trim()) {
            Ok(duration) => Some(duration),
            Err(reason) => {
                self.error(
                    BAD_DURATION,
                    node.span,
                    format!("`{key}` must be a duration such as `30s`, `5m` or `1h`, found `{text}`: {reason}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// YAML text (or JSON, which is YAML) read with a span on every node, a YAML mistake named at its
/// place.
///
/// # Errors
/// The YAML's mistakes, rendered as the template's are.
pub(crate) fn load_yaml(text: &str, name: &str) -> Result<Node, TemplateError> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    slipway_yaml::load(text, file).map_err(|diagnostics| TemplateError {
        name: name.to_owned(),
        text: text.to_owned(),
        diagnostics,
    })
}

/// A YAML node as JSON (under the core schema), for settings read with serde.
pub(crate) fn yaml_to_json(node: &Node) -> serde_json::Value {
    if let Some(items) = node.as_sequence() {
        return serde_json::Value::Array(items.iter().map(yaml_to_json).collect());
    }
    if let Some(entries) = node.as_mapping() {
        return serde_json::Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.as_str().unwrap_or_default().to_owned(), yaml_to_json(value)))
                .collect(),
        );
    }
    match node.as_scalar().map(slipway_yaml::Scalar::literal) {
        None | Some(slipway_yaml::Literal::Null) => serde_json::Value::Null,
        Some(slipway_yaml::Literal::Bool(value)) => serde_json::Value::Bool(value),
        Some(slipway_yaml::Literal::Number(value)) => {
            serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        Some(slipway_yaml::Literal::String(text)) => serde_json::Value::String(text.to_owned()),
    }
}
