//! JUnit XML: `testsuites` / `testsuite` (nested to any depth) / `testcase` with `failure`,
//! `error` or `skipped`, `time` in seconds.
//!
//! Written by many tools with small differences, all handled here: Maven Surefire and Gradle
//! (`TEST-*.xml`, one `testsuite` root, `error` for exceptions, `flakyFailure`/`rerunFailure`
//! for reruns, which do not change the outcome), pytest (`testsuites` around one suite,
//! `skipped` with its reason as text), jest-junit (`failure` with the message only as text),
//! PHPUnit and Cypress (suites nested in suites). A case's suite is its `classname` (PHPUnit's
//! `class`), or the innermost enclosing suite's name. As in Azure's reader, the run is named
//! after the only top-level suite, or `JUnit_FILE` when there are several; its duration is the
//! sum of the top-level suites' `time` when they all have one, else the `testsuites` element's
//! `time`, else the sum of the cases'. A failure without a `message` attribute (jest-junit) takes
//! the first line of its text, or its `type`.

use slipway_events::{TestCase, TestOutcome};

use super::results::{Parsed, case, clean, first_line, seconds};
use super::xml::{Element, Node, XmlError, XmlFile};

/// Reads a JUnit file whose root element is `root` (already read).
pub(super) fn parse(xml: &mut XmlFile, root: &Element, file_name: &str) -> Result<Parsed, XmlError> {
    if !root.is("testsuites") && !root.is("testsuite") {
        return Ok(Parsed::default());
    }
    let wrapper_time = if root.is("testsuites") { root.text("time").and_then(seconds) } else { None };
    let mut tests = Vec::new();
    // Open suites: the depth of their start tag and their name.
    let mut suites: Vec<(usize, Option<String>)> = Vec::new();
    // Top-level suites: name and time.
    let mut top: Vec<(Option<String>, Option<u64>)> = Vec::new();
    let mut next = Some(root.clone());
    loop {
        let element = match next.take() {
            Some(element) => element,
            None => match xml.next()? {
                Some(Node::Start(element)) => element,
                Some(Node::End) => {
                    while suites.last().is_some_and(|(depth, _)| *depth > xml.depth()) {
                        suites.pop();
                    }
                    continue;
                }
                None => break,
            },
        };
        if element.is("testsuite") {
            let name = element.text("name").map(str::to_owned);
            if suites.is_empty() {
                top.push((name.clone(), element.text("time").and_then(seconds)));
            }
            suites.push((xml.depth(), name));
        } else if element.is("testcase") {
            let enclosing = suites.last().and_then(|(_, name)| name.clone());
            if let Some(test) = test_case(xml, &element, enclosing)? {
                tests.push(test);
            }
        } else if !element.is("testsuites") {
            // properties, system-out, system-err: not kept.
            xml.skip()?;
        }
    }
    let title = match top.as_slice() {
        [(Some(name), _)] => name.clone(),
        [] | [(None, _)] => "JUnit".to_owned(),
        _ => format!("JUnit_{file_name}"),
    };
    let suite_times: Option<u64> =
        if top.is_empty() { None } else { top.iter().map(|(_, time)| *time).sum::<Option<u64>>() };
    Ok(Parsed { title: Some(title), tests, duration_ms: suite_times.or(wrapper_time) })
}

/// Reads a `testcase` (its start tag just read) to its end. `None` when it has no name (Azure
/// drops those).
fn test_case(xml: &mut XmlFile, element: &Element, enclosing: Option<String>) -> Result<Option<TestCase>, XmlError> {
    let depth = xml.depth();
    let mut outcome = TestOutcome::Passed;
    let mut message = None;
    let mut stack_trace = None;
    while let Some(child) = xml.child(depth)? {
        if (child.is("failure") || child.is("error")) && outcome != TestOutcome::Failed {
            outcome = TestOutcome::Failed;
            let text = xml.read_text()?;
            message = child
                .text("message")
                .map(str::to_owned)
                .or_else(|| first_line(&text))
                .or_else(|| child.text("type").map(str::to_owned));
            stack_trace = clean(&text);
        } else if child.is("skipped") && outcome == TestOutcome::Passed {
            outcome = TestOutcome::Skipped;
            let text = xml.read_text()?;
            message = child.text("message").map(str::to_owned).or_else(|| clean(&text));
        }
    }
    let Some(name) = element.text("name") else { return Ok(None) };
    let suite = element.text("classname").or_else(|| element.text("class")).map(str::to_owned).or(enclosing);
    let duration = element.text("time").and_then(seconds).unwrap_or(0);
    Ok(Some(case(name.to_owned(), suite, outcome, duration, message, stack_trace)))
}

#[cfg(test)]
mod tests {
    use super::super::results::{Format, read};
    use super::*;

    fn parse_text(name: &str, text: &str) -> Result<Parsed, XmlError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join(name);
        std::fs::write(&path, text).expect("write");
        read(Format::JUnit, &path)
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
    fn surefire_suite_with_failures_errors_skips_and_reruns() {
        let parsed = parse_text(
            "TEST-com.example.CalculatorTest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.CalculatorTest" time="1,204.5" tests="5" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="21.0.2"/>
  </properties>
  <testcase name="adds" classname="com.example.CalculatorTest" time="0.012"/>
  <testcase name="divides" classname="com.example.CalculatorTest" time="0.034">
    <failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
	at com.example.CalculatorTest.divides(CalculatorTest.java:21)
]]></failure>
    <system-out><![CDATA[dividing 6 by 3
]]></system-out>
  </testcase>
  <testcase name="parses" classname="com.example.CalculatorTest" time="0.001">
    <error type="java.lang.NullPointerException"/>
  </testcase>
  <testcase name="rounds" classname="com.example.CalculatorTest" time="0">
    <skipped message="not on this platform"/>
  </testcase>
  <testcase name="retries" classname="com.example.CalculatorTest" time="0.2">
    <flakyFailure message="timed out" type="java.util.concurrent.TimeoutException"/>
  </testcase>
</testsuite>
"#,
        )
        .expect("parses");
        insta::assert_snapshot!(outline(&parsed), @r#"
        title=Some("com.example.CalculatorTest") duration=Some(1204500)
        Passed com.example.CalculatorTest :: adds (12 ms) message=None stack=None
        Failed com.example.CalculatorTest :: divides (34 ms) message=Some("expected: <2> but was: <3>") stack=Some("org.opentest4j.AssertionFailedError: expected: <2> but was: <3>\n\tat com.example.CalculatorTest.divides(CalculatorTest.java:21)")
        Failed com.example.CalculatorTest :: parses (1 ms) message=Some("java.lang.NullPointerException") stack=None
        Skipped com.example.CalculatorTest :: rounds (0 ms) message=Some("not on this platform") stack=None
        Passed com.example.CalculatorTest :: retries (200 ms) message=None stack=None
        "#);
    }

    #[test]
    fn pytest_and_jest_variants() {
        let pytest = parse_text(
            "pytest.xml",
            r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.456" timestamp="2024-05-01T10:00:00.000000" hostname="ci"><testcase classname="tests.test_math" name="test_add" time="0.001" /><testcase classname="tests.test_math" name="test_div" time="0.002"><failure message="assert 3 == 2">def test_div():
&gt;       assert 6 / 3 == 3
E       assert 2.0 == 3

tests/test_math.py:7: AssertionError</failure></testcase><testcase classname="tests.test_math" name="test_slow" time="0.000"><skipped type="pytest.skip" message="slow">tests/test_math.py:10: slow</skipped></testcase></testsuite></testsuites>"#,
        )
        .expect("parses");
        let jest = parse_text(
            "junit.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="2.5">
  <testsuite name="cart" errors="0" failures="1" skipped="1" timestamp="2024-05-01T10:00:00" time="1.2" tests="2">
    <testcase classname="cart adds items" name="cart adds items" time="0.004"/>
    <testcase classname="cart removes items" name="cart removes items" time="0.011">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 0
Received: 1
    at Object.&lt;anonymous&gt; (cart.test.js:12:20)</failure>
    </testcase>
    <testcase classname="cart totals" name="cart totals" time="0">
      <skipped/>
    </testcase>
  </testsuite>
  <testsuite name="checkout" tests="1" time="0.3">
    <testcase classname="checkout pays" name="checkout pays" time="0.3"/>
  </testsuite>
</testsuites>"#,
        )
        .expect("parses");
        insta::assert_snapshot!(format!("{}\n---\n{}", outline(&pytest), outline(&jest)), @r#"
        title=Some("pytest") duration=Some(456)
        Passed tests.test_math :: test_add (1 ms) message=None stack=None
        Failed tests.test_math :: test_div (2 ms) message=Some("assert 3 == 2") stack=Some("def test_div():\n>       assert 6 / 3 == 3\nE       assert 2.0 == 3\n\ntests/test_math.py:7: AssertionError")
        Skipped tests.test_math :: test_slow (0 ms) message=Some("slow") stack=None
        ---
        title=Some("JUnit_junit.xml") duration=Some(1500)
        Passed cart adds items :: cart adds items (4 ms) message=None stack=None
        Failed cart removes items :: cart removes items (11 ms) message=Some("Error: expect(received).toBe(expected) // Object.is equality") stack=Some("Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 0\nReceived: 1\n    at Object.<anonymous> (cart.test.js:12:20)")
        Skipped cart totals :: cart totals (0 ms) message=None stack=None
        Passed checkout pays :: checkout pays (300 ms) message=None stack=None
        "#);
    }

    #[test]
    fn nested_suites_name_cases_after_the_innermost_suite() {
        let parsed = parse_text(
            "phpunit.xml",
            r#"<testsuites>
  <testsuite name="Unit" tests="3">
    <testsuite name="App\Tests\MoneyTest" file="tests/MoneyTest.php" tests="3" time="0.02">
      <testsuite name="App\Tests\MoneyTest::testAdd" tests="2">
        <testcase name="testAdd with data set #0" class="App\Tests\MoneyTest" time="0.001"/>
        <testcase name="testAdd with data set #1" time="0.002"><failure type="PHPUnit\Framework\ExpectationFailedException">Failed asserting that 3 matches expected 4.</failure></testcase>
      </testsuite>
      <testcase name="testNegate" time="0.003"/>
      <testcase time="1"/>
    </testsuite>
  </testsuite>
</testsuites>"#,
        )
        .expect("parses");
        insta::assert_snapshot!(outline(&parsed), @r#"
        title=Some("Unit") duration=None
        Passed App\Tests\MoneyTest :: testAdd with data set #0 (1 ms) message=None stack=None
        Failed App\Tests\MoneyTest::testAdd :: testAdd with data set #1 (2 ms) message=Some("Failed asserting that 3 matches expected 4.") stack=Some("Failed asserting that 3 matches expected 4.")
        Passed App\Tests\MoneyTest :: testNegate (3 ms) message=None stack=None
        "#);
    }

    #[test]
    fn several_top_level_suites_name_the_run_after_the_file_and_other_roots_give_nothing() {
        let parsed = parse_text(
            "results.xml",
            r#"<testsuites><testsuite name="a"><testcase name="one"/></testsuite><testsuite name="b" time="1"><testcase name="two" time="0.5"/></testsuite></testsuites>"#,
        )
        .expect("parses");
        assert_eq!(parsed.title.as_deref(), Some("JUnit_results.xml"));
        assert_eq!(parsed.duration_ms, None, "one suite has no time: the cases' sum is used");
        assert_eq!(parsed.duration(), 500);
        let other = parse_text("nunit.xml", r#"<test-run><test-case name="x"/></test-run>"#).expect("parses");
        assert_eq!(other, Parsed::default());
    }

    #[test]
    fn big_files_stream_and_long_texts_are_capped() {
        use std::io::Write as _;
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("TEST-big.xml");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let output = "x".repeat(1000);
        write!(file, "<testsuite name=\"big\">").expect("write");
        for index in 0..20_000 {
            write!(file, "<testcase name=\"t{index}\" time=\"0.001\"><system-out>{output}</system-out></testcase>")
                .expect("write");
        }
        let huge = "y".repeat(1_000_000);
        write!(file, "<testcase name=\"huge\"><failure message=\"m\">{huge}</failure></testcase></testsuite>")
            .expect("write");
        drop(file);
        let parsed = read(Format::JUnit, &path).expect("parses");
        assert_eq!(parsed.tests.len(), 20_001);
        assert_eq!(parsed.duration(), 20_000);
        let trace = parsed.tests.last().and_then(|test| test.stack_trace.as_deref()).expect("trace");
        assert_eq!(trace.len(), super::super::xml::MAX_TEXT);
    }

    #[test]
    fn malformed_files_are_errors() {
        let error = parse_text(
            "TEST-broken.xml",
            "<testsuite name=\"s\">\n  <testcase name=\"a\">\n    <failure>boom\n  </testcase>\n</testsuite>\n",
        )
        .expect_err("malformed");
        insta::assert_snapshot!(error, @"ill-formed document: expected `</failure>`, but `</testcase>` was found. Line 4, position 3");
        let error =
            parse_text("TEST-cut.xml", "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testca").expect_err("cut");
        insta::assert_snapshot!(error, @"syntax error: tag not closed: `>` not found before end of input. Line 3, position 3");
    }
}
