//! The delivery room's readers of user input never panic: Argo analysis templates, Chaos
//! Toolkit experiments and flagd documents (and evaluating the flags of a document that reads),
//! fed many seeded mutations of real-shaped inputs (bytes flipped, dropped, doubled, cut, and
//! pieces of other inputs spliced in). A panic names the seed and the input that caused it.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

const TEMPLATES: [&str; 3] = [
    include_str!("../../src/analysis/fixtures/argo-inline-success-rate.yaml"),
    include_str!("../../src/analysis/fixtures/argo-prometheus.yaml"),
    include_str!("../../src/analysis/fixtures/argo-web.yaml"),
];

const JUDGE: &str = "metrics:\n- name: judge\n  initialDelay: 5s\n  provider:\n    judge:\n      canary: canary\n      \
                     baseline: baseline\n      metrics: [error-rate, latency-p99]\n      window: 30s\n      config:\n        \
                     metrics:\n          latency-p99: {critical: true}\n        pass: 90\n";

const EXPERIMENT: &str = r#"title: slow stable
steady-state-hypothesis:
  title: it answers
  probes:
  - type: probe
    name: rate
    tolerance: [0.95, 1.0]
    pauses: {before: 1}
    provider: {type: slipway, slot: stable, metric: success-rate, window: 2}
  - type: probe
    name: health
    tolerance: {type: jsonpath, path: "$.ok", expect: true, target: body}
    provider: {type: http, url: "http://127.0.0.1:1/healthz", timeout: [1, 2]}
method:
- type: action
  name: fault
  pauses: {after: 3}
  provider: {type: fault, slot: stable, fault: error, status: 503, percent: 50, duration: 10}
rollbacks: []
"#;

const FLAGS: &str = include_str!("../../src/flags/fixtures/testkit-flags.json");

/// A seeded mutation of `input`, sometimes with a piece of `other` spliced in.
fn mutate(input: &str, other: &str, rng: &mut fastrand::Rng) -> String {
    let mut bytes = input.as_bytes().to_vec();
    for _ in 0..rng.usize(1..6) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.usize(..bytes.len());
        match rng.u8(..6) {
            0 => bytes[at] = rng.u8(..),
            1 => {
                bytes.remove(at);
            }
            2 => {
                let end = (at + rng.usize(1..20)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            3 => bytes.truncate(at),
            4 => bytes.insert(at, *b"{}[]:-'\"\n \t#&*!|>%@`".get(rng.usize(..20)).unwrap_or(&b' ')),
            _ => {
                let from = rng.usize(..other.len().max(1));
                let end = (from + rng.usize(1..40)).min(other.len());
                bytes.splice(at..at, other.as_bytes()[from.min(end)..end].iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `read` on `count` mutations of each input; fails with the first input that panics.
fn never_panics(name: &str, inputs: &[&str], count: u64, read: impl Fn(&str)) {
    let others = inputs.join("\n");
    for (index, input) in inputs.iter().enumerate() {
        for seed in 0..count {
            let mut rng = fastrand::Rng::with_seed(seed * 31 + index as u64);
            let text = mutate(input, &others, &mut rng);
            if catch_unwind(AssertUnwindSafe(|| read(&text))).is_err() {
                panic!("{name}: input {index}, seed {seed} panicked on:\n{text}");
            }
        }
    }
}

#[test]
fn analysis_templates_never_panic() {
    let mut inputs = TEMPLATES.to_vec();
    inputs.push(JUDGE);
    let args: BTreeMap<String, String> = [("service-name".to_owned(), "web".to_owned())].into();
    never_panics("analysis template", &inputs, 1500, |text| {
        if let Ok(template) = slipway_delivery::analysis::parse_template(text, "mutated.yaml", &args) {
            // A template that reads is judged too: every metric against a few values.
            for metric in &template.metrics {
                for value in [serde_json::json!(0.97), serde_json::json!([0.5]), serde_json::json!({"score": 80})] {
                    let _ = slipway_delivery::analysis::assess(metric, &value);
                }
                let _ = slipway_delivery::analysis::next_measurement_at(metric, 0, &[]);
            }
        }
    });
}

#[test]
fn chaos_experiments_never_panic() {
    let json =
        serde_json::to_string(&serde_json::json!({"title": "t", "method": [{"type": "action"}]})).unwrap_or_default();
    never_panics("chaos experiment", &[EXPERIMENT, &json], 1500, |text| {
        if let Ok(experiment) = slipway_delivery::chaos::read_experiment(text, "mutated.yaml") {
            for probe in &experiment.probes {
                if let Some(tolerance) = &probe.tolerance {
                    for value in [serde_json::json!(0.97), serde_json::json!({"status": 200, "body": "{\"ok\":true}"})]
                    {
                        let _ = slipway_delivery::chaos::within_tolerance(tolerance, &value);
                    }
                }
            }
        }
    });
}

#[test]
fn flag_documents_never_panic() {
    let context: slipway_delivery::flags::EvaluationContext = serde_json::from_value(
        serde_json::json!({"targetingKey": "user-1", "email": "ann@example.com", "version": "1.2.3"}),
    )
    .unwrap_or_default();
    never_panics("flag document", &[FLAGS], 800, |text| {
        if let Ok(document) = slipway_delivery::flags::FlagDocument::parse(text) {
            let _ = document.evaluate_all(&context);
        }
    });
}
