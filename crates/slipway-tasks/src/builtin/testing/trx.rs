//! Visual Studio TRX (`TestRun`, in the TeamTest 2010 namespace): `Results` holds one element
//! per test (`UnitTestResult`, and `WebTestResult`, `TestResultAggregation`... alike) with
//! `testId`, `testName`, `outcome` and `duration` (`hh:mm:ss.fffffff`), and failures in
//! `Output/ErrorInfo/Message` and `StackTrace`; `TestDefinitions` maps each `testId` to its
//! `TestMethod` `className` (assembly-qualified in old files: `Ns.Class, Assembly, Version=...`).
//!
//! Outcomes: `Passed`, `PassedButRunAborted`, `Warning`, `Completed` pass; `Failed`, `Error`,
//! `Timeout`, `Aborted`, `Disconnected` fail; `NotExecuted`, `Inconclusive`, `NotRunnable`,
//! `Pending`, `InProgress` did not run. Data-driven rows (`InnerResults`) are summed up by their
//! parent result. The duration is `Times` `finish` minus `start`, else the sum of the tests'.

use std::collections::HashMap;

use slipway_events::TestOutcome;

use super::results::{Parsed, case, clean, short_name, timespan, timestamp};
use super::xml::{Element, XmlError, XmlFile};

/// One result, before its class is known.
struct Row {
    test_id: Option<String>,
    name: String,
    outcome: TestOutcome,
    duration_ms: u64,
    message: Option<String>,
    stack_trace: Option<String>,
}

/// Reads a TRX file whose root element is `root` (already read).
pub(super) fn parse(xml: &mut XmlFile, root: &Element) -> Result<Parsed, XmlError> {
    if !root.is("TestRun") {
        return Ok(Parsed::default());
    }
    let mut results = Vec::new();
    let mut classes: HashMap<String, String> = HashMap::new();
    let mut times: Option<(i64, i64)> = None;
    let depth = xml.depth();
    while let Some(section) = xml.child(depth)? {
        if section.is("Times") {
            times = section.text("start").and_then(timestamp).zip(section.text("finish").and_then(timestamp));
        } else if section.is("Results") {
            let inner = xml.depth();
            while let Some(element) = xml.child(inner)? {
                if (element.name.ends_with("Result") || element.is("TestResultAggregation"))
                    && let Some(result) = result(xml, &element)?
                {
                    results.push(result);
                }
            }
        } else if section.is("TestDefinitions") {
            let inner = xml.depth();
            while let Some(definition) = xml.child(inner)? {
                let Some(id) = definition.text("id").map(str::to_owned) else { continue };
                let method_depth = xml.depth();
                while let Some(part) = xml.child(method_depth)? {
                    if part.is("TestMethod")
                        && let Some(class) = part.text("className")
                    {
                        let class = class.split(',').next().unwrap_or(class).trim().to_owned();
                        classes.insert(id.clone(), class);
                    }
                }
            }
        }
    }
    let tests = results
        .into_iter()
        .map(|result| {
            let suite = result.test_id.as_ref().and_then(|id| classes.get(id)).cloned();
            let name = short_name(&result.name, suite.as_deref());
            case(name, suite, result.outcome, result.duration_ms, result.message, result.stack_trace)
        })
        .collect();
    let duration_ms =
        times.filter(|(start, finish)| finish >= start).and_then(|(start, finish)| u64::try_from(finish - start).ok());
    Ok(Parsed { title: None, tests, duration_ms })
}

/// Reads a result element (its start tag just read) to its end; `None` when it has no name.
fn result(xml: &mut XmlFile, element: &Element) -> Result<Option<Row>, XmlError> {
    let outcome = match element.text("outcome").unwrap_or_default().to_ascii_lowercase().as_str() {
        "passed" | "passedbutrunaborted" | "warning" | "completed" => TestOutcome::Passed,
        "failed" | "error" | "timeout" | "aborted" | "disconnected" => TestOutcome::Failed,
        _ => TestOutcome::Skipped,
    };
    let depth = xml.depth();
    let mut message = None;
    let mut stack_trace = None;
    while let Some(child) = xml.child(depth)? {
        if !child.is("Output") {
            continue;
        }
        let output = xml.depth();
        while let Some(part) = xml.child(output)? {
            if !part.is("ErrorInfo") {
                continue;
            }
            let error = xml.depth();
            while let Some(detail) = xml.child(error)? {
                if detail.is("Message") {
                    message = clean(&xml.read_text()?);
                } else if detail.is("StackTrace") {
                    stack_trace = clean(&xml.read_text()?);
                }
            }
        }
    }
    let Some(name) = element.text("testName") else { return Ok(None) };
    Ok(Some(Row {
        test_id: element.text("testId").map(str::to_owned),
        name: name.to_owned(),
        outcome,
        duration_ms: element.text("duration").and_then(timespan).unwrap_or(0),
        message,
        stack_trace,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::results::{Format, read};
    use super::*;

    fn parse_text(text: &str) -> Result<Parsed, XmlError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("run.trx");
        std::fs::write(&path, text).expect("write");
        read(Format::VSTest, &path)
    }

    #[test]
    fn trx_results_with_definitions_after_results() {
        let parsed = parse_text(
            r#"<?xml version="1.0" encoding="utf-8"?>
<TestRun id="5d4b1a6e-0000-4000-8000-000000000001" name="ci@build 2024-05-01 10:00:00" runUser="ci" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Times creation="2024-05-01T10:00:00.0000000+00:00" queuing="2024-05-01T10:00:00.0000000+00:00" start="2024-05-01T10:00:00.1000000+00:00" finish="2024-05-01T10:00:02.6000000+00:00" />
  <TestSettings name="default" id="5d4b1a6e-0000-4000-8000-000000000002"><Deployment runDeploymentRoot="ci_build_2024-05-01_10_00_00" /></TestSettings>
  <Results>
    <UnitTestResult executionId="e1" testId="t1" testName="Adds" computerName="build" duration="00:00:00.0123456" startTime="2024-05-01T10:00:00.2+00:00" endTime="2024-05-01T10:00:00.3+00:00" testType="13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b" outcome="Passed" testListId="l1" relativeResultsDirectory="e1" />
    <UnitTestResult executionId="e2" testId="t2" testName="MyApp.Tests.CalculatorTests.Divides" computerName="build" duration="00:00:00.0200000" testType="13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b" outcome="Failed" testListId="l1">
      <Output>
        <StdOut>dividing</StdOut>
        <ErrorInfo>
          <Message>Assert.AreEqual failed. Expected:&lt;2&gt;. Actual:&lt;3&gt;.</Message>
          <StackTrace>   at MyApp.Tests.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30
</StackTrace>
        </ErrorInfo>
      </Output>
    </UnitTestResult>
    <UnitTestResult executionId="e3" testId="t3" testName="Rounds" duration="00:00:00" outcome="NotExecuted" testListId="l1">
      <Output><ErrorInfo><Message>Test method Rounds was skipped.</Message></ErrorInfo></Output>
    </UnitTestResult>
    <UnitTestResult executionId="e4" testId="t4" testName="Rows" duration="00:00:01.5" outcome="Failed" testListId="l1">
      <InnerResults>
        <UnitTestResult executionId="e5" parentExecutionId="e4" testId="t4" testName="Rows (1)" outcome="Passed" duration="00:00:00.5" />
        <UnitTestResult executionId="e6" parentExecutionId="e4" testId="t4" testName="Rows (2)" outcome="Failed" duration="00:00:01" />
      </InnerResults>
    </UnitTestResult>
    <UnitTestResult executionId="e7" testId="t5" testName="Hangs" duration="00:01:00" outcome="Timeout" testListId="l1" />
  </Results>
  <TestDefinitions>
    <UnitTest name="Adds" storage="/build/myapp.tests.dll" id="t1"><Execution id="e1" /><TestMethod codeBase="/build/MyApp.Tests.dll" adapterTypeName="executor://mstestadapter/v2" className="MyApp.Tests.CalculatorTests" name="Adds" /></UnitTest>
    <UnitTest name="Divides" storage="/build/myapp.tests.dll" id="t2"><Execution id="e2" /><TestMethod codeBase="/build/MyApp.Tests.dll" className="MyApp.Tests.CalculatorTests, MyApp.Tests, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null" name="Divides" /></UnitTest>
    <UnitTest name="Rounds" storage="/build/myapp.tests.dll" id="t3"><TestMethod className="MyApp.Tests.CalculatorTests" name="Rounds" /></UnitTest>
    <UnitTest name="Rows" storage="/build/myapp.tests.dll" id="t4"><TestMethod className="MyApp.Tests.DataTests" name="Rows" /></UnitTest>
  </TestDefinitions>
  <TestEntries><TestEntry testId="t1" executionId="e1" testListId="l1" /></TestEntries>
  <TestLists><TestList name="All Loaded Results" id="l1" /></TestLists>
  <ResultSummary outcome="Failed"><Counters total="5" executed="4" passed="1" failed="3" error="0" timeout="1" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="1" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" /></ResultSummary>
</TestRun>"#,
        )
        .expect("parses");
        let outline = super::super::results::outline(&parsed.tests);
        assert_eq!(parsed.duration_ms, Some(2500));
        insta::assert_snapshot!(outline, @r#"
        Passed MyApp.Tests.CalculatorTests :: Adds (12 ms) message=None stack=None
        Failed MyApp.Tests.CalculatorTests :: Divides (20 ms) message=Some("Assert.AreEqual failed. Expected:<2>. Actual:<3>.") stack=Some("at MyApp.Tests.CalculatorTests.Divides() in /build/CalculatorTests.cs:line 30")
        Skipped MyApp.Tests.CalculatorTests :: Rounds (0 ms) message=Some("Test method Rounds was skipped.") stack=None
        Failed MyApp.Tests.DataTests :: Rows (1500 ms) message=None stack=None
        Failed - :: Hangs (60000 ms) message=None stack=None
        "#);
    }
}
