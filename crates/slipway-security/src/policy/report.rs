//! Results written out, pure: conftest's text (`FAIL - file - namespace - message` lines and a
//! summary), conftest's JSON (an array of `{filename, namespace, successes, warnings, failures,
//! exceptions}`, tab-indented as conftest writes it), SARIF 2.1.0 (conftest's shape: a rule per
//! namespace and kind, `main/deny`, `main/warn`, `main/allow`, `main/success`; an invocation
//! with the exit code), and JUnit XML (conftest's shape: a test suite per namespace named
//! `conftest.<namespace>`, a failing test case per failure and warning, a passing one per
//! success).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::check::{CheckResult, PolicyResult, totals};

/// conftest's default output: a line per warning, failure and exception, a blank line, the
/// summary.
#[must_use]
pub fn text(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for result in results {
        for (label, list) in [("WARN", &result.warnings), ("FAIL", &result.failures), ("EXCP", &result.exceptions)] {
            for item in list {
                let _ = writeln!(out, "{label} - {} - {} - {}", result.filename, result.namespace, item.msg);
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", summary(results));
    out
}

/// `N tests, N passed, N warnings, N failures, N exceptions`, singular where conftest says so.
#[must_use]
pub fn summary(results: &[CheckResult]) -> String {
    let totals = totals(results);
    let plural = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    format!(
        "{}, {} passed, {}, {}, {}",
        plural(totals.tests, "test"),
        totals.passed,
        plural(totals.warnings, "warning"),
        plural(totals.failures, "failure"),
        plural(totals.exceptions, "exception")
    )
}

/// conftest's JSON output, tab-indented, with a final newline.
#[must_use]
pub fn json(results: &[CheckResult]) -> String {
    let mut bytes = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut bytes, serde_json::ser::PrettyFormatter::with_indent(b"\t"));
    if results.serialize(&mut serializer).is_err() {
        return "[]\n".to_owned();
    }
    let mut text = String::from_utf8(bytes).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

const SUCCESS: &str = "Policy was satisfied successfully";
const SKIPPED: &str = "Policy check was skipped";

fn rule_description(kind: &str) -> &'static str {
    match kind {
        "success" => SUCCESS,
        "skip" => SKIPPED,
        "allow" => "Policy exception",
        "warn" => "Policy warning",
        _ => "Policy violation",
    }
}

/// The results as a SARIF 2.1.0 log in conftest's shape: a rule `<namespace>/<kind>` for each
/// kind of result met (`deny` errors, `warn` warnings, `allow` exceptions as notes, and one
/// `success` or `skip` result for a file without failures or warnings), each result at its
/// file (or the `_loc` the rule gave), and an invocation with the exit code.
#[must_use]
pub fn sarif(results: &[CheckResult]) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut indices: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Value> = Vec::new();
    let mut add = |item: &PolicyResult, namespace: &str, kind: &str, level: &str, file: &str| {
        let id = format!("{namespace}/{kind}");
        let index = *indices.entry(id.clone()).or_insert_with(|| {
            let description = rule_description(kind);
            let mut rule = json!({
                "id": id,
                "shortDescription": { "text": description },
                "fullDescription": { "text": description },
            });
            if !item.metadata.is_empty() {
                rule["properties"] = Value::Object(item.metadata.clone());
            }
            rules.push(rule);
            rules.len() - 1
        });
        let mut physical = json!({ "artifactLocation": { "uri": crate::report::uri(file) } });
        if let Some(location) = &item.location {
            if !location.file.is_empty() {
                physical["artifactLocation"]["uri"] = json!(crate::report::uri(&location.file));
            }
            if let Some(line) = location.line.filter(|line| *line > 0) {
                physical["region"] = json!({ "startLine": line, "endLine": line });
            }
        }
        out.push(json!({
            "ruleId": id,
            "ruleIndex": index,
            "level": level,
            "message": { "text": item.msg },
            "locations": [{ "physicalLocation": physical }],
        }));
    };
    for result in results {
        for failure in &result.failures {
            add(failure, &result.namespace, "deny", "error", &result.filename);
        }
        for warning in &result.warnings {
            add(warning, &result.namespace, "warn", "warning", &result.filename);
        }
        for exception in &result.exceptions {
            add(exception, &result.namespace, "allow", "note", &result.filename);
        }
        if !result.failures.is_empty() || !result.warnings.is_empty() {
            continue;
        }
        let (kind, message) = if result.successes > 0 || !result.exceptions.is_empty() {
            ("success", SUCCESS)
        } else {
            ("skip", SKIPPED)
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("description".to_owned(), json!(message));
        let status = PolicyResult { msg: message.to_owned(), location: None, metadata };
        add(&status, &result.namespace, kind, "none", &result.filename);
    }
    let totals = totals(results);
    let (code, description) = if totals.failures > 0 {
        (1, "Policy violations found")
    } else if totals.warnings > 0 {
        (0, "Policy warnings found")
    } else {
        (0, "No policy violations found")
    };
    let mut log = crate::report::sarif_log(Some("https://www.conftest.dev/"), rules, out);
    log["runs"][0]["invocations"] =
        json!([{ "executionSuccessful": true, "exitCode": code, "exitCodeDescription": description }]);
    log
}

/// Text escaped for XML as Go's `encoding/xml` escapes it (what conftest's JUnit writer uses):
/// `&<>"'`, tabs and line breaks as character references, characters XML cannot hold as U+FFFD.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            other => out.push(other),
        }
    }
    out
}

/// One JUnit test case: its name and, when it failed, its message.
struct TestCase {
    name: String,
    failure: Option<String>,
}

/// The results as JUnit XML in conftest's shape.
#[must_use]
pub fn junit(results: &[CheckResult]) -> String {
    let mut suites: BTreeMap<&str, Vec<TestCase>> = BTreeMap::new();
    for result in results {
        let cases = suites.entry(&result.namespace).or_default();
        for item in result.warnings.iter().chain(&result.failures) {
            let summary = item.msg.lines().next().unwrap_or("");
            cases.push(TestCase { name: format!("{} - {summary}", result.filename), failure: Some(item.msg.clone()) });
        }
        for _ in 0..result.successes {
            cases.push(TestCase { name: result.filename.clone(), failure: None });
        }
    }
    suites.retain(|_, cases| !cases.is_empty());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if suites.is_empty() {
        out.push_str("<testsuites></testsuites>\n");
        return out;
    }
    out.push_str("<testsuites>\n");
    for (namespace, cases) in &suites {
        let suite = xml_escape(&format!("conftest.{namespace}"));
        let failures = cases.iter().filter(|case| case.failure.is_some()).count();
        let _ = writeln!(
            out,
            "\t<testsuite tests=\"{}\" failures=\"{failures}\" time=\"0.000\" name=\"{suite}\">",
            cases.len()
        );
        out.push_str("\t\t<properties>\n");
        let _ = writeln!(
            out,
            "\t\t\t<property name=\"slipway.version\" value=\"{}\"></property>",
            env!("CARGO_PKG_VERSION")
        );
        out.push_str("\t\t</properties>\n");
        for case in cases {
            let name = xml_escape(&case.name);
            match &case.failure {
                Some(message) => {
                    let _ = writeln!(out, "\t\t<testcase classname=\"{suite}\" name=\"{name}\" time=\"0.000\">");
                    let _ =
                        writeln!(out, "\t\t\t<failure message=\"Failed\" type=\"\">{}</failure>", xml_escape(message));
                    out.push_str("\t\t</testcase>\n");
                }
                None => {
                    let _ =
                        writeln!(out, "\t\t<testcase classname=\"{suite}\" name=\"{name}\" time=\"0.000\"></testcase>");
                }
            }
        }
        out.push_str("\t</testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(msg: &str, query: &str) -> PolicyResult {
        let mut metadata = serde_json::Map::new();
        metadata.insert("query".to_owned(), json!(query));
        PolicyResult { msg: msg.to_owned(), location: None, metadata }
    }

    fn sample() -> Vec<CheckResult> {
        vec![
            CheckResult {
                filename: "deployment.yaml".into(),
                namespace: "main".into(),
                successes: 2,
                warnings: vec![item("images should not use <latest> & \"friends\"", "data.main.warn")],
                failures: vec![item("Containers must not run as root\nsee the guide", "data.main.deny")],
                exceptions: vec![],
            },
            CheckResult {
                filename: "service.yaml".into(),
                namespace: "main".into(),
                successes: 3,
                warnings: vec![],
                failures: vec![],
                exceptions: vec![PolicyResult {
                    msg: "data.main.exception[_][_] == \"x\"".into(),
                    location: None,
                    metadata: serde_json::Map::new(),
                }],
            },
        ]
    }

    #[test]
    fn text_is_conftests() {
        insta::assert_snapshot!(text(&sample()), @r#"
        WARN - deployment.yaml - main - images should not use <latest> & "friends"
        FAIL - deployment.yaml - main - Containers must not run as root
        see the guide
        EXCP - service.yaml - main - data.main.exception[_][_] == "x"

        8 tests, 5 passed, 1 warning, 1 failure, 1 exception
        "#);
        assert_eq!(summary(&[]), "0 tests, 0 passed, 0 warnings, 0 failures, 0 exceptions");
    }

    #[test]
    fn json_is_conftests_shape() {
        let text = json(&sample());
        assert!(text.starts_with("[\n\t{\n\t\t\"filename\": \"deployment.yaml\""), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(value[0]["failures"][0]["metadata"]["query"], "data.main.deny");
        assert_eq!(value[1]["successes"], 3);
        assert!(value[1].get("failures").is_none() && value[1].get("warnings").is_none(), "empty lists left out");
        assert_eq!(value[1]["exceptions"][0], json!({"msg": "data.main.exception[_][_] == \"x\""}));
    }

    #[test]
    fn sarif_validates_against_the_schema() {
        let mut results = sample();
        results[0].failures[0].location =
            Some(super::super::check::Location { file: "k8s/deployment.yaml".into(), line: Some(7) });
        let log = sarif(&results);
        let errors = slipway_testing::schemas::sarif_errors(&log);
        assert!(errors.is_empty(), "{errors:#?}");
        let ids: Vec<&str> =
            log["runs"][0]["results"].as_array().into_iter().flatten().filter_map(|r| r["ruleId"].as_str()).collect();
        assert_eq!(ids, ["main/deny", "main/warn", "main/allow", "main/success"]);
        assert_eq!(log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 7);
        assert_eq!(log["runs"][0]["invocations"][0]["exitCode"], 1);
        let empty = sarif(&[]);
        assert!(slipway_testing::schemas::sarif_errors(&empty).is_empty());
        let mut broken = log.clone();
        broken["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!slipway_testing::schemas::sarif_errors(&broken).is_empty(), "the validator notices a broken log");
    }

    #[test]
    fn junit_is_conftests_shape_and_escaped() {
        insta::assert_snapshot!(junit(&sample()), @r#"
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites>
        	<testsuite tests="7" failures="2" time="0.000" name="conftest.main">
        		<properties>
        			<property name="slipway.version" value="0.1.0"></property>
        		</properties>
        		<testcase classname="conftest.main" name="deployment.yaml - images should not use &lt;latest&gt; &amp; &#34;friends&#34;" time="0.000">
        			<failure message="Failed" type="">images should not use &lt;latest&gt; &amp; &#34;friends&#34;</failure>
        		</testcase>
        		<testcase classname="conftest.main" name="deployment.yaml - Containers must not run as root" time="0.000">
        			<failure message="Failed" type="">Containers must not run as root&#xA;see the guide</failure>
        		</testcase>
        		<testcase classname="conftest.main" name="deployment.yaml" time="0.000"></testcase>
        		<testcase classname="conftest.main" name="deployment.yaml" time="0.000"></testcase>
        		<testcase classname="conftest.main" name="service.yaml" time="0.000"></testcase>
        		<testcase classname="conftest.main" name="service.yaml" time="0.000"></testcase>
        		<testcase classname="conftest.main" name="service.yaml" time="0.000"></testcase>
        	</testsuite>
        </testsuites>
        "#);
        assert_eq!(junit(&[]), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites></testsuites>\n");
        assert_eq!(xml_escape("a\u{1}b"), "a\u{fffd}b");
    }
}
