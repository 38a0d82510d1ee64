//! Conformance with GitHub's expression cases (`tests/fixtures/languageservices/*.json`, from
//! `actions/languageservices`) and act's (`tests/fixtures/act/exprparser-vectors.dev.json`), run
//! through the public API; see `tests/fixtures/README.md` for where they come from.
//!
//! Every case must pass unless `tests/fixtures/DEVIATIONS.md` lists it with the reason; a listed
//! case that passes fails the test too, so the list stays true. The figures (passed / total per
//! file) are printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use slipway_github_expr::{Allowed, Object, Value, evaluate, parse, parse_with};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The cases `DEVIATIONS.md` lists: list items whose first two code spans are the file (or
/// `act`) and the expression.
fn deviations() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(fixtures().join("DEVIATIONS.md")).expect("DEVIATIONS.md");
    let mut listed = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("- ")) {
        let spans: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        if let [file, expr, ..] = spans.as_slice() {
            listed.insert(((*file).to_owned(), (*expr).to_owned()));
        }
    }
    listed
}

/// A case of `actions/languageservices`' `expressions/testdata`.
#[derive(Deserialize)]
struct LanguageCase {
    expr: String,
    #[serde(default)]
    contexts: Option<Value>,
    result: Option<Expected>,
    err: Option<ExpectedError>,
}

#[derive(Deserialize)]
struct Expected {
    kind: String,
    value: Value,
}

#[derive(Deserialize)]
struct ExpectedError {
    kind: String,
    value: String,
}

/// What one file's run found.
#[derive(Default)]
struct Tally {
    passed: usize,
    total: usize,
    deviating: usize,
}

/// Runs one case of `actions/languageservices`: parse with the case's contexts as the allowed
/// named values (as its harness does), then evaluate; errors must contain the expected text.
fn run_language_case(case: &LanguageCase) -> Result<(), String> {
    let contexts = match &case.contexts {
        Some(Value::Object(object)) => (**object).clone(),
        _ => Object::new(),
    };
    let allowed =
        Allowed { contexts: contexts.iter().map(|(k, _)| k.to_ascii_lowercase()).collect(), functions: vec![] };
    let expected_error = case.err.as_ref();
    let expr = match parse_with(&case.expr, &allowed) {
        Ok(expr) => expr,
        Err(err) => {
            return match expected_error {
                Some(e) if e.kind != "evaluation" && err.to_string().contains(&e.value) => Ok(()),
                Some(e) => Err(format!("parse error {err:?}, expected {} error containing {:?}", e.kind, e.value)),
                None => Err(format!("parse error {err}")),
            };
        }
    };
    if let Some(e) = expected_error
        && e.kind != "evaluation"
    {
        return Err(format!("parsed, expected {} error {:?}", e.kind, e.value));
    }
    match (evaluate(&expr, &contexts), expected_error, &case.result) {
        (Err(err), Some(e), _) if err.message.contains(&e.value) => Ok(()),
        (Err(err), _, _) => Err(format!("evaluation error {err}")),
        (Ok(value), Some(e), _) => Err(format!("got {}, expected error {:?}", value.to_json_compact(), e.value)),
        (Ok(value), None, Some(expected)) => {
            let kind = value.kind().to_string();
            if kind == expected.kind && value.to_json_compact() == expected.value.to_json_compact() {
                Ok(())
            } else {
                Err(format!(
                    "got {kind} {}, expected {} {}",
                    value.to_json_compact(),
                    expected.kind,
                    expected.value.to_json_compact()
                ))
            }
        }
        (Ok(_), None, None) => Err("the case has neither a result nor an error".to_owned()),
    }
}

/// A row of act's Go test tables.
#[derive(Deserialize)]
struct ActCase {
    test: String,
    expr: String,
    expected_go_literal: String,
    other_fields_go_literals: Vec<String>,
}

#[derive(Deserialize)]
struct ActFile {
    cases: Vec<ActCase>,
}

/// The contexts act's test functions set up (from `pkg/exprparser/*_test.go`); every context
/// act's interpreter has is an object, as on GitHub.
fn act_contexts(test: &str) -> Object {
    let json = match test {
        "TestOperators" => {
            r#"{"github": {"action": "push", "event": {"commits": [{"author": {"username": "someone"}}, {"author": {"username": "someone-else"}}]}}}"#
        }
        "TestOperatorsCompare" | "TestOperatorsBooleanEvaluation" => r#"{"github": {"action": "push"}}"#,
        "TestContexts" => {
            r#"{"github": {"action": "push"}, "env": {"TEST": "value"}, "job": {"status": "success"},
                "steps": {"step-id": {"outputs": {"name": "value"}, "outcome": "success", "conclusion": "success"},
                          "step-id2": {"outputs": {}, "outcome": "failure", "conclusion": "skipped"}},
                "runner": {"os": "Linux", "temp": "/tmp", "tool_cache": "/opt/hostedtoolcache"},
                "secrets": {"name": "value"}, "vars": {"name": "value"}, "strategy": {"fail-fast": true},
                "matrix": {"os": "Linux"},
                "needs": {"job-id": {"outputs": {"output-name": "value"}, "result": "success"},
                          "another-job-id": {"outputs": {"output-name": "value"}, "result": "success"}},
                "inputs": {"name": "value"}}"#
        }
        "TestFunctionToJSON" => r#"{"env": {"key": "value"}}"#,
        _ => "{}",
    };
    let mut contexts = match serde_json::from_str::<Value>(json).expect("act contexts") {
        Value::Object(object) => (*object).clone(),
        _ => Object::new(),
    };
    for name in ["github", "env", "job", "steps", "runner", "secrets", "vars", "strategy", "matrix", "needs", "inputs"]
    {
        contexts.insert(name, Object::new().into());
    }
    contexts
}

/// A Go literal from act's tables as a value; `None` for one this test cannot read.
fn go_literal(text: &str) -> Option<Value> {
    Some(match text {
        "nil" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "math.NaN()" => Value::Number(f64::NAN),
        "math.Inf(1)" => Value::Number(f64::INFINITY),
        "make(map[string]interface{})" => Object::new().into(),
        _ if text.starts_with('"') => Value::String(serde_json::from_str(text).ok()?),
        _ if text.starts_with('`') => Value::String(text.trim_matches('`').to_owned()),
        _ => Value::Number(text.parse().ok()?),
    })
}

/// The error act's row expects, if any: TestOperators keeps it second, TestFunctionFormat first.
fn act_expected_error(case: &ActCase) -> Option<String> {
    let field = match case.test.as_str() {
        "TestOperators" => case.other_fields_go_literals.get(1),
        "TestFunctionFormat" => case.other_fields_go_literals.first(),
        _ => None,
    }?;
    match go_literal(field) {
        Some(Value::String(message)) if !message.is_empty() => Some(message),
        _ => None,
    }
}

/// Numbers equal by value (act's Go ints and floats alike), other kinds by their JSON.
fn same(got: &Value, expected: &Value) -> bool {
    match (got, expected) {
        (Value::Number(a), Value::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
        _ => got.kind() == expected.kind() && got.to_json_compact() == expected.to_json_compact(),
    }
}

fn run_act_case(case: &ActCase) -> Result<(), String> {
    let text = case.expr.trim();
    let text = text.strip_prefix("${{").unwrap_or(text);
    let text = text.strip_suffix("}}").unwrap_or(text).trim();
    let contexts = act_contexts(&case.test);
    let expected_error = act_expected_error(case);
    let outcome =
        parse(text).map_err(|e| e.to_string()).and_then(|expr| evaluate(&expr, &contexts).map_err(|e| e.to_string()));
    match (outcome, expected_error) {
        (Err(_), Some(_)) => Ok(()),
        (Err(err), None) => Err(format!("error {err}")),
        (Ok(value), Some(message)) => Err(format!("got {}, expected error {message:?}", value.to_json_compact())),
        (Ok(value), None) => {
            let expected = go_literal(&case.expected_go_literal)
                .ok_or_else(|| format!("cannot read the Go literal {}", case.expected_go_literal))?;
            if same(&value, &expected) {
                Ok(())
            } else {
                Err(format!("got {}, expected {}", value.to_json_compact(), case.expected_go_literal))
            }
        }
    }
}

/// Keeps the score of one file against the deviations list.
fn score(
    file: &str,
    expr: &str,
    outcome: Result<(), String>,
    listed: &BTreeSet<(String, String)>,
    used: &mut BTreeSet<(String, String)>,
    tally: &mut Tally,
    problems: &mut String,
) {
    let key = (file.to_owned(), expr.to_owned());
    tally.total += 1;
    match outcome {
        Ok(()) => tally.passed += 1,
        Err(_) if listed.contains(&key) => {
            tally.deviating += 1;
            used.insert(key);
        }
        Err(why) => {
            let _ = writeln!(problems, "{file}: `{expr}`: {why}");
        }
    }
}

#[test]
fn github_and_act_expression_cases() {
    let listed = deviations();
    let mut used = BTreeSet::new();
    let mut problems = String::new();
    let mut report = String::new();
    let (mut passed, mut total) = (0, 0);

    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("languageservices"))
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 19, "the 19 expression files of actions/languageservices");
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(path).expect("fixture");
        // Read straight into `Value`s, which keep the order of object keys (`toJSON` shows it).
        let groups: BTreeMap<String, Vec<LanguageCase>> = serde_json::from_str(&text).expect("fixture JSON");
        let mut tally = Tally::default();
        for cases in groups.values() {
            for case in cases {
                score(&name, &case.expr, run_language_case(case), &listed, &mut used, &mut tally, &mut problems);
            }
        }
        let _ = writeln!(
            report,
            "languageservices {name}: {} / {} passed ({} listed deviations)",
            tally.passed, tally.total, tally.deviating
        );
        passed += tally.passed;
        total += tally.total;
    }
    let _ = writeln!(report, "languageservices, all files: {passed} / {total} passed");

    let act: ActFile = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("act/exprparser-vectors.dev.json")).expect("act"),
    )
    .expect("act JSON");
    let mut tally = Tally::default();
    for case in &act.cases {
        score("act", &case.expr, run_act_case(case), &listed, &mut used, &mut tally, &mut problems);
    }
    let _ = writeln!(
        report,
        "act exprparser-vectors.dev.json: {} / {} passed ({} listed deviations)",
        tally.passed, tally.total, tally.deviating
    );
    println!("{report}");

    for stale in listed.difference(&used) {
        let _ = writeln!(
            problems,
            "DEVIATIONS.md lists {}: `{}`, but it passes (or does not exist): remove it",
            stale.0, stale.1
        );
    }
    assert!(problems.is_empty(), "cases that fail and are not listed in DEVIATIONS.md:\n{problems}");
}
