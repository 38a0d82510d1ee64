//! Conformance: flagd's testbed evaluator suite (open-feature/flagd-testbed, `evaluator/`: its
//! Gherkin features and `testkit-flags.json`, copied into `fixtures/`, see its README) run
//! against [`FlagDocument`], step by step as an OpenFeature SDK's evaluator tests run them; and
//! the operator examples of flagd's "Flag Definitions" page.
//!
//! Only the examples tagged `@fractional-v1` are left out: they pin flagd's former bucketing,
//! which the `@fractional-v2` examples beside them replace. A step this runner does not know
//! fails the test, so nothing is skipped by accident.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{EvaluationContext, FlagDocument, FlagType, Reason, Resolution};

const FEATURES: &[(&str, &str)] = &[
    ("disabled", include_str!("fixtures/disabled.feature")),
    ("errors", include_str!("fixtures/errors.feature")),
    ("evaluation", include_str!("fixtures/evaluation.feature")),
    ("evaluator-refs", include_str!("fixtures/evaluator-refs.feature")),
    ("fractional", include_str!("fixtures/fractional.feature")),
    ("metadata", include_str!("fixtures/metadata.feature")),
    ("no-default-variant", include_str!("fixtures/no-default-variant.feature")),
    ("semver", include_str!("fixtures/semver.feature")),
    ("string", include_str!("fixtures/string.feature")),
    ("targeting", include_str!("fixtures/targeting.feature")),
    ("zero-values", include_str!("fixtures/zero-values.feature")),
];

/// A step, or a step followed by its data table.
#[derive(Clone, Debug)]
struct Step {
    text: String,
    table: Vec<Vec<String>>,
}

/// A scenario being read: its name, its steps, and its examples (their tags, then their rows,
/// the header first).
type Scenario = (String, Vec<Step>, Vec<(Vec<String>, Vec<Vec<String>>)>);

/// One runnable case: a scenario, or an outline with one example row substituted.
#[derive(Debug)]
struct Case {
    name: String,
    steps: Vec<Step>,
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|cell| cell.trim().to_owned()).collect()
}

/// The cases of a feature file (the subset of Gherkin the testbed uses: tags, `Background`,
/// `Scenario`, `Scenario Outline` with `Examples`, data tables after steps).
fn cases(feature: &str, text: &str) -> Vec<Case> {
    let mut background: Vec<Step> = Vec::new();
    let mut out = Vec::new();
    // The scenario being read: its name, steps, and examples (tags, header, rows).
    let mut scenario: Option<Scenario> = None;
    let mut in_background = false;
    let mut tags: Vec<String> = Vec::new();
    let mut reading_examples = false;
    let finish = |scenario: Option<Scenario>, background: &[Step], out: &mut Vec<Case>| {
        let Some((name, steps, examples)) = scenario else { return };
        let all: Vec<Step> = background.iter().cloned().chain(steps).collect();
        if examples.is_empty() {
            out.push(Case { name: format!("{feature}: {name}"), steps: all });
            return;
        }
        for (example_tags, rows) in examples {
            if example_tags.iter().any(|tag| tag == "@fractional-v1") {
                continue;
            }
            let Some((header, rows)) = rows.split_first() else { continue };
            for row in rows {
                let substitute = |text: &str| {
                    header
                        .iter()
                        .zip(row)
                        .fold(text.to_owned(), |text, (name, value)| text.replace(&format!("<{name}>"), value))
                };
                let steps = all
                    .iter()
                    .map(|step| Step {
                        text: substitute(&step.text),
                        table: step.table.iter().map(|row| row.iter().map(|cell| substitute(cell)).collect()).collect(),
                    })
                    .collect();
                out.push(Case { name: format!("{feature}: {name} {row:?}"), steps });
            }
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            tags.extend(line.split_whitespace().map(str::to_owned));
            continue;
        }
        if line.starts_with("Feature:") {
            tags.clear();
        } else if line.starts_with("Background:") {
            in_background = true;
            tags.clear();
        } else if let Some(name) = line.strip_prefix("Scenario Outline:").or_else(|| line.strip_prefix("Scenario:")) {
            finish(scenario.take(), &background, &mut out);
            scenario = Some((name.trim().to_owned(), Vec::new(), Vec::new()));
            in_background = false;
            reading_examples = false;
            tags.clear();
        } else if line.starts_with("Examples") {
            if let Some((_, _, examples)) = scenario.as_mut() {
                examples.push((std::mem::take(&mut tags), Vec::new()));
            }
            reading_examples = true;
        } else if line.starts_with('|') {
            let row = cells(line);
            if reading_examples {
                if let Some((_, rows)) = scenario.as_mut().and_then(|(_, _, examples)| examples.last_mut()) {
                    rows.push(row);
                }
            } else {
                let steps = if in_background { &mut background } else { &mut scenario.as_mut().expect("a scenario").1 };
                steps.last_mut().expect("a step before a table").table.push(row);
            }
        } else {
            let text = ["Given ", "When ", "Then ", "And ", "But "]
                .iter()
                .find_map(|keyword| line.strip_prefix(keyword))
                .unwrap_or_else(|| panic!("{feature}: not a step: {line}"));
            let step = Step { text: text.to_owned(), table: Vec::new() };
            if in_background {
                background.push(step);
            } else {
                scenario.as_mut().expect("a scenario").1.push(step);
            }
        }
    }
    finish(scenario, &background, &mut out);
    out
}

/// The quoted arguments of a step, in order (a `\"` inside one is kept as it is).
fn quoted(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(character) = chars.next() {
        match (&mut current, character) {
            (None, '"') => current = Some(String::new()),
            (None, _) => {}
            (Some(arg), '\\') => {
                arg.push('\\');
                arg.extend(chars.next());
            }
            (Some(_), '"') => args.extend(current.take()),
            (Some(arg), other) => arg.push(other),
        }
    }
    args
}

fn typed(kind: &str, text: &str) -> Value {
    match kind {
        "Boolean" => Value::Bool(text == "true"),
        "Integer" => json!(text.parse::<i64>().expect("an integer")),
        "Float" => json!(text.parse::<f64>().expect("a float")),
        "String" => Value::String(text.to_owned()),
        "Object" => serde_json::from_str(&text.replace("\\\"", "\"")).expect("a JSON object"),
        other => panic!("unknown type {other}"),
    }
}

fn flag_type(kind: &str) -> FlagType {
    match kind {
        "Boolean" => FlagType::Boolean,
        "Integer" | "Float" => FlagType::Number,
        "String" => FlagType::String,
        "Object" => FlagType::Object,
        other => panic!("unknown type {other}"),
    }
}

/// Whether the resolved value is the expected one, read as the flag's type (an integer read
/// of a number truncates it, as flagd's `ResolveInt` does).
fn same(kind: &str, actual: &Value, expected: &Value) -> bool {
    match kind {
        "Integer" => actual.as_f64().map(|value| value.trunc()) == expected.as_f64(),
        "Float" => actual.as_f64() == expected.as_f64(),
        _ => actual == expected,
    }
}

/// Runs one case; `Err` says which step failed and why.
fn run(document: &FlagDocument, case: &Case) -> Result<(), String> {
    let mut kind = String::new();
    let mut key = String::new();
    let mut fallback = Value::Null;
    let mut context = EvaluationContext::new();
    let mut resolution: Option<Resolution> = None;
    for step in &case.steps {
        let text = step.text.as_str();
        let args = quoted(text);
        let fail = |why: String| Err(format!("step `{text}`: {why}"));
        let details = || resolution.as_ref().ok_or_else(|| format!("step `{text}` before an evaluation"));
        if text == "an evaluator" {
        } else if let Some(rest) = text.strip_prefix("a ").filter(|rest| rest.contains("-flag with key")) {
            kind = rest.split('-').next().unwrap_or_default().to_owned();
            key.clone_from(&args[0]);
            fallback = typed(&kind, &args[1]);
        } else if text.starts_with("a context containing a targeting key with value") {
            context.insert("targetingKey".to_owned(), Value::String(args[0].clone()));
        } else if text.starts_with("a context containing a key") {
            context.insert(args[0].clone(), typed(&args[1], &args[2]));
        } else if text.starts_with("a context containing a nested property with outer key") {
            context.insert(args[0].clone(), json!({ args[1].clone(): args[2].clone() }));
        } else if text == "the flag was evaluated with details" {
            resolution = Some(document.evaluate(&key, &context).expecting(flag_type(&kind)));
        } else if text.starts_with("the resolved details value should be") {
            let details = details()?;
            let expected = typed(&kind, &args[0]);
            let actual = details.value.clone().unwrap_or_else(|| fallback.clone());
            if !same(&kind, &actual, &expected) {
                return fail(format!("got {actual} from {details:?}"));
            }
        } else if text.starts_with("the reason should be") {
            let details = details()?;
            if details.reason.as_str() != args[0] {
                return fail(format!("got {details:?}"));
            }
        } else if text.starts_with("the error-code should be") {
            let details = details()?;
            if details.reason != Reason::Error || details.error_code.map(|code| code.as_str()) != Some(args[0].as_str())
            {
                return fail(format!("got {details:?}"));
            }
        } else if text == "the resolved metadata should contain" {
            let details = details()?;
            for row in step.table.iter().skip(1) {
                let [name, kind, value] = row.as_slice() else {
                    return fail(format!("a row of three cells, not {row:?}"));
                };
                let expected = typed(kind, value);
                match details.metadata.get(name) {
                    Some(actual) if same(kind, actual, &expected) => {}
                    other => return fail(format!("metadata {name}: got {other:?}, expected {expected}")),
                }
            }
        } else if text == "the resolved metadata is empty" {
            let details = details()?;
            if !details.metadata.is_empty() {
                return fail(format!("got {:?}", details.metadata));
            }
        } else {
            return fail("a step this runner does not know".to_owned());
        }
    }
    Ok(())
}

#[test]
fn flagd_testbed_evaluator_suite() {
    let document =
        FlagDocument::parse(include_str!("fixtures/testkit-flags.json")).unwrap_or_else(|errors| panic!("{errors}"));
    let mut failures = String::new();
    let mut ran = 0;
    for (feature, text) in FEATURES {
        for case in cases(feature, text) {
            ran += 1;
            if let Err(why) = run(&document, &case) {
                let _ = writeln!(failures, "{}\n    {why}", case.name);
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
    // Every case of the suite at the copied commit (less the @fractional-v1 examples) ran.
    assert_eq!(ran, 125, "the number of cases run");
}

#[test]
fn the_testkit_document_has_one_targeting_that_cannot_be_evaluated() {
    let document = FlagDocument::parse(include_str!("fixtures/testkit-flags.json")).expect("it reads");
    let errors = document.targeting_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "/flags/ref-to-nonexistent-evaluator-flag/targeting/if/0");
    assert!(FlagDocument::parse_strict(include_str!("fixtures/testkit-flags.json")).is_err());
}

#[test]
fn flagds_documented_operator_examples() {
    let examples: Vec<Value> = serde_json::from_str(include_str!("fixtures/documented-operations.json")).expect("JSON");
    let mut failures = String::new();
    for example in &examples {
        let logic = &example["logic"];
        let expected = &example["result"];
        // Each example as the targeting of a flag whose variants are the possible results.
        let variants: serde_json::Map<String, Value> = ["yes", "no", "maybe", "who knows", "true", "false"]
            .into_iter()
            .map(|name| (name.to_owned(), Value::String(name.to_owned())))
            .collect();
        let document = FlagDocument::from_value(json!({
            "flags": {"example": {"state": "ENABLED", "variants": variants, "targeting": logic}}
        }))
        .expect("a valid document");
        let resolution = document.evaluate("example", &EvaluationContext::new());
        let want = match expected {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        if resolution.variant.as_deref() != Some(want.as_str()) {
            let _ = writeln!(failures, "{logic}: expected {expected}, got {resolution:?}");
        }
    }
    assert!(failures.is_empty(), "{failures}");
    assert_eq!(examples.len(), 45);
}
