//! xUnit.net results: v2 (`assemblies/assembly/collection/test`) and v1 (`assembly/class/test`),
//! `result` `Pass`, `Fail`, `Skip` (or v3's `NotRun`), `time` in seconds, `failure/message` and
//! `failure/stack-trace`, `reason` for skipped tests.
//!
//! A test's suite is its `type` (the class); its name is the display `name` without that prefix
//! (a theory keeps its arguments: `Adds(a: 1, b: 2)`). Assembly-level `errors` (fixture cleanup
//! failures) are not tests and are left out, as in Azure. The duration is the sum of the
//! assemblies' `time` when they all have one, else of the tests'.

use slipway_events::{TestCase, TestOutcome};

use super::results::{Parsed, case, clean, seconds, short_name};
use super::xml::{Element, Node, XmlError, XmlFile};

/// Reads an xUnit file whose root element is `root` (already read).
pub(super) fn parse(xml: &mut XmlFile, root: &Element) -> Result<Parsed, XmlError> {
    if !root.is("assemblies") && !root.is("assembly") {
        return Ok(Parsed::default());
    }
    let mut tests = Vec::new();
    let mut assembly_times = Vec::new();
    let mut next = Some(root.clone());
    loop {
        let element = match next.take() {
            Some(element) => element,
            None => match xml.next()? {
                Some(Node::Start(element)) => element,
                Some(Node::End) => continue,
                None => break,
            },
        };
        if element.is("assembly") {
            assembly_times.push(element.text("time").and_then(seconds));
        } else if element.is("test") {
            if let Some(test) = test(xml, &element)? {
                tests.push(test);
            }
        } else if !element.is("assemblies") && !element.is("collection") && !element.is("class") {
            // errors, traits outside tests, anything else.
            xml.skip()?;
        }
    }
    let assembly_time = if assembly_times.is_empty() { None } else { assembly_times.into_iter().sum::<Option<u64>>() };
    Ok(Parsed { title: None, tests, duration_ms: assembly_time })
}

/// Reads a `test` (its start tag just read) to its end; `None` when it has no name.
fn test(xml: &mut XmlFile, element: &Element) -> Result<Option<TestCase>, XmlError> {
    let mut outcome = match element.text("result").unwrap_or_default().to_ascii_lowercase().as_str() {
        "pass" => TestOutcome::Passed,
        "fail" => TestOutcome::Failed,
        _ => TestOutcome::Skipped,
    };
    let depth = xml.depth();
    let mut message = None;
    let mut stack_trace = None;
    while let Some(child) = xml.child(depth)? {
        if child.is("failure") {
            outcome = TestOutcome::Failed;
            let inner = xml.depth();
            while let Some(part) = xml.child(inner)? {
                if part.is("message") {
                    message = clean(&xml.read_text()?);
                } else if part.is("stack-trace") {
                    stack_trace = clean(&xml.read_text()?);
                }
            }
            if message.is_none() {
                message = child.text("exception-type").map(str::to_owned);
            }
        } else if child.is("reason") && outcome != TestOutcome::Failed {
            message = clean(&xml.read_text()?);
        }
    }
    let suite = element.text("type").map(str::to_owned);
    let Some(name) = element.text("name").or_else(|| element.text("method")) else { return Ok(None) };
    let duration = element.text("time").and_then(seconds).unwrap_or(0);
    let name = short_name(name, suite.as_deref());
    Ok(Some(case(name, suite, outcome, duration, message, stack_trace)))
}

#[cfg(test)]
mod tests {
    use super::super::results::{Format, read};
    use super::*;

    fn parse_text(text: &str) -> Result<Parsed, XmlError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("xunit.xml");
        std::fs::write(&path, text).expect("write");
        read(Format::XUnit, &path)
    }

    #[test]
    fn xunit2_results() {
        let parsed = parse_text(
            r#"<?xml version="1.0" encoding="utf-8"?>
<assemblies timestamp="05/01/2024 10:00:00" computer="ci" user="ci">
  <assembly name="/build/MyApp.Tests.dll" run-date="2024-05-01" run-time="10:00:00" config-file="/build/MyApp.Tests.dll.config" test-framework="xUnit.net 2.6.6.25262" environment="64-bit .NET 8.0.1 [collection-per-class, parallel (2 threads)]" time="0.456" total="5" passed="2" failed="2" skipped="1" errors="1">
    <errors>
      <error type="fixture-cleanup" name="MyApp.DatabaseFixture"><failure exception-type="System.IO.IOException"><message><![CDATA[locked]]></message></failure></error>
    </errors>
    <collection total="5" passed="2" failed="2" skipped="1" name="Test collection for MyApp.CalculatorTests" time="0.1">
      <test name="MyApp.CalculatorTests.Adds(a: 1, b: 2)" type="MyApp.CalculatorTests" method="Adds" time="0.0012" result="Pass">
        <traits><trait name="Category" value="Unit" /></traits>
      </test>
      <test name="MyApp.CalculatorTests.Subtracts" type="MyApp.CalculatorTests" method="Subtracts" time="0.0005" result="Pass" />
      <test name="MyApp.CalculatorTests.Divides" type="MyApp.CalculatorTests" method="Divides" time="0.0230" result="Fail">
        <failure exception-type="Xunit.Sdk.EqualException">
          <message><![CDATA[Assert.Equal() Failure: Values differ
Expected: 2
Actual:   3]]></message>
          <stack-trace><![CDATA[   at MyApp.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30]]></stack-trace>
        </failure>
        <output><![CDATA[dividing]]></output>
      </test>
      <test name="Throws on overflow" type="MyApp.CalculatorTests" method="Overflows" time="0.001" result="Fail">
        <failure exception-type="System.OverflowException" />
      </test>
      <test name="MyApp.CalculatorTests.Rounds" type="MyApp.CalculatorTests" method="Rounds" time="0" result="Skip">
        <reason><![CDATA[Not ready]]></reason>
      </test>
    </collection>
  </assembly>
</assemblies>"#,
        )
        .expect("parses");
        let outline = super::super::results::outline(&parsed.tests);
        assert_eq!(parsed.duration_ms, Some(456));
        insta::assert_snapshot!(outline, @r#"
        Passed MyApp.CalculatorTests :: Adds(a: 1, b: 2) (1 ms) message=None stack=None
        Passed MyApp.CalculatorTests :: Subtracts (1 ms) message=None stack=None
        Failed MyApp.CalculatorTests :: Divides (23 ms) message=Some("Assert.Equal() Failure: Values differ\nExpected: 2\nActual:   3") stack=Some("at MyApp.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30")
        Failed MyApp.CalculatorTests :: Throws on overflow (1 ms) message=Some("System.OverflowException") stack=None
        Skipped MyApp.CalculatorTests :: Rounds (0 ms) message=Some("Not ready") stack=None
        "#);
    }

    #[test]
    fn xunit1_and_other_roots() {
        let parsed = parse_text(
            r#"<assembly name="Old.dll" time="1.5" total="1"><class name="Old.Tests" time="1.5"><test name="Old.Tests.Works" type="Old.Tests" method="Works" result="Pass" time="1.5"/></class></assembly>"#,
        )
        .expect("parses");
        assert_eq!(parsed.tests.len(), 1);
        assert_eq!(parsed.tests[0].name, "Works");
        assert_eq!(parsed.duration(), 1500);
        assert_eq!(parse_text("<TestRun/>").expect("parses"), Parsed::default());
    }
}
