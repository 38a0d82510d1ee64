//! What the file tasks share: paths from inputs, macros in input defaults, glob escaping,
//! removal, outside programs, and turning a result into an [`Outcome`].

use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{CommandLine, Inputs, Outcome, TaskHost};

/// Why a file task failed, in the words the task reports.
pub(super) type Failure = String;

/// A task's result as its outcome.
pub(super) fn outcome(result: Result<(), Failure>) -> Outcome {
    match result {
        Ok(()) => Outcome::Succeeded,
        Err(message) => Outcome::Failed(message),
    }
}

/// An input's value; when it is the input's default, with its macros expanded (values a step
/// gives reach the task with their macros already expanded by the runtime; defaults do not).
pub(super) fn value_or_expanded_default(inputs: &Inputs, name: &str, default: &str, host: &dyn TaskHost) -> String {
    let value = inputs.text(name);
    if value == default { host.expand(value) } else { value.to_owned() }
}

/// A path input as an absolute, normalized path: relative to the job's default working
/// directory when not absolute; the working directory itself when empty.
pub(super) fn absolute(text: &str, host: &dyn TaskHost) -> PathBuf {
    normalize(&host.working_directory().join(text.trim()))
}

/// Normalizes a path lexically, as Node's `path.normalize` does: drops `.` components and
/// resolves `..` against the component before it (never above the root).
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !path.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from(".") } else { out }
}

/// The task library's message for a path input that does not exist.
pub(super) fn not_found(input: &str, path: &Path) -> Failure {
    format!("Not found {input}: {}", path.display())
}

/// A path written into a glob pattern so that it matches only itself.
pub(super) fn escape_glob(path: &Path) -> String {
    crate::glob::escape(&path.display().to_string())
}

/// Removes a file, a symbolic link (not what it points to) or a directory tree, as the task
/// library's `rmRF`. A path that does not exist is not an error.
pub(super) fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Runs an outside program (`7z`, `tar`) through the host. `Err` says, in `missing`'s words
/// followed by the host's reason, that the program could not be started; `Ok` is its exit code.
pub(super) fn run_program(host: &mut dyn TaskHost, command: &CommandLine, missing: &str) -> Result<i32, Failure> {
    host.run(command).map_err(|reason| format!("{missing} ({}: {reason})", command.program))
}

/// A time as `2024-05-01T12:00:00Z` (UTC), for the log.
pub(super) fn format_time(time: SystemTime) -> String {
    let (year, month, day, hour, minute, second) = civil_time(time);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// A time's UTC calendar date and time of day: year, month, day, hour, minute, second. Times
/// before 1970 count as 1970-01-01.
pub(super) fn civil_time(time: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let in_day = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let small = |value: i64| u32::try_from(value).unwrap_or(0);
    let of_day = |value: u64| u32::try_from(value).unwrap_or(0);
    (year, small(month), small(day), of_day(in_day / 3600), of_day(in_day / 60 % 60), of_day(in_day % 60))
}

/// The time of a UTC calendar date and time of day (the inverse of [`civil_time`]); `None` for
/// an impossible date or one before 1970.
pub(super) fn unix_time(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<SystemTime> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil algorithm.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// Reads an integer as JavaScript's `parseInt` does (leading spaces, a sign, then digits; the
/// rest ignored), as a count or a delay: anything else, or a negative number, is 0.
pub(super) fn parse_count(text: &str) -> u64 {
    let text = text.trim_start();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    if negative { 0 } else { digits.parse().unwrap_or(if digits.is_empty() { 0 } else { u64::MAX }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    #[test]
    fn macros_expand_from_variables_and_unknown_ones_stay() {
        let host = FakeHost::new(Path::new("/work"))
            .with_variable("Build.ArtifactStagingDirectory", "/a")
            .with_variable("build.buildid", "42");
        assert_eq!(host.expand("$(Build.ArtifactStagingDirectory)/$(Build.BuildId).zip"), "/a/42.zip");
        assert_eq!(host.expand("$(Nope)/x $() $(unclosed"), "$(Nope)/x $() $(unclosed");
    }

    #[test]
    fn paths_are_rooted_at_the_working_directory_and_normalized() {
        let host = FakeHost::new(Path::new("/work/repo"));
        assert_eq!(absolute("", &host), PathBuf::from("/work/repo"));
        assert_eq!(absolute("out/./x/../y", &host), PathBuf::from("/work/repo/out/y"));
        assert_eq!(absolute("/abs/../other", &host), PathBuf::from("/other"));
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn counts_read_like_parse_int() {
        assert_eq!(parse_count("3"), 3);
        assert_eq!(parse_count(" 12ms"), 12);
        assert_eq!(parse_count("-4"), 0);
        assert_eq!(parse_count("abc"), 0);
        assert_eq!(parse_count(""), 0);
        assert_eq!(parse_count("99999999999999999999999"), u64::MAX);
    }

    #[test]
    fn times_format_in_utc() {
        let time = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(format_time(time), "2000-02-29T03:04:05Z");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(unix_time(2000, 2, 29, 3, 4, 5), Some(time));
        assert_eq!(unix_time(1969, 12, 31, 0, 0, 0), None);
        assert_eq!(unix_time(2000, 13, 1, 0, 0, 0), None);
    }

    #[test]
    fn globs_escape_to_literals() {
        let escaped = escape_glob(Path::new("/w/a[1]*?(b){c}"));
        assert_eq!(escaped, "/w/a[[]1][*][?][(]b)[{]c[}]");
        assert!(crate::glob::Pattern::new(&escaped).matches("/w/a[1]*?(b){c}"));
        assert!(!crate::glob::Pattern::new(&escaped).matches("/w/a1xx(b){c}"));
    }
}
