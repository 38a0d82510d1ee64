//! GitHub's workflow commands on a step's output: `::name key=value,key=value::data`, parsed as
//! the runner's `ActionCommand.TryParseV2` does (the line trimmed, command names and property
//! names without regard to case, `%25`, `%0D` and `%0A` escapes in the data and additionally
//! `%3A` and `%2C` in property values).

/// A workflow command read from a line of output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WorkflowCommand {
    /// The command's name, in lower case (`error`, `add-mask`, a stop token as written).
    pub(crate) name: String,
    /// The name as written (stop tokens are compared as written).
    pub(crate) raw_name: String,
    /// Its properties in order, names in lower case, values unescaped.
    pub(crate) properties: Vec<(String, String)>,
    /// The data after the second `::`, unescaped.
    pub(crate) data: String,
}

impl WorkflowCommand {
    /// A property by name (given in lower case).
    pub(crate) fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

fn unescape_data(text: &str) -> String {
    text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
}

fn unescape_property(text: &str) -> String {
    text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
}

/// Parses a line as a workflow command; `None` when it is not one (plain output).
pub(crate) fn parse(line: &str) -> Option<WorkflowCommand> {
    let text = line.trim();
    let rest = text.strip_prefix("::")?;
    let end = rest.find("::")?;
    let head = &rest[..end];
    let data = &rest[end + 2..];
    let (raw_name, properties_text) = match head.split_once(' ') {
        Some((name, properties)) => (name, Some(properties)),
        None => (head, None),
    };
    if raw_name.is_empty() {
        return None;
    }
    let mut properties = Vec::new();
    if let Some(text) = properties_text {
        for entry in text.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if let Some((key, value)) = entry.split_once('=')
                && !key.trim().is_empty()
            {
                properties.push((key.trim().to_ascii_lowercase(), unescape_property(value)));
            }
        }
    }
    Some(WorkflowCommand {
        name: raw_name.to_ascii_lowercase(),
        raw_name: raw_name.to_owned(),
        properties,
        data: unescape_data(data),
    })
}

/// The message GitHub gives for the commands it disabled (`set-env`, `add-path`).
pub(crate) fn disabled_message(command: &str) -> String {
    format!(
        "The `{command}` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
    )
}

/// The warning GitHub gives for the commands it deprecated (`set-output`, `save-state`).
pub(crate) fn deprecated_message(command: &str) -> String {
    format!(
        "The `{command}` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_properties_and_escapes() {
        let command =
            parse("::error file=app.js,line=10,col=5,endLine=12,title=Bad%2C bad%3A x::Missing%0Asemicolon %25")
                .expect("a command");
        assert_eq!(command.name, "error");
        assert_eq!(command.property("file"), Some("app.js"));
        assert_eq!(command.property("line"), Some("10"));
        assert_eq!(command.property("endline"), Some("12"));
        assert_eq!(command.property("title"), Some("Bad, bad: x"));
        assert_eq!(command.data, "Missing\nsemicolon %");
    }

    #[test]
    fn plain_lines_and_bare_commands() {
        assert_eq!(parse("echo ::warning::x"), None);
        assert_eq!(parse("::"), None);
        assert_eq!(parse(":: ::x"), None);
        let command = parse("  ::ADD-MASK::secret value  ").expect("a command");
        assert_eq!(command.name, "add-mask");
        assert_eq!(command.data, "secret value");
        let command = parse("::endgroup::").expect("a command");
        assert_eq!((command.name.as_str(), command.data.as_str()), ("endgroup", ""));
        let token = parse("::Tok3n::").expect("a command");
        assert_eq!(token.raw_name, "Tok3n");
    }
}
