//! NUnit results: NUnit 2 (`test-results`, with `test-suite`/`results`/`test-case`, outcomes in
//! `result`, `executed` and `success`, `time` in seconds) and NUnit 3 (`test-run`, with nested
//! `test-suite`s and `test-case`s whose `result` is `Passed`, `Failed`, `Skipped`,
//! `Inconclusive` or `Warning`, `duration` in seconds).
//!
//! Failures carry `failure/message` and `failure/stack-trace`; skipped tests `reason/message`.
//! Only a `failure` directly inside a `test-case` counts (suites have their own, which repeat
//! their children's). A case's suite is NUnit 3's `classname`, or for NUnit 2 the namespaces and
//! fixture around it (`MyApp.Tests.CalculatorTests`); names lose that prefix. As in Azure, an
//! NUnit 2 run is named after the `test-results` element's `name`; NUnit 3 runs get the default
//! name. The duration is NUnit 3's `test-run` `duration`, or the sum of the top-level suites'
//! times when they all have one, or of the cases'.

use slipway_events::{TestCase, TestOutcome};

use super::results::{Parsed, case, clean, seconds, short_name};
use super::xml::{Element, Node, XmlError, XmlFile};

/// An open `test-suite`.
struct Suite {
    depth: usize,
    kind: String,
    name: Option<String>,
    full_name: Option<String>,
}

/// Reads an NUnit file whose root element is `root` (already read).
pub(super) fn parse(xml: &mut XmlFile, root: &Element) -> Result<Parsed, XmlError> {
    let version3 = if root.is("test-run") {
        true
    } else if root.is("test-results") {
        false
    } else {
        return Ok(Parsed::default());
    };
    let title = if version3 { None } else { root.text("name").map(str::to_owned) };
    let run_duration = if version3 { root.text("duration").and_then(seconds) } else { None };
    let time_attribute = if version3 { "duration" } else { "time" };
    let mut tests = Vec::new();
    let mut suites: Vec<Suite> = Vec::new();
    let mut top_times: Vec<Option<u64>> = Vec::new();
    while let Some(node) = xml.next()? {
        let element = match node {
            Node::Start(element) => element,
            Node::End => {
                while suites.last().is_some_and(|suite| suite.depth > xml.depth()) {
                    suites.pop();
                }
                continue;
            }
        };
        if element.is("test-suite") {
            if suites.is_empty() {
                top_times.push(element.text(time_attribute).and_then(seconds));
            }
            suites.push(Suite {
                depth: xml.depth(),
                kind: element.text("type").unwrap_or_default().to_owned(),
                name: element.text("name").map(str::to_owned),
                full_name: element.text("fullname").or_else(|| element.text("classname")).map(str::to_owned),
            });
        } else if element.is("test-case") {
            let suite = if version3 {
                element.text("classname").map(str::to_owned).or_else(|| fixture_name3(&suites))
            } else {
                fixture_name2(&suites)
            };
            if let Some(test) = test_case(xml, &element, suite, version3)? {
                tests.push(test);
            }
        } else if !element.is("results") {
            // environment, settings, properties, a suite's own failure or reason, output...
            xml.skip()?;
        }
    }
    let suite_times = if top_times.is_empty() { None } else { top_times.into_iter().sum::<Option<u64>>() };
    Ok(Parsed { title, tests, duration_ms: run_duration.or(suite_times) })
}

fn is_fixture(suite: &Suite) -> bool {
    ["TestFixture", "ParameterizedFixture", "GenericFixture", "SetUpFixture"]
        .iter()
        .any(|kind| suite.kind.eq_ignore_ascii_case(kind))
}

/// NUnit 3: the innermost fixture's full name, or the innermost suite's.
fn fixture_name3(suites: &[Suite]) -> Option<String> {
    suites
        .iter()
        .rev()
        .find(|suite| is_fixture(suite))
        .or_else(|| suites.last())
        .and_then(|suite| suite.full_name.clone().or_else(|| suite.name.clone()))
}

/// NUnit 2: the namespaces and the innermost fixture (`MyApp.Tests.CalculatorTests`), or the
/// innermost suite's name.
fn fixture_name2(suites: &[Suite]) -> Option<String> {
    let Some(fixture) = suites.iter().rposition(is_fixture) else {
        return suites.last().and_then(|suite| suite.name.clone());
    };
    let parts: Vec<&str> = suites[..=fixture]
        .iter()
        .enumerate()
        .filter(|(index, suite)| *index == fixture || suite.kind.eq_ignore_ascii_case("Namespace"))
        .filter_map(|(_, suite)| suite.name.as_deref())
        .collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Reads a `test-case` (its start tag just read) to its end; `None` when it has no name.
fn test_case(
    xml: &mut XmlFile,
    element: &Element,
    suite: Option<String>,
    version3: bool,
) -> Result<Option<TestCase>, XmlError> {
    let result = element.text("result").unwrap_or_default().to_ascii_lowercase();
    let mut outcome = if version3 {
        match result.as_str() {
            "passed" | "warning" => TestOutcome::Passed,
            "failed" => TestOutcome::Failed,
            _ => TestOutcome::Skipped,
        }
    } else {
        match result.as_str() {
            "success" => TestOutcome::Passed,
            "failure" | "error" | "cancelled" | "notrunnable" => TestOutcome::Failed,
            "ignored" | "skipped" | "inconclusive" => TestOutcome::Skipped,
            _ if element.text("executed").is_some_and(|executed| executed.eq_ignore_ascii_case("false")) => {
                TestOutcome::Skipped
            }
            _ if element.text("success").is_some_and(|success| success.eq_ignore_ascii_case("false")) => {
                TestOutcome::Failed
            }
            _ => TestOutcome::Passed,
        }
    };
    let depth = xml.depth();
    let mut message = None;
    let mut stack_trace = None;
    while let Some(child) = xml.child(depth)? {
        let failure = child.is("failure");
        if !failure && !child.is("reason") {
            continue;
        }
        if failure {
            outcome = TestOutcome::Failed;
        }
        let inner = xml.depth();
        while let Some(part) = xml.child(inner)? {
            if part.is("message") {
                let text = clean(&xml.read_text()?);
                if failure || message.is_none() {
                    message = text;
                }
            } else if part.is("stack-trace") && failure {
                stack_trace = clean(&xml.read_text()?);
            }
        }
    }
    let Some(name) = element.text("name") else { return Ok(None) };
    let duration = element.text(if version3 { "duration" } else { "time" }).and_then(seconds).unwrap_or(0);
    let name = short_name(name, suite.as_deref());
    Ok(Some(case(name, suite, outcome, duration, message, stack_trace)))
}

#[cfg(test)]
mod tests {
    use super::super::results::{Format, read};
    use super::*;

    fn parse_text(text: &str) -> Result<Parsed, XmlError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("TestResult.xml");
        std::fs::write(&path, text).expect("write");
        read(Format::NUnit, &path)
    }

    fn outline(parsed: &Parsed) -> String {
        let mut lines = vec![format!("title={:?} duration={:?}", parsed.title, parsed.duration_ms)];
        for test in &parsed.tests {
            lines.push(format!(
                "{:?} {} :: {} ({} ms) message={:?} stack={:?}",
                test.outcome,
                test.suite.as_deref().unwrap_or("-"),
                test.name,
                test.duration_ms,
                test.message,
                test.stack_trace
            ));
        }
        lines.join("\n")
    }

    #[test]
    fn nunit2_results() {
        let parsed = parse_text(
            r#"<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!--This file represents the results of running a test suite-->
<test-results name="/build/MyApp.Tests.dll" total="4" errors="0" failures="1" not-run="1" inconclusive="0" ignored="1" skipped="0" invalid="0" date="2024-05-01" time="10:00:00">
  <environment nunit-version="2.6.4.14350" clr-version="4.0.30319.42000" os-version="Unix 6.5.0" platform="Unix" cwd="/build" machine-name="ci" user="ci" user-domain="ci" />
  <culture-info current-culture="en-US" current-uiculture="en-US" />
  <test-suite type="Assembly" name="/build/MyApp.Tests.dll" executed="True" result="Failure" success="False" time="0.250" asserts="3">
    <failure><message><![CDATA[One or more child tests had errors]]></message></failure>
    <results>
      <test-suite type="Namespace" name="MyApp" executed="True" result="Failure" success="False" time="0.2" asserts="3">
        <results>
          <test-suite type="Namespace" name="Tests" executed="True" result="Failure" success="False" time="0.2" asserts="3">
            <results>
              <test-suite type="TestFixture" name="CalculatorTests" executed="True" result="Failure" success="False" time="0.2" asserts="3">
                <results>
                  <test-case name="MyApp.Tests.CalculatorTests.Adds" executed="True" result="Success" success="True" time="0.010" asserts="1" />
                  <test-case name="MyApp.Tests.CalculatorTests.Divides" executed="True" result="Failure" success="False" time="0.021" asserts="1">
                    <failure>
                      <message><![CDATA[  Expected: 2
  But was:  3
]]></message>
                      <stack-trace><![CDATA[at MyApp.Tests.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 21
]]></stack-trace>
                    </failure>
                  </test-case>
                  <test-case name="MyApp.Tests.CalculatorTests.Rounds" executed="False" result="Ignored">
                    <reason><message><![CDATA[Not ready]]></message></reason>
                  </test-case>
                  <test-suite type="ParameterizedTest" name="Multiplies" executed="True" result="Success" success="True" time="0.002">
                    <results>
                      <test-case name="MyApp.Tests.CalculatorTests.Multiplies(2,3)" executed="True" success="True" time="0.001" asserts="1" />
                    </results>
                  </test-suite>
                </results>
              </test-suite>
            </results>
          </test-suite>
        </results>
      </test-suite>
    </results>
  </test-suite>
</test-results>"#,
        )
        .expect("parses");
        insta::assert_snapshot!(outline(&parsed), @r#"
        title=Some("/build/MyApp.Tests.dll") duration=Some(250)
        Passed MyApp.Tests.CalculatorTests :: Adds (10 ms) message=None stack=None
        Failed MyApp.Tests.CalculatorTests :: Divides (21 ms) message=Some("  Expected: 2\n  But was:  3") stack=Some("at MyApp.Tests.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 21")
        Skipped MyApp.Tests.CalculatorTests :: Rounds (0 ms) message=Some("Not ready") stack=None
        Passed MyApp.Tests.CalculatorTests :: Multiplies(2,3) (1 ms) message=None stack=None
        "#);
    }

    #[test]
    fn nunit3_results() {
        let parsed = parse_text(
            r#"<?xml version="1.0" encoding="utf-8" standalone="no"?>
<test-run id="2" testcasecount="5" result="Failed" total="5" passed="2" failed="1" warnings="0" inconclusive="1" skipped="1" asserts="3" engine-version="3.16.3" clr-version="8.0.1" start-time="2024-05-01 10:00:00Z" end-time="2024-05-01 10:00:01Z" duration="0.812">
  <command-line><![CDATA[nunit3-console MyApp.Tests.dll]]></command-line>
  <test-suite type="Assembly" id="0-1008" name="MyApp.Tests.dll" fullname="/build/MyApp.Tests.dll" runstate="Runnable" testcasecount="5" result="Failed" site="Child" start-time="2024-05-01T10:00:00.1Z" end-time="2024-05-01T10:00:00.6Z" duration="0.5" total="5" passed="2" failed="1" warnings="0" inconclusive="1" skipped="1" asserts="3">
    <environment framework-version="3.14.0.0" clr-version="8.0.1" os-version="Unix 6.5.0" platform="Unix" cwd="/build" machine-name="ci" user="ci" user-domain="ci" culture="en-US" uiculture="en-US" os-architecture="x64" />
    <settings><setting name="NumberOfTestWorkers" value="2" /></settings>
    <failure><message><![CDATA[One or more child tests had errors]]></message></failure>
    <test-suite type="TestSuite" id="0-1007" name="MyApp" fullname="MyApp" runstate="Runnable" testcasecount="5" result="Failed" site="Child" duration="0.4">
      <test-suite type="TestFixture" id="0-1000" name="CalculatorTests" fullname="MyApp.CalculatorTests" classname="MyApp.CalculatorTests" runstate="Runnable" testcasecount="5" result="Failed" site="Child" duration="0.3">
        <test-case id="0-1001" name="Adds" fullname="MyApp.CalculatorTests.Adds" methodname="Adds" classname="MyApp.CalculatorTests" runstate="Runnable" seed="1" result="Passed" start-time="2024-05-01T10:00:00.1Z" end-time="2024-05-01T10:00:00.11Z" duration="0.012" asserts="1" />
        <test-case id="0-1002" name="Divides" fullname="MyApp.CalculatorTests.Divides" methodname="Divides" classname="MyApp.CalculatorTests" runstate="Runnable" seed="2" result="Failed" label="Error" duration="0.034" asserts="1">
          <failure>
            <message><![CDATA[System.DivideByZeroException : Attempted to divide by zero.]]></message>
            <stack-trace><![CDATA[   at MyApp.Calculator.Divide(Int32 a, Int32 b) in /build/Calculator.cs:line 9
   at MyApp.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30]]></stack-trace>
          </failure>
          <output><![CDATA[about to divide
]]></output>
          <assertions><assertion result="Failed"><message><![CDATA[ignored here]]></message></assertion></assertions>
        </test-case>
        <test-case id="0-1003" name="Rounds" fullname="MyApp.CalculatorTests.Rounds" methodname="Rounds" classname="MyApp.CalculatorTests" runstate="Ignored" seed="3" result="Skipped" label="Ignored" duration="0" asserts="0">
          <properties><property name="_SKIPREASON" value="Not ready" /></properties>
          <reason><message><![CDATA[Not ready]]></message></reason>
        </test-case>
        <test-case id="0-1004" name="Parses" fullname="MyApp.CalculatorTests.Parses" classname="MyApp.CalculatorTests" result="Inconclusive" duration="0.001" />
        <test-case id="0-1005" name="Warns" fullname="MyApp.CalculatorTests.Warns" classname="MyApp.CalculatorTests" result="Warning" duration="0.002" />
      </test-suite>
    </test-suite>
  </test-suite>
</test-run>"#,
        )
        .expect("parses");
        insta::assert_snapshot!(outline(&parsed), @r#"
        title=None duration=Some(812)
        Passed MyApp.CalculatorTests :: Adds (12 ms) message=None stack=None
        Failed MyApp.CalculatorTests :: Divides (34 ms) message=Some("System.DivideByZeroException : Attempted to divide by zero.") stack=Some("   at MyApp.Calculator.Divide(Int32 a, Int32 b) in /build/Calculator.cs:line 9\n   at MyApp.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30")
        Skipped MyApp.CalculatorTests :: Rounds (0 ms) message=Some("Not ready") stack=None
        Skipped MyApp.CalculatorTests :: Parses (1 ms) message=None stack=None
        Passed MyApp.CalculatorTests :: Warns (2 ms) message=None stack=None
        "#);
    }

    #[test]
    fn other_roots_give_nothing_and_malformed_files_are_errors() {
        assert_eq!(parse_text("<testsuite><testcase name=\"a\"/></testsuite>").expect("parses"), Parsed::default());
        let error =
            parse_text("<test-run>\n<test-case name=\"a\" result=\"Passed\">\n</test-run>").expect_err("malformed");
        insta::assert_snapshot!(error, @"ill-formed document: expected `</test-case>`, but `</test-run>` was found. Line 3, position 1");
    }
}
