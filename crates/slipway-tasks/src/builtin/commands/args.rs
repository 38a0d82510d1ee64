//! Helpers shared by the command tasks (and the tool tasks): the task library's argument
//! splitting, macro expansion of input defaults, and running a program with a clear error
//! when it is missing.

use super::CommandError;
use crate::{CommandLine, TaskHost};

/// Splits an argument line as the task library's `ToolRunner.line()` does: on spaces outside
/// double quotes; quotes are removed; inside quotes `\"` is a literal quote and `\\` a literal
/// backslash (any other backslash is kept as is).
#[must_use]
pub(crate) fn split_arguments(line: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut current = String::new();
    let append = |current: &mut String, escaped: &mut bool, c: char| {
        if *escaped && c != '"' {
            current.push('\\');
        }
        current.push(c);
        *escaped = false;
    };
    for c in line.chars() {
        if c == '"' {
            if escaped {
                append(&mut current, &mut escaped, c);
            } else {
                in_quotes = !in_quotes;
            }
            continue;
        }
        if c == '\\' && escaped {
            append(&mut current, &mut escaped, c);
            continue;
        }
        if c == '\\' && in_quotes {
            escaped = true;
            continue;
        }
        if c == ' ' && !in_quotes {
            if !current.is_empty() {
                arguments.push(std::mem::take(&mut current));
            }
            continue;
        }
        append(&mut current, &mut escaped, c);
    }
    if !current.is_empty() {
        arguments.push(current.trim().to_owned());
    }
    arguments
}

/// Runs `command`, turning a failure to start it into a message that names the program and
/// says what would provide it.
///
/// # Errors
/// When the program cannot be started.
pub(crate) fn run(
    host: &mut dyn TaskHost,
    command: &CommandLine,
    provided_by: &'static str,
) -> Result<i32, CommandError> {
    host.run(command).map_err(|source| CommandError::CannotStart {
        program: command.program.clone(),
        provided_by,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    #[test]
    fn splits_like_the_task_library() {
        assert_eq!(split_arguments("  -c Release   --no-restore "), vec!["-c", "Release", "--no-restore"]);
        assert_eq!(split_arguments(r#"--output "my dir/out" -p:X="a b""#), vec!["--output", "my dir/out", "-p:X=a b"]);
        assert_eq!(split_arguments(r#""say \"hi\"" C:\path\x "a\\b""#), vec![r#"say "hi""#, r"C:\path\x", r"a\\b"]);
        assert_eq!(split_arguments(r#""a\nb""#), vec![r"a\nb"]);
        assert_eq!(split_arguments(r#"x """#), vec!["x"]);
        assert!(split_arguments("   ").is_empty());
    }

    #[test]
    fn expands_known_macros_only() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let host = FakeHost::new(directory.path()).with_variable("Build.ArtifactStagingDirectory", "/a");
        assert_eq!(host.expand("$(Build.ArtifactStagingDirectory)/**/*.nupkg"), "/a/**/*.nupkg");
        assert_eq!(host.expand("$(BuildConfiguration)"), "$(BuildConfiguration)");
        assert_eq!(host.expand("a $( b"), "a $( b");
    }
}
