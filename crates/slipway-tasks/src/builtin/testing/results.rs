//! Test result files: the formats `PublishTestResults@2` reads, what a parser makes of one file,
//! and the number and text helpers the parsers share.

use std::path::Path;

use slipway_events::{TestCase, TestOutcome};

use super::xml::{XmlError, XmlFile};
use super::{ctest, junit, nunit, trx, xunit};

/// A results format (`testResultsFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// JUnit XML, as written by Surefire, Gradle, pytest, jest-junit, PHPUnit, go-junit-report...
    JUnit,
    /// NUnit 2 (`test-results`) and NUnit 3 (`test-run`).
    NUnit,
    /// Visual Studio TRX (`TestRun`).
    VSTest,
    /// xUnit.net v2 (`assemblies`), and v1 (`assembly`).
    XUnit,
    /// CTest's `Test.xml` (`Site/Testing/Test`).
    CTest,
}

impl Format {
    /// The pick list's values, in task.json's order.
    pub(super) const NAMES: [&'static str; 5] = ["JUnit", "NUnit", "VSTest", "XUnit", "CTest"];

    /// Reads a `testResultsFormat` value (any case).
    pub(super) fn parse(text: &str) -> Option<Self> {
        [Self::JUnit, Self::NUnit, Self::VSTest, Self::XUnit, Self::CTest]
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The format's name, as Azure spells it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::JUnit => "JUnit",
            Self::NUnit => "NUnit",
            Self::VSTest => "VSTest",
            Self::XUnit => "XUnit",
            Self::CTest => "CTest",
        }
    }
}

/// What one results file holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Parsed {
    /// The run name the file suggests (a JUnit suite's name), when the format has one.
    pub title: Option<String>,
    /// Every test, in file order.
    pub tests: Vec<TestCase>,
    /// The run's duration when the file records it (suite or run times); otherwise the sum of
    /// the tests' durations is used.
    pub duration_ms: Option<u64>,
}

impl Parsed {
    /// The run's duration: the recorded one, or the sum of the tests'.
    pub(super) fn duration(&self) -> u64 {
        self.duration_ms.unwrap_or_else(|| self.tests.iter().map(|test| test.duration_ms).sum())
    }
}

/// Reads one results file. A file whose root element is not of the format gives no tests (the
/// task warns that the format does not match), as Azure's readers do.
///
/// # Errors
/// When the file cannot be read or is not well-formed XML, with .NET-style wording and the line.
pub(super) fn read(format: Format, path: &Path) -> Result<Parsed, XmlError> {
    let mut xml = XmlFile::open(path)?;
    let root = xml.root()?;
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let parsed = match format {
        Format::JUnit => junit::parse(&mut xml, &root, &file_name)?,
        Format::NUnit => nunit::parse(&mut xml, &root)?,
        Format::VSTest => trx::parse(&mut xml, &root)?,
        Format::XUnit => xunit::parse(&mut xml, &root)?,
        Format::CTest => ctest::parse(&mut xml, &root)?,
    };
    // Whatever the parser left (the rest of an unknown root), checked for well-formedness.
    while xml.next()?.is_some() {}
    Ok(parsed)
}

/// A test case.
pub(super) fn case(
    name: String,
    suite: Option<String>,
    outcome: TestOutcome,
    duration_ms: u64,
    message: Option<String>,
    stack_trace: Option<String>,
) -> TestCase {
    TestCase { name, suite, outcome, duration_ms, message, stack_trace }
}

/// `name` without a leading `suite.` (runners often write fully qualified test names).
pub(super) fn short_name(name: &str, suite: Option<&str>) -> String {
    suite
        .and_then(|suite| name.strip_prefix(suite))
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name)
        .to_owned()
}

/// Text without its leading blank lines and trailing white space, or `None` when blank. A
/// single line is trimmed; several keep their indentation (stack traces line up).
pub(super) fn clean(text: &str) -> Option<String> {
    let text = text.trim_end();
    let first = text.find(|c: char| !c.is_whitespace())?;
    let block = &text[text[..first].rfind('\n').map_or(0, |newline| newline + 1)..];
    Some(if block.contains('\n') { block.to_owned() } else { block.trim_start().to_owned() })
}

/// The first non-blank line of a text, trimmed.
pub(super) fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|line| !line.is_empty()).map(str::to_owned)
}

/// Seconds (`0.123`, `1,234.5` with a thousands separator, `0,5` with a decimal comma) as
/// milliseconds, rounded; `None` for anything else, negatives and non-finite values included.
pub(super) fn seconds(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('s');
    // A comma is a thousands separator beside a decimal point or before groups of three digits;
    // otherwise it is a decimal comma.
    let thousands = text.contains('.') || text.split(',').skip(1).all(|group| group.len() == 3);
    let normalized = if thousands { text.replace(',', "") } else { text.replace(',', ".") };
    let value: f64 = normalized.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * 1000.0).round() as u64)
}

/// A .NET `TimeSpan` (`hh:mm:ss.fffffff`, optionally `d.` first) as milliseconds, rounded.
pub(super) fn timespan(text: &str) -> Option<u64> {
    let mut parts = text.trim().split(':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (days, hours) = match hours.split_once('.') {
        Some((days, hours)) => (days.parse::<u64>().ok()?, hours),
        None => (0, hours),
    };
    let hours: u64 = hours.parse().ok()?;
    let minutes: u64 = minutes.parse().ok()?;
    let seconds: f64 = seconds.parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(((days * 24 + hours) * 60 + minutes) * 60_000 + (seconds * 1000.0).round() as u64)
}

/// An ISO 8601 date and time (`2024-03-01T10:15:30.1234567+01:00`, `Z`, or no offset meaning
/// UTC; a space may stand for `T`) as milliseconds since the Unix epoch.
pub(super) fn timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut date_parts = date.split('-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(index) = time.rfind(['+', '-']) {
        let (clock, offset) = time.split_at(index);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
        (clock, sign * (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?))
    } else {
        (time, 0)
    };
    let mut clock_parts = clock.split(':');
    let hours: i64 = clock_parts.next()?.parse().ok()?;
    let minutes: i64 = clock_parts.next()?.parse().ok()?;
    let seconds: f64 = clock_parts.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !seconds.is_finite() {
        return None;
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let year_of_era = shifted - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let minutes_of_day = hours * 60 + minutes - offset_minutes;
    Some((days * 1440 + minutes_of_day) * 60_000 + (seconds * 1000.0).round() as i64)
}

/// An outcome's counts: passed, failed, skipped.
pub(super) fn counts(tests: &[TestCase]) -> (u64, u64, u64) {
    tests.iter().fold((0, 0, 0), |(passed, failed, skipped), test| match test.outcome {
        TestOutcome::Passed => (passed + 1, failed, skipped),
        TestOutcome::Failed => (passed, failed + 1, skipped),
        TestOutcome::Skipped => (passed, failed, skipped + 1),
    })
}

/// The tests one per line, for snapshots: outcome, suite, name, duration, message, stack trace.
#[cfg(test)]
pub(super) fn outline(tests: &[slipway_events::TestCase]) -> String {
    tests
        .iter()
        .map(|test| {
            format!(
                "{:?} {} :: {} ({} ms) message={:?} stack={:?}",
                test.outcome,
                test.suite.as_deref().unwrap_or("-"),
                test.name,
                test.duration_ms,
                test.message,
                test.stack_trace
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_parse_like_the_agent() {
        assert_eq!(seconds("0.0125"), Some(13));
        assert_eq!(seconds("1,234.5"), Some(1_234_500));
        assert_eq!(seconds("1,234"), Some(1_234_000));
        assert_eq!(seconds("0,5"), Some(500));
        assert_eq!(seconds("2s"), Some(2000));
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("NaN"), None);
        assert_eq!(seconds(""), None);
        assert_eq!(timespan("00:00:01.2345678"), Some(1235));
        assert_eq!(timespan("1.02:03:04.5"), Some(((26 * 60 + 3) * 60 + 4) * 1000 + 500));
        assert_eq!(timespan("12.5"), None);
        assert_eq!(timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(timestamp("2024-03-01T10:15:30.1234567+01:00"), Some(1_709_284_530_123));
        assert_eq!(timestamp("2024-03-01 09:15:30Z"), Some(1_709_284_530_000));
        assert_eq!(timestamp("2024-03-01T04:15:30-05:00"), Some(1_709_284_530_000));
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(short_name("A.B.test", Some("A.B")), "test");
        assert_eq!(short_name("A.Bc", Some("A.B")), "A.Bc");
        assert_eq!(Format::parse("vstest"), Some(Format::VSTest));
        assert_eq!(Format::parse("TAP"), None);
        assert_eq!(clean("\n   at A()\n   at B()\n  ").as_deref(), Some("   at A()\n   at B()"));
        assert_eq!(clean("\n   only one  \n").as_deref(), Some("only one"));
        assert_eq!(clean(" \n\t "), None);
    }
}
