//! Azure's logging commands: `##vso[area.event key=value;...]data` and the `##[kind]text`
//! formatting commands, parsed one output line at a time.
//!
//! As in the Azure agent, a `##vso[` command is recognised anywhere in a line (so `set -x` traces
//! of an `echo` also run it), while formatting commands only at the start of a line.

use slipway_events::{LogKind, Severity, TaskResult};

/// A `##vso[...]` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `task.setvariable`.
    SetVariable {
        /// `variable=`.
        name: String,
        /// The data.
        value: String,
        /// `isOutput=true`.
        output: bool,
        /// `isSecret=true` (also `issecret`).
        secret: bool,
        /// `isReadOnly=true`.
        readonly: bool,
    },
    /// `task.setsecret`: the data is a secret to mask.
    SetSecret(String),
    /// `task.prependpath`: the data is a directory to put in front of `PATH` for later steps.
    PrependPath(String),
    /// `task.logissue`.
    LogIssue {
        /// `type=error|warning`.
        severity: Severity,
        /// The data.
        message: String,
        /// `sourcepath=`.
        source_path: Option<String>,
        /// `linenumber=`.
        line: Option<u32>,
        /// `columnnumber=`.
        column: Option<u32>,
        /// `code=`.
        code: Option<String>,
    },
    /// `task.complete result=...`: sets the step's result.
    Complete {
        /// The result asked for (Succeeded when absent).
        result: TaskResult,
        /// The data.
        message: String,
    },
    /// `task.uploadfile`: attaches a file to the run.
    UploadFile(String),
    /// `task.uploadsummary` (and `task.addattachment type=Distributedtask.Core.Summary`).
    UploadSummary(String),
    /// `artifact.upload artifactname=...;containerfolder=...`: adds a file or folder to an artifact.
    ArtifactUpload {
        /// `artifactname=`.
        name: String,
        /// `containerfolder=`: the folder inside the artifact.
        container_folder: Option<String>,
        /// The data: what to upload.
        path: String,
    },
    /// `build.addbuildtag`.
    AddBuildTag(String),
    /// `build.updatebuildnumber`.
    UpdateBuildNumber(String),
    /// A command Slipway does not know, or a known one with bad properties.
    Invalid {
        /// The whole command text.
        text: String,
        /// What is wrong.
        reason: String,
    },
}

/// What one line of output is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A logging command.
    Command(Command),
    /// A formatting command and the text after it.
    Formatted(LogKind, &'a str),
    /// Plain output.
    Plain(&'a str),
}

/// Parses one line (without its line ending).
#[must_use]
pub fn parse_line(line: &str) -> Line<'_> {
    if let Some(at) = find_ignore_case(line, "##vso[") {
        return Line::Command(parse_command(&line[at..]));
    }
    match LogKind::split_line(line) {
        (LogKind::Output, _) => Line::Plain(line),
        (kind, text) => Line::Formatted(kind, text),
    }
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack.as_bytes().windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Undoes the escaping of property values and data.
fn unescape(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    text.replace("%3B", ";")
        .replace("%3b", ";")
        .replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%5D", "]")
        .replace("%5d", "]")
        .replace("%AZP25", "%")
}

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

fn parse_command(text: &str) -> Command {
    let invalid = |reason: &str| Command::Invalid { text: text.to_owned(), reason: reason.to_owned() };
    let body = &text["##vso[".len()..];
    let Some(close) = body.find(']') else { return invalid("the command has no closing `]`") };
    let header = &body[..close];
    let data = unescape(body[close + 1..].trim_end_matches(['\r', '\n']));
    let (name, properties_text) = header.split_once(' ').unwrap_or((header, ""));
    let mut properties: Vec<(String, String)> = Vec::new();
    for pair in properties_text.split(';') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        properties.push((key.trim().to_ascii_lowercase(), unescape(value)));
    }
    let get = |key: &str| properties.iter().find(|(k, _)| k == key).map(|(_, value)| value);
    match name.to_ascii_lowercase().as_str() {
        "task.setvariable" => match get("variable") {
            Some(variable) if !variable.trim().is_empty() => Command::SetVariable {
                name: variable.trim().to_owned(),
                value: data,
                output: is_true(get("isoutput")),
                secret: is_true(get("issecret")),
                readonly: is_true(get("isreadonly")),
            },
            _ => invalid("task.setvariable needs a `variable` property"),
        },
        "task.setsecret" => Command::SetSecret(data),
        "task.prependpath" => Command::PrependPath(data),
        "task.logissue" => {
            let severity = match get("type").map(|kind| kind.to_ascii_lowercase()) {
                Some(kind) if kind == "error" => Severity::Error,
                Some(kind) if kind == "warning" => Severity::Warning,
                _ => return invalid("task.logissue needs `type=error` or `type=warning`"),
            };
            Command::LogIssue {
                severity,
                message: data,
                source_path: get("sourcepath").cloned(),
                line: get("linenumber").and_then(|value| value.trim().parse().ok()),
                column: get("columnnumber").and_then(|value| value.trim().parse().ok()),
                code: get("code").cloned(),
            }
        }
        "task.complete" => {
            let result = match get("result") {
                None => TaskResult::Succeeded,
                Some(value) => match TaskResult::parse(value) {
                    Some(result @ (TaskResult::Succeeded | TaskResult::SucceededWithIssues | TaskResult::Failed)) => {
                        result
                    }
                    _ => return invalid("task.complete `result` must be Succeeded, SucceededWithIssues or Failed"),
                },
            };
            Command::Complete { result, message: data }
        }
        "task.uploadfile" => Command::UploadFile(data),
        "task.uploadsummary" => Command::UploadSummary(data),
        "task.addattachment"
            if get("type").is_some_and(|kind| kind.eq_ignore_ascii_case("Distributedtask.Core.Summary")) =>
        {
            Command::UploadSummary(data)
        }
        "artifact.upload" => match get("artifactname") {
            Some(artifact) if !artifact.trim().is_empty() => Command::ArtifactUpload {
                name: artifact.trim().to_owned(),
                container_folder: get("containerfolder").cloned(),
                path: data,
            },
            _ => invalid("artifact.upload needs an `artifactname` property"),
        },
        "build.addbuildtag" => Command::AddBuildTag(data),
        "build.updatebuildnumber" => Command::UpdateBuildNumber(data),
        _ => invalid("Slipway does not know this command"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_setvariable_with_flags_and_escapes() {
        let line = "##vso[task.setvariable variable=out;isOutput=true;issecret=false;isreadonly=true]a%3Bb%AZP25c";
        assert_eq!(
            parse_line(line),
            Line::Command(Command::SetVariable {
                name: "out".into(),
                value: "a;b%c".into(),
                output: true,
                secret: false,
                readonly: true
            })
        );
    }

    #[test]
    fn finds_commands_anywhere_in_a_line() {
        assert!(matches!(
            parse_line("+ echo '##vso[task.setsecret]abc'"),
            Line::Command(Command::SetSecret(value)) if value == "abc'"
        ));
    }

    #[test]
    fn parses_logissue_and_complete() {
        assert_eq!(
            parse_line("##vso[task.logissue type=warning;sourcepath=a.rs;linenumber=3;code=W1]careful"),
            Line::Command(Command::LogIssue {
                severity: Severity::Warning,
                message: "careful".into(),
                source_path: Some("a.rs".into()),
                line: Some(3),
                column: None,
                code: Some("W1".into())
            })
        );
        assert_eq!(
            parse_line("##vso[task.complete result=SucceededWithIssues;]done"),
            Line::Command(Command::Complete { result: TaskResult::SucceededWithIssues, message: "done".into() })
        );
        assert!(matches!(parse_line("##vso[task.complete result=Bogus]"), Line::Command(Command::Invalid { .. })));
    }

    #[test]
    fn parses_artifacts_tags_and_numbers() {
        assert_eq!(
            parse_line("##vso[artifact.upload containerfolder=logs;artifactname=drop]/tmp/x"),
            Line::Command(Command::ArtifactUpload {
                name: "drop".into(),
                container_folder: Some("logs".into()),
                path: "/tmp/x".into()
            })
        );
        assert_eq!(
            parse_line("##vso[build.addbuildtag]nightly"),
            Line::Command(Command::AddBuildTag("nightly".into()))
        );
        assert_eq!(
            parse_line("##vso[build.updatebuildnumber]1.2.3"),
            Line::Command(Command::UpdateBuildNumber("1.2.3".into()))
        );
        assert!(matches!(parse_line("##vso[nope.nothing]x"), Line::Command(Command::Invalid { .. })));
        assert!(matches!(parse_line("##vso[task.setvariable]x"), Line::Command(Command::Invalid { .. })));
    }

    #[test]
    fn parses_formatting_commands_only_at_the_start() {
        assert_eq!(parse_line("##[group]Build"), Line::Formatted(LogKind::Group, "Build"));
        assert_eq!(parse_line("##[endgroup]"), Line::Formatted(LogKind::EndGroup, ""));
        assert_eq!(parse_line("##[error]bad"), Line::Formatted(LogKind::Error, "bad"));
        assert_eq!(parse_line("##[WARNING]w"), Line::Formatted(LogKind::Warning, "w"));
        assert_eq!(parse_line(" ##[error]bad"), Line::Plain(" ##[error]bad"));
        assert_eq!(parse_line("##[other]x"), Line::Plain("##[other]x"));
    }
}
