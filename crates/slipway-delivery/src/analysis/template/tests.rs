use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::analysis::{MeasurementPhase, assess};

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn parse(text: &str) -> Result<AnalysisTemplate, TemplateError> {
    parse_template(text, "analysis.yaml", &BTreeMap::new())
}

/// The rendered errors of a template that must not parse.
fn errors(text: &str) -> String {
    match parse(text) {
        Ok(template) => panic!("expected errors, parsed {template:#?}"),
        Err(error) => error.to_string(),
    }
}

/// A metric with the Slipway provider and the given extra lines (each indented under `- `).
fn metric(lines: &str) -> String {
    format!("metrics:\n- name: m\n  provider:\n    slipway: {{slot: canary, metric: success-rate}}\n{lines}")
}

#[test]
fn reads_argos_inline_success_rate_template() {
    let text = include_str!("../fixtures/argo-inline-success-rate.yaml");
    let template = parse_template(
        text,
        "success-rate.yaml",
        &args(&[("service-name", "guestbook-svc.default.svc.cluster.local")]),
    )
    .unwrap_or_else(|error| panic!("{}", error.render()));
    assert_eq!(
        template.args,
        vec![
            Arg { name: "service-name".to_owned(), value: Some("guestbook-svc.default.svc.cluster.local".to_owned()) },
            Arg { name: "prometheus-port".to_owned(), value: Some("9090".to_owned()) },
        ]
    );
    let [metric] = template.metrics.as_slice() else { panic!("one metric: {template:#?}") };
    assert_eq!(metric.name, "success-rate");
    assert_eq!(metric.success_condition.as_deref(), Some("result[0] >= 0.95"));
    assert_eq!((metric.interval, metric.count, metric.effective_count()), (None, None, Some(1)));
    assert_eq!((metric.failure_limit, metric.inconclusive_limit, metric.consecutive_error_limit), (0, 0, 4));
    assert_eq!(metric.initial_delay, Duration::ZERO);
    let Provider::Prometheus { address, query, timeout } = &metric.provider else { panic!("{:?}", metric.provider) };
    assert_eq!(address, "http://prometheus.example.com:9090");
    assert_eq!(*timeout, None);
    assert_eq!(
        query,
        "sum(irate(\n  istio_requests_total{reporter=\"source\",destination_service=~\"guestbook-svc.default.svc.cluster.local\",response_code!~\"5.*\"}[5m]\n)) /\nsum(irate(\n  istio_requests_total{reporter=\"source\",destination_service=~\"guestbook-svc.default.svc.cluster.local\"}[5m]\n))\n"
    );
    // And its condition judges a Prometheus vector.
    assert_eq!(assess(metric, &serde_json::json!([0.97])).0, MeasurementPhase::Successful);
    assert_eq!(assess(metric, &serde_json::json!([0.9])).0, MeasurementPhase::Failed);
    // The caller's value overrides the template's.
    let template =
        parse_template(text, "success-rate.yaml", &args(&[("service-name", "s"), ("prometheus-port", "9191")]))
            .unwrap_or_else(|error| panic!("{error}"));
    let Provider::Prometheus { address, .. } = &template.metrics[0].provider else { panic!() };
    assert_eq!(address, "http://prometheus.example.com:9191");
}

#[test]
fn argos_inline_template_without_its_argument() {
    let text = include_str!("../fixtures/argo-inline-success-rate.yaml");
    let error = parse_template(text, "success-rate.yaml", &BTreeMap::new()).expect_err("service-name has no value");
    assert_eq!(
        error.to_string(),
        "success-rate.yaml:10:11: argument `service-name` has no value: give it a `value` here, or pass a value for \
         `service-name` when the analysis runs"
    );
}

#[test]
fn argos_background_prometheus_template_names_what_slipway_lacks() {
    // Argo's example measures every 5 minutes until the rollout stops it, and sends a header:
    // both are named, with the fix.
    let text = include_str!("../fixtures/argo-prometheus.yaml");
    let error = parse_template(text, "success-rate.yaml", &args(&[("service-name", "web")])).expect_err("two mistakes");
    assert_eq!(
        error.to_string(),
        "success-rate.yaml:13:5: `interval` without `count` measures until the analysis is stopped, but an analysis in \
         a pipeline step must end: give `count`, the number of measurements to take (e.g. `count: 5`)\n\
         success-rate.yaml:23:9: `headers` is not supported yet: remove it"
    );
    assert_eq!(
        error.render(),
        "error[A0008]: `interval` without `count` measures until the analysis is stopped, but an analysis in a \
         pipeline step must end: give `count`, the number of measurements to take (e.g. `count: 5`)\n  \
         --> success-rate.yaml:13:5\n   |\n13 |     interval: 5m\n   |     ^^^^^^^^\n\n\
         error[A0003]: `headers` is not supported yet: remove it\n  --> success-rate.yaml:23:9\n   |\n23 |         headers:\n   |         ^^^^^^^\n\n\
         2 errors and 0 warnings\n"
    );
    // With those fixed, it reads, its timeout in seconds.
    let fixed = text
        .replace("    interval: 5m\n", "    interval: 5m\n    count: 6\n")
        .replace("        headers:\n        - key: X-Scope-OrgID\n          value: tenant_a\n", "");
    let template = parse_template(&fixed, "success-rate.yaml", &args(&[("service-name", "web")]))
        .unwrap_or_else(|error| panic!("{error}"));
    let metric = &template.metrics[0];
    assert_eq!((metric.interval, metric.count, metric.failure_limit), (Some(Duration::from_secs(300)), Some(6), 3));
    let Provider::Prometheus { timeout, .. } = &metric.provider else { panic!() };
    assert_eq!(*timeout, Some(Duration::from_secs(40)));
}

#[test]
fn reads_argos_web_metric() {
    let text = include_str!("../fixtures/argo-web.yaml");
    let template = parse_template(text, "web.yaml", &args(&[("service-name", "shop"), ("api-token", "s3cret")]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        template.metrics[0].provider,
        Provider::Web {
            url: "http://my-server.com/api/v1/measurement?service=shop".to_owned(),
            method: "GET".to_owned(),
            headers: vec![("Authorization".to_owned(), "Bearer s3cret".to_owned())],
            body: None,
            json_path: Some("{$.data.ok}".to_owned()),
            timeout: Some(Duration::from_secs(20)),
        }
    );
    assert_eq!(assess(&template.metrics[0], &serde_json::json!(true)).0, MeasurementPhase::Successful);
}

#[test]
fn reads_slipways_provider_and_every_field() {
    let text = "\
args:
- name: slot
  value: canary
metrics:
- name: errors
  interval: 1m30s
  count: \"10\"
  initialDelay: 30s
  successCondition: result < 0.01
  failureCondition: result > 0.05
  failureLimit: \"2\"
  inconclusiveLimit: 3
  consecutiveErrorLimit: 0
  provider:
    slipway:
      service: shop
      slot: '{{args.slot}}'
      metric: error-rate
      window: 5m
- name: latency
  provider:
    slipway: {slot: canary, metric: latency-p99}
";
    let template = parse(text).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        template.metrics[0],
        MetricSpec {
            name: "errors".to_owned(),
            interval: Some(Duration::from_secs(90)),
            count: Some(10),
            initial_delay: Duration::from_secs(30),
            success_condition: Some("result < 0.01".to_owned()),
            failure_condition: Some("result > 0.05".to_owned()),
            failure_limit: 2,
            inconclusive_limit: 3,
            consecutive_error_limit: 0,
            provider: Provider::Slipway {
                service: Some("shop".to_owned()),
                slot: "canary".to_owned(),
                metric: RouterMetric::ErrorRate,
                window: Some(Duration::from_secs(300)),
            },
        }
    );
    assert_eq!(
        template.metrics[1].provider,
        Provider::Slipway { service: None, slot: "canary".to_owned(), metric: RouterMetric::LatencyP99, window: None }
    );
}

#[test]
fn names_every_mistake_at_once() {
    let text = "\
apiVersion: argoproj.io/v1beta1
kind: AnalysisRun
metadata:
  name: broken
spec:
  dryRun:
  - metricName: a
  args:
  - name: who
  metrics:
  - name: a
    intervall: 5m
    count: -1
    initialDelay: 5x
    successCondition: result >=
    failureLimit: 2.5
    provider:
      datadog:
        query: avg:errors
  - name: a
    interval: 1m
    count: 3
    failureLimit: 4
    successCondition: isNan(result)
    provider:
      prometheus: {address: 'http://p:9090', query: 'up{job=\"{{args.job}}\"}', timeout: 10s}
      web: {url: 'http://x'}
";
    assert_eq!(
        errors(text),
        "analysis.yaml:1:13: `apiVersion` must be `argoproj.io/v1alpha1`, found `argoproj.io/v1beta1`
analysis.yaml:2:7: `kind` must be `AnalysisTemplate` or `ClusterAnalysisTemplate`, found `AnalysisRun`
analysis.yaml:6:3: `dryRun` is not supported yet: remove it: every metric counts toward the result
analysis.yaml:9:11: argument `who` has no value: give it a `value` here, or pass a value for `who` when the analysis runs
analysis.yaml:12:5: unknown key `intervall` in a metric: the keys are `name`, `interval`, `count`, `initialDelay`, `successCondition`, `failureCondition`, `failureLimit`, `inconclusiveLimit`, `consecutiveErrorLimit`, `provider` (did you mean `interval`?)
analysis.yaml:13:12: `count` must be a whole number, at least 1, found `-1`
analysis.yaml:14:19: `initialDelay` must be a duration such as `30s`, `5m` or `1h`, found `5x`: `x` is not a unit (the units are `ns`, `us`, `ms`, `s`, `m` and `h`)
analysis.yaml:15:23: `successCondition` is not a valid expression: at column 10: expected conditional_if, negation_op, sign_op, value, array, map, or ident
analysis.yaml:16:19: `failureLimit` must be a whole number (0 or more), found `2.5`
analysis.yaml:18:7: the `datadog` provider is not supported yet: Slipway measures with `prometheus`, `web`, `slipway` (its router's metrics) or `judge` (its statistical judge)
analysis.yaml:20:11: a metric named `a` is already defined at line 11: metric names must be unique
analysis.yaml:22:5: `count` (3) must be at least `failureLimit` (4), as Argo requires: raise `count` or lower `failureLimit`
analysis.yaml:24:23: `successCondition` calls `isNan()`, which is not a function (did you mean `isNaN`?)
analysis.yaml:26:7: a metric has one provider, but `provider` names 2: `prometheus` and `web`; keep one (or make another metric)
analysis.yaml:26:53: `{{args.job}}` names no argument of the template (it declares `who`): declare it under `args` as `- name: job`
analysis.yaml:26:88: `timeout` must be a whole number of seconds, at least 1 (e.g. `timeout: 30`), found `10s`"
    );
}

#[test]
fn table_of_single_mistakes() {
    let cases: &[(&str, String, &str)] = &[
        ("empty file", String::new(), "analysis.yaml:1:1: the file is empty: expected an analysis template, `metrics:` with at least one metric (or Argo's whole `AnalysisTemplate`)"),
        ("not a mapping", "- a\n".to_owned(), "analysis.yaml:1:1: an analysis template must be a mapping, found a sequence"),
        ("no metrics", "args: []\n".to_owned(), "analysis.yaml:1:1: an analysis template needs `metrics`: add e.g. `metrics: [{name: success-rate, provider: ...}]`"),
        ("empty metrics", "metrics: []\n".to_owned(), "analysis.yaml:1:10: `metrics` is empty: an analysis needs at least one metric"),
        ("unknown top-level key", "metric: []\n".to_owned(), "analysis.yaml:1:1: unknown key `metric` in an analysis template: the keys are `args`, `metrics` (did you mean `metrics`?)\nanalysis.yaml:1:1: an analysis template needs `metrics`: add e.g. `metrics: [{name: success-rate, provider: ...}]`"),
        ("measurementRetention", format!("measurementRetention: []\n{}", metric("")), "analysis.yaml:1:1: `measurementRetention` is not supported yet: remove it: Slipway does not drop measurements"),
        ("templates", format!("templates: []\n{}", metric("")), "analysis.yaml:1:1: `templates` is not supported yet: copy the other templates' metrics into this one"),
        ("no spec", "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\n".to_owned(), "analysis.yaml:1:1: an `AnalysisTemplate` needs `spec`: add e.g. `spec: {metrics: [...]}`"),
        ("no kind", "apiVersion: argoproj.io/v1alpha1\nspec: {metrics: [{name: m, provider: {slipway: {slot: a, metric: error-rate}}}]}\n".to_owned(), "analysis.yaml:1:1: an `AnalysisTemplate` needs `kind`: add e.g. `kind: AnalysisTemplate`"),
        ("interval without count", metric("  interval: 1m\n"), "analysis.yaml:5:3: `interval` without `count` measures until the analysis is stopped, but an analysis in a pipeline step must end: give `count`, the number of measurements to take (e.g. `count: 5`)"),
        ("count without interval", metric("  count: 3\n"), "analysis.yaml:5:3: `count: 3` takes 3 measurements, which needs an `interval` between them: add e.g. `interval: 1m`"),
        ("count below inconclusiveLimit", metric("  count: 1\n  inconclusiveLimit: 2\n"), "analysis.yaml:5:3: `count` (1) must be at least `inconclusiveLimit` (2), as Argo requires: raise `count` or lower `inconclusiveLimit`"),
        ("count zero", metric("  count: 0\n"), "analysis.yaml:5:10: `count` must be a whole number, at least 1, found `0`"),
        ("count not a number", metric("  count: many\n"), "analysis.yaml:5:10: `count` must be a whole number, at least 1, found `many`"),
        ("count a list", metric("  count: [1]\n"), "analysis.yaml:5:10: `count` must be a whole number, at least 1, found a sequence"),
        ("negative limit", metric("  consecutiveErrorLimit: -2\n"), "analysis.yaml:5:26: `consecutiveErrorLimit` must be a whole number (0 or more), found `-2`"),
        ("failureLimit -1", metric("  failureLimit: -1\n"), "analysis.yaml:5:17: `failureLimit: -1` turns the limit off in Argo, for use with `consecutiveSuccessLimit`, which is not supported yet: give a whole number (0 or more)"),
        ("consecutiveSuccessLimit", metric("  consecutiveSuccessLimit: 3\n"), "analysis.yaml:5:3: `consecutiveSuccessLimit` is not supported yet: remove it, and use `count` with `failureLimit`"),
        ("interval without unit", metric("  interval: 30\n  count: 2\n"), "analysis.yaml:5:13: `interval` must be a duration such as `30s`, `5m` or `1h`, found `30`: the number `30` has no unit (write e.g. `30s` or `30m`)"),
        ("zero interval", metric("  interval: 0s\n  count: 2\n"), "analysis.yaml:5:13: `interval` must be longer than `0s`, found `0s`"),
        ("negative delay", metric("  initialDelay: -1m\n"), "analysis.yaml:5:17: `initialDelay` must be a duration such as `30s`, `5m` or `1h`, found `-1m`: it is negative"),
        ("no name", "metrics:\n- provider: {slipway: {slot: a, metric: error-rate}}\n".to_owned(), "analysis.yaml:2:3: a metric needs `name`: add e.g. `name: success-rate`"),
        ("no provider", "metrics:\n- name: m\n".to_owned(), "analysis.yaml:2:3: a metric needs `provider`: add e.g. `provider: {prometheus: {address: ..., query: ...}}`"),
        ("empty provider", "metrics:\n- name: m\n  provider: {}\n".to_owned(), "analysis.yaml:3:13: `provider` names no provider: give one of `prometheus`, `web`, `slipway` or `judge`"),
        ("unknown provider", "metrics:\n- name: m\n  provider: {promethus: {}}\n".to_owned(), "analysis.yaml:3:14: unknown provider `promethus`: the providers are `prometheus`, `web`, `slipway` and `judge` (did you mean `prometheus`?)"),
        ("job provider", "metrics:\n- name: m\n  provider:\n    job: {spec: {}}\n".to_owned(), "analysis.yaml:4:5: the `job` provider is not supported yet: Slipway measures with `prometheus`, `web`, `slipway` (its router's metrics) or `judge` (its statistical judge)"),
        ("prometheus without query", "metrics:\n- name: m\n  provider:\n    prometheus:\n      address: http://p\n".to_owned(), "analysis.yaml:5:7: `prometheus` needs `query`: add e.g. `query: sum(rate(http_requests_total[5m]))`"),
        ("prometheus range query", "metrics:\n- name: m\n  provider:\n    prometheus: {address: a, query: q, rangeQuery: {}}\n".to_owned(), "analysis.yaml:4:40: `rangeQuery` is not supported yet: use an instant query instead (e.g. `avg_over_time(...[5m])`)"),
        ("web lowercase method", "metrics:\n- name: m\n  provider:\n    web: {url: 'http://x', method: post, body: '{}'}\n".to_owned(), "analysis.yaml:4:36: `method` must be `GET`, `POST` or `PUT`, found `post` (write `POST`)"),
        ("web body with GET", "metrics:\n- name: m\n  provider:\n    web: {url: 'http://x', body: '{}'}\n".to_owned(), "analysis.yaml:4:34: a `body` is sent only with `method: POST` or `method: PUT` (Argo refuses a body with `GET`): add `method: POST`"),
        ("web jsonBody", "metrics:\n- name: m\n  provider:\n    web: {url: 'http://x', method: POST, jsonBody: {a: 1}}\n".to_owned(), "analysis.yaml:4:42: `jsonBody` is not supported yet: put the JSON in `body` as a string instead, with a `Content-Type: application/json` header"),
        ("web header without value", "metrics:\n- name: m\n  provider:\n    web:\n      url: http://x\n      headers:\n      - key: A\n".to_owned(), "analysis.yaml:7:9: a header needs `value`: add e.g. `value: Bearer {{args.token}}`"),
        ("slipway unknown metric", "metrics:\n- name: m\n  provider:\n    slipway: {slot: canary, metric: sucess-rate}\n".to_owned(), "analysis.yaml:4:37: `metric` must be one of `success-rate`, `error-rate`, `request-rate`, `latency-p50`, `latency-p90`, `latency-p99`, found `sucess-rate` (did you mean `success-rate`?)"),
        ("slipway without slot", "metrics:\n- name: m\n  provider:\n    slipway: {metric: error-rate}\n".to_owned(), "analysis.yaml:4:14: `slipway` needs `slot`: add e.g. `slot: canary`"),
        ("valueFrom", "args:\n- name: token\n  valueFrom: {secretKeyRef: {name: s, key: k}}\nmetrics: []\n".to_owned(), "analysis.yaml:3:3: `valueFrom` is not supported yet: give `value`, or pass the value when the analysis runs\nanalysis.yaml:4:10: `metrics` is empty: an analysis needs at least one metric"),
        ("argument declared twice", "args:\n- name: a\n  value: x\n- name: a\n  value: y\nmetrics: []\n".to_owned(), "analysis.yaml:4:9: argument `a` is already declared at line 2\nanalysis.yaml:6:10: `metrics` is empty: an analysis needs at least one metric"),
        ("placeholder that is not an argument", metric("  successCondition: 'result > {{threshold}}'\n"), "analysis.yaml:5:21: `{{threshold}}` cannot be filled in: only `{{args.NAME}}` is replaced in an analysis template"),
        ("unclosed placeholder", metric("  successCondition: 'result > {{args.x'\n"), "analysis.yaml:5:21: `{{` is not closed by `}}`: write `{{args.NAME}}`"),
        ("unknown variable in a condition", metric("  failureCondition: reslt > 1\n"), "analysis.yaml:5:21: `failureCondition` uses `reslt`, which is not defined (the measured value is `result`) (did you mean `result`?)"),
        ("a YAML error", "metrics: [\n".to_owned(), "analysis.yaml:2:1: "),
    ];
    for (what, text, expected) in cases {
        let found = errors(text);
        if expected.ends_with(": ") {
            assert!(found.starts_with(expected), "{what}: {found}");
        } else {
            assert_eq!(&found, expected, "{what}");
        }
    }
}

#[test]
fn a_condition_is_checked_after_its_arguments_are_filled_in() {
    let text = "\
args:
- name: threshold
  value: '0.95'
metrics:
- name: m
  successCondition: 'result[0] >= {{ args.threshold }}'
  provider:
    slipway: {slot: canary, metric: success-rate}
";
    let template = parse(text).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(template.metrics[0].success_condition.as_deref(), Some("result[0] >= 0.95"));
    let broken = parse_template(text, "a.yaml", &args(&[("threshold", "0.9 &&")])).expect_err("not an expression");
    assert_eq!(
        broken.to_string(),
        "a.yaml:6:21: `successCondition` is not a valid expression: at column 20: expected conditional_if, negation_op, \
         sign_op, value, array, map, or ident"
    );
}

#[test]
fn arguments_the_template_does_not_declare_are_ignored() {
    let template = parse_template(&metric(""), "a.yaml", &args(&[("service-name", "web")]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(template.args.is_empty());
}

#[test]
fn reads_the_statistical_judge_provider_with_kayentas_defaults_and_directions() {
    let text = "metrics:\n- name: judge\n  provider:\n    judge:\n      canary: canary\n      baseline: baseline\n      \
                metrics: [error-rate, latency-p99, success-rate]\n      window: 2m\n      config:\n        metrics:\n          \
                latency-p99: {critical: true}\n        pass: 90\n";
    let template = parse(text).unwrap_or_else(|error| panic!("{error}"));
    let Provider::Judge { canary, baseline, metrics, window, config, service } = &template.metrics[0].provider else {
        panic!("not the judge: {template:#?}");
    };
    assert_eq!((canary.as_str(), baseline.as_str(), service), ("canary", "baseline", &None));
    assert_eq!(metrics, &[RouterMetric::ErrorRate, RouterMetric::LatencyP99, RouterMetric::SuccessRate]);
    assert_eq!(*window, Some(Duration::from_secs(120)));
    assert_eq!((config.pass, config.marginal), (90.0, 75.0));
    let direction = |name: &str| config.metrics.get(name).map(|metric| (metric.direction, metric.critical));
    assert_eq!(direction("latency-p99"), Some((crate::judge::Direction::Either, true)), "the configuration's own");
    assert_eq!(direction("error-rate"), Some((crate::judge::Direction::Increase, false)));
    assert_eq!(direction("success-rate"), Some((crate::judge::Direction::Decrease, false)));
    // Without conditions the score decides, as Argo's kayenta provider does.
    let metric = &template.metrics[0];
    let phase = |score: f64| assess(metric, &serde_json::json!({ "score": score })).0;
    assert_eq!(phase(95.0), MeasurementPhase::Successful);
    assert_eq!(phase(80.0), MeasurementPhase::Inconclusive);
    assert_eq!(phase(50.0), MeasurementPhase::Failed);
    assert_eq!(assess(metric, &serde_json::json!({})).0, MeasurementPhase::Error);
}

#[test]
fn the_judge_providers_mistakes_are_named() {
    let text = "metrics:\n- name: judge\n  provider:\n    judge:\n      canary: canary\n      metrics: [latency-p100]\n      \
                window: 1s\n      config: {pass: 200}\n";
    assert_eq!(
        errors(text),
        "analysis.yaml:5:7: `judge` needs `baseline`: add e.g. `baseline: baseline`\n\
         analysis.yaml:6:17: `metrics` lists router metrics: `success-rate`, `error-rate`, `request-rate`, `latency-p50`, \
         `latency-p90`, `latency-p99`, found `latency-p100` (did you mean `latency-p50`?)\n\
         analysis.yaml:7:15: `window` must be at least `5s`: the judge compares one sample per second\n\
         analysis.yaml:8:15: the judge's `config`: 'pass' (200) and 'marginal' (75) must be scores from 0 to 100 with \
         marginal at most pass"
    );
}
