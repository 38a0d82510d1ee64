//! CTest's `Test.xml` (`ctest -T Test`): `Site/Testing/Test` with `Status` `passed`, `failed` or
//! `notrun`, `Name`, `Path`, the `Execution Time` measurement in seconds, the `Exit Code`
//! measurement (`Failed`, `Timeout`...) and the output in `Results/Measurement/Value`.
//!
//! As in Azure's reader, a failed test's output is its stack trace; its message is the exit code
//! measurement (and `Exit Value` when present). The suite is the test's `Path`. The duration is
//! `EndTestTime` minus `StartTestTime` (Unix seconds), else the sum of the tests'.

use slipway_events::{TestCase, TestOutcome};

use super::results::{Parsed, case, clean, seconds};
use super::xml::{Element, XmlError, XmlFile};

/// Reads a CTest file whose root element is `root` (already read).
pub(super) fn parse(xml: &mut XmlFile, root: &Element) -> Result<Parsed, XmlError> {
    if !root.is("Site") {
        return Ok(Parsed::default());
    }
    let mut tests = Vec::new();
    let (mut start, mut end): (Option<u64>, Option<u64>) = (None, None);
    let depth = xml.depth();
    while let Some(section) = xml.child(depth)? {
        if !section.is("Testing") {
            continue;
        }
        let inner = xml.depth();
        while let Some(element) = xml.child(inner)? {
            if element.is("Test") {
                if let Some(test) = test(xml, &element)? {
                    tests.push(test);
                }
            } else if element.is("StartTestTime") {
                start = xml.read_text()?.trim().parse().ok();
            } else if element.is("EndTestTime") {
                end = xml.read_text()?.trim().parse().ok();
            }
        }
    }
    let duration_ms =
        start.zip(end).filter(|(start, end)| end >= start && *start > 0).map(|(start, end)| (end - start) * 1000);
    Ok(Parsed { title: None, tests, duration_ms })
}

/// Reads a `Test` (its start tag just read) to its end; `None` without a `Name`.
fn test(xml: &mut XmlFile, element: &Element) -> Result<Option<TestCase>, XmlError> {
    let outcome = match element.text("Status").unwrap_or_default().to_ascii_lowercase().as_str() {
        "passed" => TestOutcome::Passed,
        "failed" => TestOutcome::Failed,
        _ => TestOutcome::Skipped,
    };
    let depth = xml.depth();
    let (mut name, mut path, mut output) = (None, None, None);
    let (mut duration, mut exit_code, mut exit_value) = (0, None, None);
    while let Some(child) = xml.child(depth)? {
        if child.is("Name") {
            name = clean(&xml.read_text()?);
        } else if child.is("Path") {
            path = clean(&xml.read_text()?);
        } else if child.is("Results") {
            let results = xml.depth();
            while let Some(measurement) = xml.child(results)? {
                let named = measurement.is("NamedMeasurement");
                if !named && !measurement.is("Measurement") {
                    continue;
                }
                let label = measurement.text("name").unwrap_or_default().to_owned();
                let values = xml.depth();
                let mut value = None;
                while let Some(part) = xml.child(values)? {
                    if part.is("Value") {
                        value = clean(&xml.read_text()?);
                    }
                }
                match (named, label.as_str()) {
                    (false, _) => output = value,
                    (true, "Execution Time") => duration = value.as_deref().and_then(seconds).unwrap_or(0),
                    (true, "Exit Code") => exit_code = value,
                    (true, "Exit Value") => exit_value = value,
                    _ => {}
                }
            }
        }
    }
    let Some(name) = name else { return Ok(None) };
    let (message, stack_trace) = if outcome == TestOutcome::Failed {
        let message = match (exit_code, exit_value) {
            (Some(code), Some(value)) => Some(format!("{code} (exit value {value})")),
            (code, None) => code,
            (None, Some(value)) => Some(format!("exit value {value}")),
        };
        (message, output)
    } else {
        (None, None)
    };
    Ok(Some(case(name, path, outcome, duration, message, stack_trace)))
}

#[cfg(test)]
mod tests {
    use super::super::results::{Format, read};

    #[test]
    fn ctest_results() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("Test.xml");
        std::fs::write(
            &path,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Site BuildName="Linux-c++" BuildStamp="20240501-1000-Experimental" Name="ci" Generator="ctest-3.28.3">
  <Testing>
    <StartDateTime>May 01 10:00 UTC</StartDateTime>
    <StartTestTime>1714557600</StartTestTime>
    <TestList><Test>./tests/parser_test</Test><Test>./tests/net_test</Test><Test>./tests/gpu_test</Test></TestList>
    <Test Status="passed">
      <Name>parser_test</Name><Path>./tests</Path><FullName>./tests/parser_test</FullName>
      <FullCommandLine>/build/tests/parser_test</FullCommandLine>
      <Results>
        <NamedMeasurement type="numeric/double" name="Execution Time"><Value>0.0123</Value></NamedMeasurement>
        <NamedMeasurement type="text/string" name="Completion Status"><Value>Completed</Value></NamedMeasurement>
        <Measurement><Value>all good</Value></Measurement>
      </Results>
    </Test>
    <Test Status="failed">
      <Name>net_test</Name><Path>./tests</Path><FullName>./tests/net_test</FullName>
      <Results>
        <NamedMeasurement type="text/string" name="Exit Code"><Value>Failed</Value></NamedMeasurement>
        <NamedMeasurement type="text/string" name="Exit Value"><Value>1</Value></NamedMeasurement>
        <NamedMeasurement type="numeric/double" name="Execution Time"><Value>1.5</Value></NamedMeasurement>
        <Measurement><Value>connect: refused
assertion failed at net_test.cpp:42</Value></Measurement>
      </Results>
    </Test>
    <Test Status="notrun">
      <Name>gpu_test</Name><Path>./tests</Path>
      <Results><NamedMeasurement type="text/string" name="Completion Status"><Value>Disabled</Value></NamedMeasurement></Results>
    </Test>
    <EndDateTime>May 01 10:00 UTC</EndDateTime>
    <EndTestTime>1714557602</EndTestTime>
    <ElapsedMinutes>0</ElapsedMinutes>
  </Testing>
</Site>"#,
        )
        .expect("write");
        let parsed = read(Format::CTest, &path).expect("parses");
        assert_eq!(parsed.duration_ms, Some(2000));
        let outline: Vec<String> = parsed
            .tests
            .iter()
            .map(|test| {
                format!(
                    "{:?} {:?} :: {} ({} ms) {:?} {:?}",
                    test.outcome, test.suite, test.name, test.duration_ms, test.message, test.stack_trace
                )
            })
            .collect();
        insta::assert_snapshot!(outline.join("\n"), @r#"
        Passed Some("./tests") :: parser_test (12 ms) None None
        Failed Some("./tests") :: net_test (1500 ms) Some("Failed (exit value 1)") Some("connect: refused\nassertion failed at net_test.cpp:42")
        Skipped Some("./tests") :: gpu_test (0 ms) None None
        "#);
    }
}
