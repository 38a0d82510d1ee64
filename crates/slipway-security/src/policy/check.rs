//! Evaluating inputs against policies as conftest does. For each input and namespace, every rule
//! named `deny`, `violation`, `warn` or one of them with `_suffix`s (`deny_public_bucket`) is
//! queried (`data.<namespace>.<rule>`). A rule's results are strings or objects with a string
//! `msg` (the other fields are kept as metadata, `_loc` as the place); `deny` and `violation`
//! results are failures, `warn` ones warnings, and every result carries `metadata.query`. A rule
//! without results counts as one success. An `exception` rule in the namespace whose values
//! (lists of rule names without their `deny_`/`violation_`/`warn_` prefix; `""` for the bare
//! rules) name a rule exempts the input from it: its results are dropped and an exception is
//! counted instead. As conftest counts, each rule definition is a test, so when a rule defined
//! twice yields nothing the second definition still counts as a success.

use std::path::Path;

use regorus::{Engine, Value};
use serde::Serialize;

use super::input::{Input, combine};
use super::load::PolicySet;
use super::{PolicyError, located};

/// The place a result points at (a result object's `_loc`: `{file, line}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// The line, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// One result of a rule: conftest's `Result` (`msg`, `loc`, `metadata`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyResult {
    /// The message.
    pub msg: String,
    /// Where in the input it points, when the rule said (`_loc`).
    #[serde(rename = "loc", skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The result object's other fields, and `query` (the rule that gave it).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The results of one input file (or the combined input) in one namespace: conftest's
/// `CheckResult`, serialised in conftest's JSON shape (empty lists left out).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// The input's path (`Combined` for a combined input).
    pub filename: String,
    /// The namespace (`main`).
    pub namespace: String,
    /// How many tests passed.
    pub successes: usize,
    /// `warn` results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<PolicyResult>,
    /// `deny` and `violation` results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<PolicyResult>,
    /// Rules an `exception` exempted the input from (the message is the exception's query).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<PolicyResult>,
}

impl CheckResult {
    /// How many tests this counts: successes, warnings, failures and exceptions.
    #[must_use]
    pub fn tests(&self) -> usize {
        self.successes + self.warnings.len() + self.failures.len() + self.exceptions.len()
    }
}

/// Totals over results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Tests.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Warnings.
    pub warnings: usize,
    /// Failures.
    pub failures: usize,
    /// Exceptions.
    pub exceptions: usize,
}

/// The totals of `results`.
#[must_use]
pub fn totals(results: &[CheckResult]) -> Totals {
    results.iter().fold(Totals::default(), |totals, result| Totals {
        tests: totals.tests + result.tests(),
        passed: totals.passed + result.successes,
        warnings: totals.warnings + result.warnings.len(),
        failures: totals.failures + result.failures.len(),
        exceptions: totals.exceptions + result.exceptions.len(),
    })
}

/// Which namespaces, and whether inputs are combined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The namespaces evaluated (conftest's `--namespace`, `main` by default).
    pub namespaces: Vec<String>,
    /// Every namespace the policies have, in the order they were loaded (`--all-namespaces`).
    pub all_namespaces: bool,
    /// All inputs as one array of `{path, contents}` (`--combine`).
    pub combine: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { namespaces: vec!["main".to_owned()], all_namespaces: false, combine: false }
    }
}

/// Evaluates every input against the policies: one [`CheckResult`] per namespace and input (or
/// per namespace for a combined input), namespaces first.
///
/// # Errors
/// [`PolicyError::UnknownNamespace`] for a namespace no policy has; [`PolicyError::Syntax`] or
/// [`PolicyError::Evaluation`] when regorus cannot evaluate a rule (a policy that parses but does
/// not compile, a builtin's error, a result that is neither a string nor an object with a `msg`).
pub fn check_all(set: &PolicySet, inputs: &[Input], options: &Options) -> Result<Vec<CheckResult>, PolicyError> {
    let namespaces = namespaces(set, options)?;
    let mut results = Vec::new();
    for namespace in &namespaces {
        if options.combine {
            let mut engine = set.engine.clone();
            results.push(check_document_set(&mut engine, set, namespace, "Combined", &[combine(inputs)])?);
            continue;
        }
        for input in inputs {
            let mut engine = set.engine.clone();
            add_file_info(&mut engine, &input.path);
            let documents: Vec<Value> = match &input.value {
                Value::Array(items) => items.iter().cloned().collect(),
                value => vec![value.clone()],
            };
            results.push(check_document_set(&mut engine, set, namespace, &input.path, &documents)?);
        }
    }
    Ok(results)
}

/// The namespaces `options` asks for, each known to the policies.
pub(crate) fn namespaces(set: &PolicySet, options: &Options) -> Result<Vec<String>, PolicyError> {
    let known = set.namespaces();
    if options.all_namespaces {
        return Ok(known);
    }
    for namespace in &options.namespaces {
        if !known.contains(namespace) {
            return Err(PolicyError::UnknownNamespace { namespace: namespace.clone(), known: known.join(", ") });
        }
    }
    Ok(options.namespaces.clone())
}

/// `data.conftest.file`: the input's name and directory, as conftest gives policies.
fn add_file_info(engine: &mut Engine, path: &str) {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| Path::new(path).to_owned());
    let name = absolute.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = absolute.parent().map(|dir| dir.display().to_string()).unwrap_or_default();
    let info = serde_json::json!({ "conftest": { "file": { "name": name, "dir": dir } } });
    if engine.add_data(Value::from(info)).is_err() {
        tracing::debug!("data.conftest is the policies' own; data.conftest.file not set for {path}");
    }
}

/// Whether a rule's name makes it a failure (`deny`, `violation`, with `_suffix`es).
pub(crate) fn is_failure(rule: &str) -> bool {
    ["deny", "violation"].iter().any(|prefix| has_form(rule, prefix))
}

/// Whether a rule's name makes it a warning (`warn`, with `_suffix`es).
pub(crate) fn is_warning(rule: &str) -> bool {
    has_form(rule, "warn")
}

/// `prefix(_[a-zA-Z0-9]+)*`.
fn has_form(rule: &str, prefix: &str) -> bool {
    let Some(rest) = rule.strip_prefix(prefix) else { return false };
    rest.is_empty()
        || rest.strip_prefix('_').is_some_and(|rest| {
            rest.split('_').all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric()))
        })
}

/// The name an exception lists a rule by: without `violation_`, `deny_`, `warn_` (in that
/// order, as conftest strips them); empty for the bare rules.
fn exception_name(rule: &str) -> &str {
    if matches!(rule, "deny" | "violation" | "warn") {
        return "";
    }
    let rule = rule.strip_prefix("violation_").unwrap_or(rule);
    let rule = rule.strip_prefix("deny_").unwrap_or(rule);
    rule.strip_prefix("warn_").unwrap_or(rule)
}

/// The rules of `namespace` to query, each once, and how many definitions they have.
pub(crate) fn rules_of(set: &PolicySet, namespace: &str) -> (Vec<String>, usize, bool) {
    let mut rules: Vec<String> = Vec::new();
    let mut count = 0;
    let mut has_exception = false;
    for module in set.modules.iter().filter(|module| module.namespace == namespace) {
        for rule in &module.rules {
            if rule == "exception" {
                has_exception = true;
            }
            if !is_failure(rule) && !is_warning(rule) {
                continue;
            }
            count += 1;
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
    }
    (rules, count, has_exception)
}

/// The documents of one input in one namespace, their results summed.
fn check_document_set(
    engine: &mut Engine,
    set: &PolicySet,
    namespace: &str,
    filename: &str,
    documents: &[Value],
) -> Result<CheckResult, PolicyError> {
    let (rules, count, has_exception) = rules_of(set, namespace);
    let mut total = CheckResult {
        filename: filename.to_owned(),
        namespace: namespace.to_owned(),
        successes: 0,
        warnings: Vec::new(),
        failures: Vec::new(),
        exceptions: Vec::new(),
    };
    for document in documents {
        engine.set_input(document.clone());
        let one = check_document(engine, namespace, filename, &rules, count, has_exception)?;
        total.successes += one.successes;
        total.warnings.extend(one.warnings);
        total.failures.extend(one.failures);
        total.exceptions.extend(one.exceptions);
    }
    Ok(total)
}

/// conftest's `check` of one document (the engine's input is set).
pub(crate) fn check_document(
    engine: &mut Engine,
    namespace: &str,
    filename: &str,
    rules: &[String],
    rule_count: usize,
    has_exception: bool,
) -> Result<CheckResult, PolicyError> {
    let mut result = CheckResult {
        filename: filename.to_owned(),
        namespace: namespace.to_owned(),
        successes: 0,
        warnings: Vec::new(),
        failures: Vec::new(),
        exceptions: Vec::new(),
    };
    let exceptions = if has_exception {
        let query = format!("data.{namespace}.exception");
        evaluate(engine, &query, filename)?
    } else {
        Value::Undefined
    };
    for rule in rules {
        let name = exception_name(rule);
        let excepted = count_exceptions(&exceptions, name);
        let exception_query = format!("data.{namespace}.exception[_][_] == {}", serde_json::json!(name));
        for _ in 0..excepted {
            result.exceptions.push(PolicyResult {
                msg: exception_query.clone(),
                location: None,
                metadata: serde_json::Map::new(),
            });
        }
        let query = format!("data.{namespace}.{rule}");
        let value = evaluate(engine, &query, filename)?;
        let items = results_of(&value, &query, filename)?;
        if excepted > 0 {
            continue;
        }
        if items.is_empty() {
            result.successes += 1;
            continue;
        }
        for item in items {
            if is_failure(rule) {
                result.failures.push(item);
            } else {
                result.warnings.push(item);
            }
        }
    }
    let counted = result.tests();
    if counted < rule_count {
        result.successes += rule_count - counted;
    }
    Ok(result)
}

/// Evaluates a rule, its errors made [`PolicyError`]s.
fn evaluate(engine: &mut Engine, query: &str, filename: &str) -> Result<Value, PolicyError> {
    engine.eval_rule(query.to_owned()).map_err(|error| {
        let text = error.to_string();
        match located(&text) {
            Some((path, position, message, excerpt)) => PolicyError::Syntax { path, position, message, excerpt },
            None => PolicyError::Evaluation {
                query: query.to_owned(),
                file: filename.to_owned(),
                message: text.trim().to_owned(),
            },
        }
    })
}

/// How many times an `exception` value names `name` (conftest counts each match of
/// `exception[_][_] == name`).
fn count_exceptions(exceptions: &Value, name: &str) -> usize {
    let wanted = Value::from(name);
    elements(exceptions).iter().map(|listed| elements(listed).iter().filter(|rule| **rule == wanted).count()).sum()
}

/// The items of a set or an array (nothing for anything else).
fn elements(value: &Value) -> Vec<Value> {
    match value {
        Value::Set(items) => items.iter().cloned().collect(),
        Value::Array(items) => items.iter().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A rule's results: its strings and objects with a `msg`, each with `metadata.query`.
fn results_of(value: &Value, query: &str, filename: &str) -> Result<Vec<PolicyResult>, PolicyError> {
    if *value == Value::Bool(true) {
        return Err(PolicyError::Evaluation {
            query: query.to_owned(),
            file: filename.to_owned(),
            message: "the rule is true, not a set of messages: write `deny contains msg if { ... }` (a rule \
                      using `if` without `contains` is refused, as conftest refuses it)"
                .to_owned(),
        });
    }
    let mut results = Vec::new();
    for item in elements(value) {
        let json = serde_json::to_value(&item).unwrap_or(serde_json::Value::Null);
        match json {
            serde_json::Value::String(msg) => {
                let mut metadata = serde_json::Map::new();
                metadata.insert("query".to_owned(), serde_json::Value::from(query));
                results.push(PolicyResult { msg, location: None, metadata });
            }
            serde_json::Value::Object(mut object) => {
                let Some(serde_json::Value::String(msg)) = object.remove("msg") else {
                    return Err(PolicyError::Evaluation {
                        query: query.to_owned(),
                        file: filename.to_owned(),
                        message: "a result object must have a string \"msg\"".to_owned(),
                    });
                };
                let location = object.remove("_loc").and_then(|loc| {
                    let file = loc.get("file").and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
                    let line = loc.get("line").and_then(serde_json::Value::as_u64);
                    (!file.is_empty() || line.is_some()).then_some(Location { file, line })
                });
                object.insert("query".to_owned(), serde_json::Value::from(query));
                results.push(PolicyResult { msg, location, metadata: object });
            }
            // conftest ignores results of other kinds.
            _ => {}
        }
    }
    Ok(results)
}

/// Whether the results fail: any failure, or any warning when warnings fail too
/// (`--fail-on-warn`).
#[must_use]
pub fn fails(results: &[CheckResult], fail_on_warn: bool) -> bool {
    let totals = totals(results);
    totals.failures > 0 || (fail_on_warn && totals.warnings > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::input::{InputFormat, parse};
    use crate::policy::load::RegoVersion;

    fn policies(sources: &[(&str, &str)]) -> PolicySet {
        let sources: Vec<(String, String)> =
            sources.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect();
        PolicySet::from_sources(&sources, RegoVersion::Auto).unwrap_or_else(|error| panic!("{error}"))
    }

    fn run(set: &PolicySet, inputs: &[Input], options: &Options) -> Vec<CheckResult> {
        check_all(set, inputs, options).unwrap_or_else(|error| panic!("{error}"))
    }

    fn yaml(path: &str, text: &str) -> Input {
        Input { path: path.to_owned(), value: parse(path, text, InputFormat::Yaml).unwrap_or_else(|e| panic!("{e}")) }
    }

    fn messages(list: &[PolicyResult]) -> Vec<&str> {
        list.iter().map(|result| result.msg.as_str()).collect()
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n";

    #[test]
    fn v0_and_v1_rules_prefixed_rules_and_object_results() {
        let v0 = r#"package main

deny[msg] {
  input.kind == "Deployment"
  not input.spec.template.spec.securityContext.runAsNonRoot
  msg := sprintf("Containers must not run as root in Deployment %s", [input.metadata.name])
}

warn_latest[msg] {
  endswith(input.spec.template.spec.containers[_].image, ":latest")
  msg := "images should not use the latest tag"
}
"#;
        let v1 = r#"package main

violation_labels contains {"msg": msg, "details": {"missing": "app"}} if {
  not input.metadata.labels.app
  msg := sprintf("%s must have an app label", [input.metadata.name])
}

deny_nothing contains "never" if {
  input.kind == "Nothing"
}
"#;
        let set = policies(&[("policy/v0.rego", v0), ("policy/v1.rego", v1)]);
        let results = run(&set, &[yaml("deployment.yaml", DEPLOYMENT)], &Options::default());
        assert_eq!(results.len(), 1);
        let result = &results[0];
        assert_eq!(
            messages(&result.failures),
            ["Containers must not run as root in Deployment web", "web must have an app label"]
        );
        assert_eq!(messages(&result.warnings), ["images should not use the latest tag"]);
        assert_eq!(result.successes, 1, "deny_nothing passed");
        assert_eq!(result.failures[1].metadata["details"], serde_json::json!({"missing": "app"}));
        assert_eq!(result.failures[1].metadata["query"], "data.main.violation_labels");
        assert_eq!(result.failures[0].metadata["query"], "data.main.deny");
        assert_eq!(totals(&results), Totals { tests: 4, passed: 1, warnings: 1, failures: 2, exceptions: 0 });
    }

    #[test]
    fn exceptions_exempt_inputs_from_rules_by_name() {
        let policy = r#"package main
import rego.v1

deny_run_as_root contains msg if {
  input.kind == "Deployment"
  not input.spec.template.spec.securityContext.runAsNonRoot
  msg := "Containers must not run as root"
}

exception contains rules if {
  input.kind == "Deployment"
  input.metadata.name == "can-run-as-root"
  rules := ["run_as_root"]
}
"#;
        let set = policies(&[("policy/p.rego", policy)]);
        let text = DEPLOYMENT.replace("name: web\nspec", "name: can-run-as-root\nspec");
        let both = format!("{DEPLOYMENT}---\n{text}");
        let results = run(&set, &[yaml("deployments.yaml", &both)], &Options::default());
        let result = &results[0];
        assert_eq!(messages(&result.failures), ["Containers must not run as root"]);
        assert_eq!(messages(&result.exceptions), ["data.main.exception[_][_] == \"run_as_root\""]);
        assert_eq!(totals(&results), Totals { tests: 2, passed: 0, warnings: 0, failures: 1, exceptions: 1 });
    }

    #[test]
    fn successes_count_rule_definitions_and_documents() {
        let policy = "package main\n\ndeny[msg] {\n  input.a\n  msg := \"a\"\n}\n\ndeny[msg] {\n  input.b\n  msg := \"b\"\n}\n\nwarn[msg] {\n  input.c\n  msg := \"c\"\n}\n";
        let set = policies(&[("p.rego", policy)]);
        // Two documents: the first fails one deny, the second nothing.
        let results = run(&set, &[yaml("two.yaml", "a: true\n---\nz: 1\n")], &Options::default());
        // First: deny gives 1 failure, warn passes (1), and one more deny definition counts: 2.
        // Second: deny passes, warn passes, the count of 3 definitions makes it 3.
        assert_eq!(totals(&results), Totals { tests: 6, passed: 5, warnings: 0, failures: 1, exceptions: 0 });
    }

    #[test]
    fn combined_inputs_are_judged_together() {
        let policy = r#"package main
import rego.v1

deny contains msg if {
  some i
  input[i].contents.kind == "Deployment"
  app := input[i].contents.spec.selector.matchLabels.app
  not service_selects(app)
  msg := sprintf("Deployment %s with selector %s does not match any Services", [input[i].contents.metadata.name, app])
}

service_selects(app) if {
  some j
  input[j].contents.kind == "Service"
  input[j].contents.spec.selector.app == app
}
"#;
        let set = policies(&[("combine.rego", policy)]);
        let service = yaml("service.yaml", "kind: Service\nmetadata:\n  name: s\nspec:\n  selector:\n    app: other\n");
        let deployment = yaml(
            "deployment.yaml",
            "kind: Deployment\nmetadata:\n  name: hello\nspec:\n  selector:\n    matchLabels:\n      app: hello\n",
        );
        let options = Options { combine: true, ..Options::default() };
        let results = run(&set, &[service, deployment], &options);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].filename, "Combined");
        assert_eq!(
            messages(&results[0].failures),
            ["Deployment hello with selector hello does not match any Services"]
        );
    }

    #[test]
    fn namespaces_one_all_or_unknown() {
        let set = policies(&[
            ("a.rego", "package main\nimport rego.v1\ndeny contains \"main\" if input.x\n"),
            ("b.rego", "package kubernetes.labels\nimport rego.v1\nwarn contains \"k8s\" if input.x\n"),
        ]);
        let input = [Input::from_json("x.json", serde_json::json!({"x": true}))];
        let results = run(&set, &input, &Options { all_namespaces: true, ..Options::default() });
        let found: Vec<(&str, usize, usize)> = results
            .iter()
            .map(|result| (result.namespace.as_str(), result.failures.len(), result.warnings.len()))
            .collect();
        assert_eq!(found, [("main", 1, 0), ("kubernetes.labels", 0, 1)]);
        let error = check_all(&set, &input, &Options { namespaces: vec!["nope".into()], ..Options::default() });
        assert!(matches!(error, Err(PolicyError::UnknownNamespace { .. })), "{error:?}");
    }

    #[test]
    fn results_of_the_wrong_shape_and_if_without_contains_are_errors() {
        let set = policies(&[("p.rego", "package main\nimport rego.v1\ndeny contains {\"message\": \"x\"} if true\n")]);
        let input = [Input::from_json("x.json", serde_json::json!({}))];
        let error = check_all(&set, &input, &Options::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("must have a string \"msg\""), "{error}");
        let set = policies(&[("p.rego", "package main\nimport rego.v1\ndeny if input.x\n")]);
        let input = [Input::from_json("x.json", serde_json::json!({"x": 1}))];
        let error = check_all(&set, &input, &Options::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("without `contains`"), "{error}");
    }

    #[test]
    fn rule_name_forms() {
        for rule in ["deny", "violation", "deny_x", "violation_a_b1"] {
            assert!(is_failure(rule), "{rule}");
        }
        for rule in ["denyx", "deny_", "deny__x", "warn", "allow", "violations"] {
            assert!(!is_failure(rule), "{rule}");
        }
        assert!(is_warning("warn_latest") && !is_warning("warning"));
        assert_eq!(exception_name("deny"), "");
        assert_eq!(exception_name("violation_deny_x"), "x");
        assert_eq!(exception_name("warn_y"), "y");
    }
}
