//! Built-in tasks: testing. `PublishTestResults@2` reads JUnit, NUnit (2 and 3), xUnit.net,
//! VSTest TRX and CTest result files into test runs the run keeps; `PublishCodeCoverageResults@1`
//! and `@2` read Cobertura and JaCoCo summaries.
//!
//! Inputs are Azure's (task.json names, aliases and defaults); messages are Azure's where the task
//! or the agent has one (`No test result files matching '...' were found.`, `Failed to read
//! FILE. Error : ....`, `Invalid results file. Make sure the result format of the file '...'
//! matches '...' test results format.`, `No code coverage results were found to publish.`).
//! Run names follow the agent: a JUnit file's suite name (`JUnit_FILE` for several suites),
//! NUnit 2's `test-results` name, `FORMAT Test Run [configuration] [platform]` otherwise,
//! `FORMAT_TestResults_BUILDID` for a merged run, `testRunTitle` (numbered `_1`, `_2`... when
//! several files each get a run). Files are read as streams (module `xml`): huge files stay cheap,
//! malformed ones give a warning naming the file, the problem and its line.

mod cobertura;
mod coverage;
mod ctest;
mod jacoco;
mod junit;
mod nunit;
mod results;
mod trx;
mod xml;
mod xunit;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use slipway_events::{Coverage, TestOutcome, TestRun};

use super::Builtin;
use crate::glob::find_match;
use crate::{InputSpec, Inputs, Outcome, TaskHost};
use coverage::{Read, Tool};
use results::{Format, Parsed};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "PublishTestResults",
        id: "0b0f01ed-7dde-43ff-9cbb-e48954daf9b1",
        majors: &[2],
        inputs: publish_test_results_inputs,
        run: publish_test_results,
    },
    Builtin {
        name: "PublishCodeCoverageResults",
        id: "2a7ebc54-c13e-490e-81a5-d7561ab7cd97",
        majors: &[1, 2],
        inputs: publish_code_coverage_inputs,
        run: publish_code_coverage,
    },
];

/// Azure merges the results into one run, whatever `mergeTestResults` says, above this many files.
const MERGE_THRESHOLD: usize = 100;

/// How many failed tests a run's summary lists by name.
const LISTED_FAILURES: usize = 20;

/// `ErrorFailTaskOnFailedTests`.
const FAILED_TESTS: &str = "There are one or more test failures detected in result files. Detailed summary of published test results can be viewed in the Tests tab.";

/// `NoCodeCoverage`.
const NO_COVERAGE: &str = "No code coverage results were found to publish.";

/// The agent's `CodeCoverageDataIsNull`.
const NO_COVERAGE_DATA: &str = "No coverage data found. Check the build errors/warnings for more details.";

/// `PublishTestResults@2`'s inputs (task.json 2.x, with the later `failTaskOn...` inputs).
fn publish_test_results_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::pick("testRunner", &Format::NAMES).alias(&["testResultsFormat"]).default("JUnit").required(),
        InputSpec::lines("testResultsFiles").default("**/TEST-*.xml").required(),
        InputSpec::string("searchFolder").default("$(System.DefaultWorkingDirectory)"),
        InputSpec::boolean("mergeTestResults", false),
        InputSpec::boolean("failTaskOnFailedTests", false),
        InputSpec::boolean("failTaskOnFailureToPublishResults", false),
        InputSpec::boolean("failTaskOnMissingResultsFile", false),
        InputSpec::string("testRunTitle"),
        InputSpec::string("platform").alias(&["buildPlatform"]),
        InputSpec::string("configuration").alias(&["buildConfiguration"]),
        InputSpec::boolean("publishRunAttachments", true),
    ]
}

/// `PublishCodeCoverageResults`' inputs: `@1` names the tool and one summary file, `@2` takes
/// several summary files of any supported format.
fn publish_code_coverage_inputs(major: u32) -> Vec<InputSpec> {
    if major == 1 {
        vec![
            InputSpec::pick("codeCoverageTool", &["Cobertura", "JaCoCo"]).default("JaCoCo").required(),
            InputSpec::string("summaryFileLocation").required(),
            InputSpec::string("pathToSources"),
            InputSpec::string("reportDirectory"),
            InputSpec::string("additionalCodeCoverageFiles"),
            InputSpec::boolean("failIfCoverageEmpty", false),
        ]
    } else {
        vec![
            InputSpec::lines("summaryFileLocation").required(),
            InputSpec::string("pathToSources"),
            InputSpec::boolean("failIfCoverageEmpty", false),
        ]
    }
}

/// A path input made absolute against the default working directory.
fn absolute(text: &str, host: &dyn TaskHost) -> PathBuf {
    host.working_directory().join(host.expand(text))
}

/// The files (not directories) matching `patterns` below `root`.
fn matching_files(root: &Path, patterns: &[String]) -> Vec<PathBuf> {
    find_match(root, patterns).into_iter().filter(|path| path.is_file()).collect()
}

/// Milliseconds as `1.205s`.
fn duration(milliseconds: u64) -> String {
    format!("{}.{:03}s", milliseconds / 1000, milliseconds % 1000)
}

/// `PublishTestResults@2`: finds result files, reads them, publishes one run per file (or one
/// merged run), and fails on failed tests or missing files when asked to.
fn publish_test_results(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let Some(format) = Format::parse(inputs.text("testRunner")) else {
        return Outcome::failed(format!(
            "Input testRunner has an invalid value '{}'; expected one of: {}",
            inputs.text("testRunner"),
            Format::NAMES.join(", ")
        ));
    };
    let patterns = inputs.lines("testResultsFiles");
    let search_folder = match inputs.get("searchFolder") {
        Some(folder) => absolute(folder, host),
        None => host.working_directory(),
    };
    let files = matching_files(&search_folder, &patterns);
    if files.is_empty() {
        let message = format!("No test result files matching '{}' were found.", patterns.join(","));
        if inputs.boolean("failTaskOnMissingResultsFile") {
            return Outcome::Failed(message);
        }
        host.warning(&message);
        return Outcome::Succeeded;
    }

    // Each file that has results, with its number among the files found.
    let mut read: Vec<(usize, &Path, Parsed)> = Vec::new();
    for (index, file) in files.iter().enumerate() {
        host.log(&format!("Reading test results from file '{}'", file.display()));
        match results::read(format, file) {
            Ok(parsed) if !parsed.tests.is_empty() => read.push((index + 1, file, parsed)),
            Ok(_) => host.warning(&format!(
                "Invalid results file. Make sure the result format of the file '{}' matches '{}' test results format.",
                file.display(),
                format.name()
            )),
            Err(error) => host.warning(&format!("Failed to read {}. Error : {error}.", file.display())),
        }
    }

    let title = inputs.get("testRunTitle");
    let default_title = {
        let words: Vec<&str> = [inputs.text("configuration"), inputs.text("platform")]
            .into_iter()
            .filter(|word| !word.is_empty())
            .collect();
        let mut name = format!("{} Test Run", format.name());
        for word in words {
            name.push(' ');
            name.push_str(word);
        }
        name
    };
    let run = |title: String, files: Vec<&Path>, tests: Vec<slipway_events::TestCase>, duration_ms: u64| {
        let (passed, failed, skipped) = results::counts(&tests);
        TestRun {
            title,
            format: format.name().to_owned(),
            files: files.iter().map(|file| file.display().to_string()).collect(),
            total: tests.len() as u64,
            passed,
            failed,
            skipped,
            duration_ms,
            tests,
        }
    };
    let mut runs = Vec::new();
    if inputs.boolean("mergeTestResults") || files.len() > MERGE_THRESHOLD {
        if !read.is_empty() {
            let title = title.map_or_else(
                || match host.variable("Build.BuildId") {
                    Some(id) => format!("{}_TestResults_{id}", format.name()),
                    None => format!("{}_TestResults", format.name()),
                },
                str::to_owned,
            );
            let duration_ms = read.iter().map(|(_, _, parsed)| parsed.duration()).sum();
            let paths = read.iter().map(|(_, file, _)| *file).collect();
            let tests = read.into_iter().flat_map(|(_, _, parsed)| parsed.tests).collect();
            runs.push(run(title, paths, tests, duration_ms));
        }
    } else {
        for (number, file, parsed) in read {
            let title = match title {
                Some(title) if files.len() > 1 => format!("{title}_{number}"),
                Some(title) => title.to_owned(),
                None => parsed.title.clone().unwrap_or_else(|| default_title.clone()),
            };
            let duration_ms = parsed.duration();
            runs.push(run(title, vec![file], parsed.tests, duration_ms));
        }
    }

    let mut failed = 0;
    for test_run in &runs {
        failed += test_run.failed;
        for line in summary(test_run) {
            host.log(&line);
        }
    }
    if runs.len() > 1 {
        let total: u64 = runs.iter().map(|run| run.total).sum();
        let passed: u64 = runs.iter().map(|run| run.passed).sum();
        let skipped: u64 = runs.iter().map(|run| run.skipped).sum();
        host.log(&format!(
            "Published {} test runs: {total} tests, {passed} passed, {failed} failed, {skipped} skipped.",
            runs.len()
        ));
    }
    for test_run in runs {
        host.publish_test_results(test_run);
    }
    if failed > 0 && inputs.boolean("failTaskOnFailedTests") {
        return Outcome::failed(FAILED_TESTS);
    }
    Outcome::Succeeded
}

/// Publishes result files as `PublishTestResults@2` would with these inputs. Tasks that publish
/// their own results use it, as Azure's do (`DotNetCoreCLI test` publishes its TRX files).
pub(crate) fn publish_result_files(
    host: &mut dyn TaskHost,
    format: &str,
    search_folder: &Path,
    pattern: &str,
    title: Option<&str>,
) -> Outcome {
    let mut given = vec![
        ("testRunner".to_owned(), format.to_owned()),
        ("testResultsFiles".to_owned(), pattern.to_owned()),
        ("searchFolder".to_owned(), search_folder.display().to_string()),
    ];
    if let Some(title) = title {
        given.push(("testRunTitle".to_owned(), title.to_owned()));
    }
    match Inputs::resolve(&publish_test_results_inputs(2), &given) {
        Ok(inputs) => publish_test_results(2, &inputs, host),
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// A run's summary for the log: its totals, then its failed tests.
fn summary(run: &TestRun) -> Vec<String> {
    let mut lines = vec![
        format!("Publishing test results to test run '{}'.", run.title),
        format!(
            "Total tests: {}. Passed: {}. Failed: {}. Skipped: {}. Duration: {}.",
            run.total,
            run.passed,
            run.failed,
            run.skipped,
            duration(run.duration_ms)
        ),
    ];
    let failures: Vec<_> = run.tests.iter().filter(|test| test.outcome == TestOutcome::Failed).collect();
    for test in failures.iter().take(LISTED_FAILURES) {
        let name = match &test.suite {
            Some(suite) => format!("{suite}.{}", test.name),
            None => test.name.clone(),
        };
        match test.message.as_deref().and_then(results::first_line) {
            Some(message) => lines.push(format!("  Failed: {name}: {message}")),
            None => lines.push(format!("  Failed: {name}")),
        }
    }
    if failures.len() > LISTED_FAILURES {
        lines.push(format!("  ... and {} more failed tests.", failures.len() - LISTED_FAILURES));
    }
    lines
}

/// `PublishCodeCoverageResults@1` and `@2`: finds the summary file(s), reads them, publishes
/// their summaries; `@1` also publishes the report directory and additional files as artifacts.
fn publish_code_coverage(major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let work = host.working_directory();
    let (tool, files) = if major == 1 {
        let Some(tool) = Tool::parse(inputs.text("codeCoverageTool")) else {
            return Outcome::failed(format!(
                "Input codeCoverageTool has an invalid value '{}'; expected one of: Cobertura, JaCoCo",
                inputs.text("codeCoverageTool")
            ));
        };
        let pattern = host.expand(inputs.text("summaryFileLocation"));
        let matches = matching_files(&work, &[pattern]);
        if let (Some(first), true) = (matches.first(), matches.len() > 1) {
            host.warning(&format!(
                "Multiple file or directory matches were found. Using the first match: {}",
                first.display()
            ));
        }
        (Some(tool), matches.into_iter().take(1).collect::<Vec<_>>())
    } else {
        let patterns: Vec<String> =
            inputs.lines("summaryFileLocation").iter().map(|pattern| host.expand(pattern)).collect();
        let mut files = Vec::new();
        for pattern in &patterns {
            for file in matching_files(&work, std::slice::from_ref(pattern)) {
                if !files.contains(&file) {
                    files.push(file);
                }
            }
        }
        (None, files)
    };
    let fail_if_empty = inputs.boolean("failIfCoverageEmpty");

    let mut summaries: Vec<Coverage> = Vec::new();
    for file in &files {
        host.log(&format!("Reading code coverage summary from '{}'", file.display()));
        match coverage::read(tool, file) {
            Err(error) => host.warning(&format!("Failed to read {}. Error : {error}.", file.display())),
            Ok(Read::OtherFormat(root)) => host.warning(&match tool {
                Some(tool) => format!(
                    "The summary file '{}' is not a {} report: its root element is <{root}>. Check codeCoverageTool.",
                    file.display(),
                    tool.name()
                ),
                None => format!(
                    "The summary file '{}' is not a Cobertura or JaCoCo report (its root element is <{root}>); Slipway reads those two formats.",
                    file.display()
                ),
            }),
            Ok(Read::Summary(summary)) if coverage::counters(&summary).is_empty() => host.warning(NO_COVERAGE_DATA),
            Ok(Read::Summary(summary)) => summaries.push(summary),
        }
    }
    let covered =
        summaries.iter().any(|summary| coverage::counters(summary).iter().any(|(_, counter)| counter.covered > 0));
    if fail_if_empty && !covered {
        return Outcome::failed(NO_COVERAGE);
    }
    if files.is_empty() {
        host.warning(NO_COVERAGE);
    }
    for summary in summaries {
        host.log(&format!("Publishing code coverage summary ({}) from '{}'.", summary.format, summary.file));
        for (label, counter) in coverage::counters(&summary) {
            host.log(&format!(
                "  {label} - {} of {} covered ({}).",
                counter.covered,
                counter.total,
                coverage::percent(counter)
            ));
        }
        host.publish_coverage(summary);
    }
    if major == 1 && !files.is_empty() {
        publish_coverage_files(inputs, host);
    }
    Outcome::Succeeded
}

/// `@1`: the HTML report directory (`Code Coverage Report_BUILDID`) and the additional files
/// (`Code Coverage Files_BUILDID`, copied with their folders below the working directory into
/// the agent's temporary directory first) as artifacts, as the agent publishes them.
fn publish_coverage_files(inputs: &Inputs, host: &mut dyn TaskHost) {
    let work = host.working_directory();
    let suffix = host.variable("Build.BuildId").map(|id| format!("_{id}")).unwrap_or_default();
    if let Some(directory) = inputs.get("reportDirectory") {
        let pattern = host.expand(directory).trim_end_matches(['/', '\\']).to_owned();
        match find_match(&work, &[pattern]).into_iter().find(|path| path.is_dir()) {
            Some(found) => {
                if let Err(error) = host.publish_artifact(&format!("Code Coverage Report{suffix}"), &found) {
                    host.warning(&format!("Error occurred while publishing code coverage files. Error: {error}"));
                }
            }
            None => host.warning(&format!("Directory not found: '{}'", absolute(directory, host).display())),
        }
    }
    if let Some(pattern) = inputs.get("additionalCodeCoverageFiles") {
        // The task matches with `matchBase`: a pattern without a slash matches file names anywhere.
        let expanded = host.expand(pattern);
        let rooted = if expanded.contains(['/', '\\']) { expanded } else { format!("**/{expanded}") };
        let files = matching_files(&work, &[rooted]);
        host.log(&format!("Found {} result(s) matching pattern: {pattern}", files.len()));
        if files.is_empty() {
            return;
        }
        let name = format!("Code Coverage Files{suffix}");
        let temporary = host.variable("Agent.TempDirectory").map_or_else(std::env::temp_dir, PathBuf::from);
        let staged = temporary.join(&name);
        let copied = (|| -> std::io::Result<()> {
            if staged.exists() {
                std::fs::remove_dir_all(&staged)?;
            }
            for file in &files {
                let relative = file
                    .strip_prefix(&work)
                    .map_or_else(|_| PathBuf::from(file.file_name().unwrap_or_default()), Path::to_path_buf);
                let target = staged.join(relative);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::copy(file, target)?;
            }
            Ok(())
        })();
        let published = copied
            .map_err(|error| crate::HostError::Failed(Box::new(error)))
            .and_then(|()| host.publish_artifact(&name, &staged));
        if let Err(error) = published {
            host.warning(&format!("Error occurred while publishing code coverage files. Error: {error}"));
        }
    }
}
