//! The testing tasks end to end over a fake job: real result and coverage files in a temporary
//! working directory, inputs resolved as the runtime resolves them.

use std::path::Path;

use super::TASKS;
use crate::builtin::Builtin;
use crate::fake::FakeHost;
use crate::{Inputs, Outcome, TaskReference};

const SUREFIRE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CalculatorTest" time="0.25" tests="4" errors="0" skipped="1" failures="1">
  <testcase name="adds" classname="com.example.CalculatorTest" time="0.012"/>
  <testcase name="subtracts" classname="com.example.CalculatorTest" time="0.008"/>
  <testcase name="divides" classname="com.example.CalculatorTest" time="0.034">
    <failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;2&gt; but was: &lt;3&gt;
	at com.example.CalculatorTest.divides(CalculatorTest.java:21)</failure>
  </testcase>
  <testcase name="rounds" classname="com.example.CalculatorTest" time="0"><skipped/></testcase>
</testsuite>
"#;

const PASSING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.ParserTest" time="1.5" tests="2">
  <testcase name="parses" classname="com.example.ParserTest" time="1"/>
  <testcase name="rejects" classname="com.example.ParserTest" time="0.5"/>
</testsuite>
"#;

fn task(name: &str) -> &'static Builtin {
    TASKS.iter().find(|task| task.name == name).expect("task")
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("directory");
    std::fs::write(path, text).expect("file");
}

fn resolve(name: &str, major: u32, given: &[(&str, &str)]) -> Result<Inputs, crate::InputsError> {
    let given: Vec<(String, String)> =
        given.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
    Inputs::resolve(&(task(name).inputs)(major), &given)
}

fn run(name: &str, major: u32, given: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
    let inputs = resolve(name, major, given).expect("valid inputs");
    (task(name).run)(major, &inputs, host)
}

/// What the step did, with the temporary directory shown as `<dir>`.
fn report(host: &FakeHost, outcome: &Outcome, root: &Path) -> String {
    let mut lines = vec![format!("outcome: {outcome:?}")];
    lines.extend(host.log.iter().map(|line| format!("log: {line}")));
    lines.extend(host.warnings.iter().map(|line| format!("warning: {line}")));
    lines.extend(host.errors.iter().map(|line| format!("error: {line}")));
    for run in &host.test_results {
        lines.push(format!(
            "run: '{}' {} files={:?} total={} passed={} failed={} skipped={} duration={}",
            run.title, run.format, run.files, run.total, run.passed, run.failed, run.skipped, run.duration_ms
        ));
    }
    for coverage in &host.coverage {
        lines.push(format!(
            "coverage: {} {} lines={:?} branches={:?} other={} packages={}",
            coverage.format,
            coverage.file,
            coverage.lines.map(|counter| (counter.covered, counter.total)),
            coverage.branches.map(|counter| (counter.covered, counter.total)),
            coverage.other.len(),
            coverage.packages.len()
        ));
    }
    for (name, path) in &host.published {
        lines.push(format!("artifact: {name} {}", path.display()));
    }
    let temporary = std::env::temp_dir().display().to_string();
    lines.join("\n").replace(&root.display().to_string(), "<dir>").replace(&temporary, "<tmp>")
}

#[test]
fn the_tasks_answer_to_their_names_ids_and_majors() {
    for (name, major) in [
        ("PublishTestResults", Some("2")),
        ("publishtestresults", None),
        ("0B0F01ED-7DDE-43FF-9CBB-E48954DAF9B1", Some("2")),
        ("PublishCodeCoverageResults", Some("1")),
        ("PublishCodeCoverageResults", Some("2")),
    ] {
        let reference = TaskReference::new(name, major);
        assert!(TASKS.iter().any(|task| task.answers(&reference)), "{reference}");
    }
    let reference = TaskReference::new("PublishTestResults", Some("1"));
    assert!(!TASKS.iter().any(|task| task.answers(&reference)));
    assert_eq!(
        task("PublishCodeCoverageResults").major_for(&TaskReference::new("PublishCodeCoverageResults", None)),
        2
    );
}

#[test]
fn input_validation_errors_are_the_agents() {
    let errors: Vec<String> = [
        resolve("PublishTestResults", 2, &[("testResultsFormat", "TAP")]),
        resolve("PublishTestResults", 2, &[("testRunner", "Mocha"), ("testResultsFiles", "x.xml")]),
        resolve("PublishCodeCoverageResults", 1, &[]),
        resolve(
            "PublishCodeCoverageResults",
            1,
            &[("codeCoverageTool", "OpenCover"), ("summaryFileLocation", "c.xml")],
        ),
        resolve("PublishCodeCoverageResults", 2, &[("pathToSources", "src")]),
    ]
    .into_iter()
    .map(|result| result.expect_err("invalid").to_string())
    .collect();
    insta::assert_snapshot!(errors.join("\n"), @"
    Input testRunner has an invalid value 'TAP'; expected one of: JUnit, NUnit, VSTest, XUnit, CTest
    Input testRunner has an invalid value 'Mocha'; expected one of: JUnit, NUnit, VSTest, XUnit, CTest
    Input required: summaryFileLocation
    Input codeCoverageTool has an invalid value 'OpenCover'; expected one of: Cobertura, JaCoCo
    Input required: summaryFileLocation
    ");
    let inputs = resolve(
        "PublishTestResults",
        2,
        &[("testResultsFormat", "vstest"), ("buildPlatform", "x64"), ("buildConfiguration", "Release")],
    )
    .expect("aliases and any case");
    assert_eq!(
        (inputs.text("testRunner"), inputs.text("platform"), inputs.text("configuration")),
        ("vstest", "x64", "Release")
    );
    assert_eq!(inputs.text("testResultsFiles"), "**/TEST-*.xml");
    assert!(inputs.unknown.is_empty());
}

#[test]
fn junit_files_found_by_the_default_pattern_each_get_a_run() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "app/target/surefire-reports/TEST-com.example.CalculatorTest.xml", SUREFIRE);
    write(root.path(), "lib/target/surefire-reports/TEST-com.example.ParserTest.xml", PASSING);
    write(
        root.path(),
        "lib/target/surefire-reports/TEST-broken.xml",
        "<testsuite name=\"x\">\n  <testcase name=\"a\">\n</testsuite>\n",
    );
    write(root.path(), "lib/target/surefire-reports/TEST-nunit.xml", "<test-run><test-case name=\"a\"/></test-run>");
    write(root.path(), "lib/target/surefire-reports/other.xml", PASSING);
    let mut host = FakeHost::new(root.path());
    let outcome = run("PublishTestResults", 2, &[], &mut host);
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @r#"
    outcome: Succeeded
    log: Reading test results from file '<dir>/app/target/surefire-reports/TEST-com.example.CalculatorTest.xml'
    log: Reading test results from file '<dir>/lib/target/surefire-reports/TEST-broken.xml'
    log: Reading test results from file '<dir>/lib/target/surefire-reports/TEST-com.example.ParserTest.xml'
    log: Reading test results from file '<dir>/lib/target/surefire-reports/TEST-nunit.xml'
    log: Publishing test results to test run 'com.example.CalculatorTest'.
    log: Total tests: 4. Passed: 2. Failed: 1. Skipped: 1. Duration: 0.250s.
    log:   Failed: com.example.CalculatorTest.divides: expected: <2> but was: <3>
    log: Publishing test results to test run 'com.example.ParserTest'.
    log: Total tests: 2. Passed: 2. Failed: 0. Skipped: 0. Duration: 1.500s.
    log: Published 2 test runs: 6 tests, 4 passed, 1 failed, 1 skipped.
    warning: Failed to read <dir>/lib/target/surefire-reports/TEST-broken.xml. Error : ill-formed document: expected `</testcase>`, but `</testsuite>` was found. Line 3, position 1.
    warning: Invalid results file. Make sure the result format of the file '<dir>/lib/target/surefire-reports/TEST-nunit.xml' matches 'JUnit' test results format.
    run: 'com.example.CalculatorTest' JUnit files=["<dir>/app/target/surefire-reports/TEST-com.example.CalculatorTest.xml"] total=4 passed=2 failed=1 skipped=1 duration=250
    run: 'com.example.ParserTest' JUnit files=["<dir>/lib/target/surefire-reports/TEST-com.example.ParserTest.xml"] total=2 passed=2 failed=0 skipped=0 duration=1500
    "#);
    assert_eq!(host.test_results[0].tests[2].stack_trace.as_deref().map(|trace| trace.lines().count()), Some(2));
}

#[test]
fn fail_task_on_failed_tests_fails_the_step_after_publishing() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "TEST-calculator.xml", SUREFIRE);
    let mut host = FakeHost::new(root.path());
    let outcome = run("PublishTestResults", 2, &[("failTaskOnFailedTests", "true")], &mut host);
    insta::assert_snapshot!(format!("{outcome:?}"), @r#"Failed("There are one or more test failures detected in result files. Detailed summary of published test results can be viewed in the Tests tab.")"#);
    assert_eq!(host.test_results.len(), 1);

    write(root.path(), "TEST-calculator.xml", PASSING);
    let mut host = FakeHost::new(root.path());
    let outcome = run("PublishTestResults", 2, &[("failTaskOnFailedTests", "true")], &mut host);
    assert_eq!(outcome, Outcome::Succeeded);
}

#[test]
fn missing_result_files_warn_or_fail() {
    let root = tempfile::tempdir().expect("temporary directory");
    let mut host = FakeHost::new(root.path());
    let outcome =
        run("PublishTestResults", 2, &[("testResultsFiles", "**/junit-*.xml\n!**/node_modules/**")], &mut host);
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @"
    outcome: Succeeded
    warning: No test result files matching '**/junit-*.xml,!**/node_modules/**' were found.
    ");
    let mut host = FakeHost::new(root.path());
    let outcome = run("PublishTestResults", 2, &[("failTaskOnMissingResultsFile", "true")], &mut host);
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @r#"outcome: Failed("No test result files matching '**/TEST-*.xml' were found.")"#);
}

#[test]
fn merged_results_make_one_run_named_after_the_build() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "TEST-a.xml", SUREFIRE);
    write(root.path(), "TEST-b.xml", PASSING);
    let mut host = FakeHost::new(root.path()).with_variable("Build.BuildId", "42");
    let outcome = run("PublishTestResults", 2, &[("mergeTestResults", "true")], &mut host);
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @r#"
    outcome: Succeeded
    log: Reading test results from file '<dir>/TEST-a.xml'
    log: Reading test results from file '<dir>/TEST-b.xml'
    log: Publishing test results to test run 'JUnit_TestResults_42'.
    log: Total tests: 6. Passed: 4. Failed: 1. Skipped: 1. Duration: 1.750s.
    log:   Failed: com.example.CalculatorTest.divides: expected: <2> but was: <3>
    run: 'JUnit_TestResults_42' JUnit files=["<dir>/TEST-a.xml", "<dir>/TEST-b.xml"] total=6 passed=4 failed=1 skipped=1 duration=1750
    "#);

    let mut host = FakeHost::new(root.path());
    run("PublishTestResults", 2, &[("mergeTestResults", "true"), ("testRunTitle", "Unit tests")], &mut host);
    assert_eq!(host.test_results[0].title, "Unit tests");
}

#[test]
fn a_title_for_several_files_is_numbered_and_the_search_folder_is_relative() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "out/TEST-a.xml", SUREFIRE);
    write(root.path(), "out/TEST-b.xml", PASSING);
    write(root.path(), "elsewhere/TEST-c.xml", PASSING);
    let mut host = FakeHost::new(root.path());
    run("PublishTestResults", 2, &[("searchFolder", "out"), ("testRunTitle", "Unit")], &mut host);
    let titles: Vec<&str> = host.test_results.iter().map(|run| run.title.as_str()).collect();
    assert_eq!(titles, ["Unit_1", "Unit_2"]);

    // The default search folder is `$(System.DefaultWorkingDirectory)`, expanded by the task.
    let mut host = FakeHost::new(&root.path().join("elsewhere"))
        .with_variable("System.DefaultWorkingDirectory", &root.path().join("out").display().to_string());
    run("PublishTestResults", 2, &[], &mut host);
    assert_eq!(host.test_results.len(), 2);
}

#[test]
fn every_format_publishes_through_the_task() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(
        root.path(),
        "nunit/TestResult.xml",
        r#"<test-run duration="0.5"><test-suite type="Assembly" name="A.dll"><test-suite type="TestFixture" name="T" fullname="N.T"><test-case name="a" classname="N.T" result="Passed" duration="0.1"/><test-case name="b" classname="N.T" result="Failed" duration="0.2"><failure><message>nope</message></failure></test-case></test-suite></test-suite></test-run>"#,
    );
    write(
        root.path(),
        "xunit/results.xml",
        r#"<assemblies><assembly name="A.dll" time="0.3"><collection><test name="N.T.a" type="N.T" method="a" result="Pass" time="0.1"/><test name="N.T.b" type="N.T" method="b" result="Skip" time="0"><reason>later</reason></test></collection></assembly></assemblies>"#,
    );
    write(
        root.path(),
        "trx/run.trx",
        r#"<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><Results><UnitTestResult testId="1" testName="a" outcome="Passed" duration="00:00:00.25"/></Results><TestDefinitions><UnitTest id="1"><TestMethod className="N.T" name="a"/></UnitTest></TestDefinitions></TestRun>"#,
    );
    write(
        root.path(),
        "ctest/Test.xml",
        r#"<Site><Testing><Test Status="failed"><Name>t</Name><Results><NamedMeasurement name="Exit Code"><Value>Timeout</Value></NamedMeasurement></Results></Test></Testing></Site>"#,
    );
    let mut reports = Vec::new();
    for (format, pattern) in
        [("NUnit", "nunit/*.xml"), ("XUnit", "xunit/*.xml"), ("VSTest", "**/*.trx"), ("CTest", "ctest/Test.xml")]
    {
        let mut host = FakeHost::new(root.path());
        let outcome = run(
            "PublishTestResults",
            2,
            &[("testResultsFormat", format), ("testResultsFiles", pattern), ("buildConfiguration", "Release")],
            &mut host,
        );
        reports.push(report(&host, &outcome, root.path()));
    }
    insta::assert_snapshot!(reports.join("\n---\n"), @r#"
    outcome: Succeeded
    log: Reading test results from file '<dir>/nunit/TestResult.xml'
    log: Publishing test results to test run 'NUnit Test Run Release'.
    log: Total tests: 2. Passed: 1. Failed: 1. Skipped: 0. Duration: 0.500s.
    log:   Failed: N.T.b: nope
    run: 'NUnit Test Run Release' NUnit files=["<dir>/nunit/TestResult.xml"] total=2 passed=1 failed=1 skipped=0 duration=500
    ---
    outcome: Succeeded
    log: Reading test results from file '<dir>/xunit/results.xml'
    log: Publishing test results to test run 'XUnit Test Run Release'.
    log: Total tests: 2. Passed: 1. Failed: 0. Skipped: 1. Duration: 0.300s.
    run: 'XUnit Test Run Release' XUnit files=["<dir>/xunit/results.xml"] total=2 passed=1 failed=0 skipped=1 duration=300
    ---
    outcome: Succeeded
    log: Reading test results from file '<dir>/trx/run.trx'
    log: Publishing test results to test run 'VSTest Test Run Release'.
    log: Total tests: 1. Passed: 1. Failed: 0. Skipped: 0. Duration: 0.250s.
    run: 'VSTest Test Run Release' VSTest files=["<dir>/trx/run.trx"] total=1 passed=1 failed=0 skipped=0 duration=250
    ---
    outcome: Succeeded
    log: Reading test results from file '<dir>/ctest/Test.xml'
    log: Publishing test results to test run 'CTest Test Run Release'.
    log: Total tests: 1. Passed: 0. Failed: 1. Skipped: 0. Duration: 0.000s.
    log:   Failed: t: Timeout
    run: 'CTest Test Run Release' CTest files=["<dir>/ctest/Test.xml"] total=1 passed=0 failed=1 skipped=0 duration=0
    "#);
}

#[test]
fn a_format_mismatch_and_a_huge_run_list_only_the_first_failures() {
    let root = tempfile::tempdir().expect("temporary directory");
    let mut text = String::from("<testsuite name=\"many\">");
    for index in 0..25 {
        text.push_str(&format!("<testcase name=\"t{index}\"><failure message=\"boom {index}\"/></testcase>"));
    }
    text.push_str("</testsuite>");
    write(root.path(), "TEST-many.xml", &text);
    let mut host = FakeHost::new(root.path());
    run("PublishTestResults", 2, &[], &mut host);
    insta::assert_snapshot!(host.log[host.log.len() - 3..].join("\n"), @"
    Failed: many.t18: boom 18
    Failed: many.t19: boom 19
    ... and 5 more failed tests.
    ");

    let mut host = FakeHost::new(root.path());
    let outcome = run("PublishTestResults", 2, &[("testResultsFormat", "XUnit")], &mut host);
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @"
    outcome: Succeeded
    log: Reading test results from file '<dir>/TEST-many.xml'
    warning: Invalid results file. Make sure the result format of the file '<dir>/TEST-many.xml' matches 'XUnit' test results format.
    ");
}

const COBERTURA: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<coverage line-rate="0.75" branch-rate="0.5" lines-covered="3" lines-valid="4" branches-covered="1" branches-valid="2" version="1.9" timestamp="1714557600">
  <packages>
    <package name="MyApp" line-rate="0.75" branch-rate="0.5">
      <classes>
        <class name="MyApp.Calculator" filename="Calculator.cs" line-rate="0.75" branch-rate="0.5">
          <lines>
            <line number="5" hits="3" branch="False" />
            <line number="9" hits="1" branch="True" condition-coverage="50% (1/2)" />
            <line number="10" hits="1" branch="False" />
            <line number="12" hits="0" branch="False" />
          </lines>
        </class>
      </classes>
    </package>
  </packages>
</coverage>"#;

const JACOCO: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="shop"><package name="com/example"><counter type="LINE" missed="2" covered="8"/></package><counter type="INSTRUCTION" missed="10" covered="40"/><counter type="BRANCH" missed="1" covered="3"/><counter type="LINE" missed="2" covered="8"/><counter type="COMPLEXITY" missed="2" covered="6"/><counter type="METHOD" missed="1" covered="5"/><counter type="CLASS" missed="0" covered="1"/></report>"#;

#[test]
fn coverage_v1_publishes_the_summary_the_report_directory_and_additional_files() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "app/coverage/cobertura.xml", COBERTURA);
    write(root.path(), "app/coverage/html/index.html", "<html></html>");
    write(root.path(), "app/raw/run.coverage", "raw");
    write(root.path(), "lib/raw/other.coverage", "raw");
    let mut host = FakeHost::new(root.path())
        .with_variable("Build.BuildId", "7")
        .with_variable("Agent.TempDirectory", &root.path().join("_temp").display().to_string());
    let outcome = run(
        "PublishCodeCoverageResults",
        1,
        &[
            ("codeCoverageTool", "Cobertura"),
            ("summaryFileLocation", "$(System.DefaultWorkingDirectory)/**/cobertura.xml"),
            ("reportDirectory", "app/coverage/html/"),
            ("additionalCodeCoverageFiles", "*.coverage"),
        ],
        &mut host,
    );
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @"
    outcome: Succeeded
    log: Reading code coverage summary from '<dir>/app/coverage/cobertura.xml'
    log: Publishing code coverage summary (Cobertura) from '<dir>/app/coverage/cobertura.xml'.
    log:   Lines - 3 of 4 covered (75.00%).
    log:   Branches - 1 of 2 covered (50.00%).
    log: Found 2 result(s) matching pattern: *.coverage
    coverage: Cobertura <dir>/app/coverage/cobertura.xml lines=Some((3, 4)) branches=Some((1, 2)) other=0 packages=1
    artifact: Code Coverage Report_7 <dir>/app/coverage/html
    artifact: Code Coverage Files_7 <dir>/_temp/Code Coverage Files_7
    ");
    assert!(root.path().join("_temp/Code Coverage Files_7/lib/raw/other.coverage").is_file());
}

#[test]
fn coverage_v1_warnings_and_failures() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "a/coverage.xml", COBERTURA);
    write(root.path(), "b/coverage.xml", COBERTURA);
    write(root.path(), "empty.xml", r#"<coverage line-rate="0" lines-covered="0" lines-valid="10"/>"#);
    write(root.path(), "nothing.xml", r#"<coverage line-rate="0"/>"#);
    write(root.path(), "broken.xml", "<coverage>\n<packages>\n</coverage>");
    let mut reports = Vec::new();
    for given in [
        // JaCoCo is the default tool: a Cobertura file does not fit it.
        &[("summaryFileLocation", "**/coverage.xml"), ("reportDirectory", "missing")][..],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "none.xml")],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "none.xml"), ("failIfCoverageEmpty", "true")],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "empty.xml")],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "empty.xml"), ("failIfCoverageEmpty", "true")],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "nothing.xml")],
        &[("codeCoverageTool", "Cobertura"), ("summaryFileLocation", "broken.xml"), ("failIfCoverageEmpty", "true")],
    ] {
        let mut host = FakeHost::new(root.path());
        let outcome = run("PublishCodeCoverageResults", 1, given, &mut host);
        reports.push(report(&host, &outcome, root.path()));
    }
    insta::assert_snapshot!(reports.join("\n---\n"), @r#"
    outcome: Succeeded
    log: Reading code coverage summary from '<dir>/a/coverage.xml'
    warning: Multiple file or directory matches were found. Using the first match: <dir>/a/coverage.xml
    warning: The summary file '<dir>/a/coverage.xml' is not a JaCoCo report: its root element is <coverage>. Check codeCoverageTool.
    warning: Directory not found: '<dir>/missing'
    ---
    outcome: Succeeded
    warning: No code coverage results were found to publish.
    ---
    outcome: Failed("No code coverage results were found to publish.")
    ---
    outcome: Succeeded
    log: Reading code coverage summary from '<dir>/empty.xml'
    log: Publishing code coverage summary (Cobertura) from '<dir>/empty.xml'.
    log:   Lines - 0 of 10 covered (0.00%).
    coverage: Cobertura <dir>/empty.xml lines=Some((0, 10)) branches=None other=0 packages=0
    ---
    outcome: Failed("No code coverage results were found to publish.")
    log: Reading code coverage summary from '<dir>/empty.xml'
    ---
    outcome: Succeeded
    log: Reading code coverage summary from '<dir>/nothing.xml'
    warning: No coverage data found. Check the build errors/warnings for more details.
    ---
    outcome: Failed("No code coverage results were found to publish.")
    log: Reading code coverage summary from '<dir>/broken.xml'
    warning: Failed to read <dir>/broken.xml. Error : ill-formed document: expected `</packages>`, but `</coverage>` was found. Line 3, position 1.
    "#);
}

#[test]
fn coverage_v2_detects_each_files_format() {
    let root = tempfile::tempdir().expect("temporary directory");
    write(root.path(), "web/coverage/cobertura-coverage.xml", COBERTURA);
    write(root.path(), "api/target/site/jacoco/jacoco.xml", JACOCO);
    write(root.path(), "api/target/lcov.xml", "<lcov/>");
    let mut host = FakeHost::new(root.path());
    let outcome = run(
        "PublishCodeCoverageResults",
        2,
        &[("summaryFileLocation", "**/cobertura-coverage.xml\n**/jacoco.xml\n**/lcov.xml\n**/jacoco.xml")],
        &mut host,
    );
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @"
    outcome: Succeeded
    log: Reading code coverage summary from '<dir>/web/coverage/cobertura-coverage.xml'
    log: Reading code coverage summary from '<dir>/api/target/site/jacoco/jacoco.xml'
    log: Reading code coverage summary from '<dir>/api/target/lcov.xml'
    log: Publishing code coverage summary (Cobertura) from '<dir>/web/coverage/cobertura-coverage.xml'.
    log:   Lines - 3 of 4 covered (75.00%).
    log:   Branches - 1 of 2 covered (50.00%).
    log: Publishing code coverage summary (JaCoCo) from '<dir>/api/target/site/jacoco/jacoco.xml'.
    log:   Lines - 8 of 10 covered (80.00%).
    log:   Branches - 3 of 4 covered (75.00%).
    log:   Instructions - 40 of 50 covered (80.00%).
    log:   Methods - 5 of 6 covered (83.33%).
    log:   Classes - 1 of 1 covered (100.00%).
    log:   Complexity - 6 of 8 covered (75.00%).
    warning: The summary file '<dir>/api/target/lcov.xml' is not a Cobertura or JaCoCo report (its root element is <lcov>); Slipway reads those two formats.
    coverage: Cobertura <dir>/web/coverage/cobertura-coverage.xml lines=Some((3, 4)) branches=Some((1, 2)) other=0 packages=1
    coverage: JaCoCo <dir>/api/target/site/jacoco/jacoco.xml lines=Some((8, 10)) branches=Some((3, 4)) other=4 packages=1
    ");

    let mut host = FakeHost::new(root.path());
    let outcome = run(
        "PublishCodeCoverageResults",
        2,
        &[("summaryFileLocation", "**/lcov.xml"), ("failIfCoverageEmpty", "true")],
        &mut host,
    );
    insta::assert_snapshot!(report(&host, &outcome, root.path()), @r#"
    outcome: Failed("No code coverage results were found to publish.")
    log: Reading code coverage summary from '<dir>/api/target/lcov.xml'
    warning: The summary file '<dir>/api/target/lcov.xml' is not a Cobertura or JaCoCo report (its root element is <lcov>); Slipway reads those two formats.
    "#);
}
