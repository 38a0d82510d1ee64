//! GitHub's environment files (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STATE`): lines of
//! `name=value`, or `name<<DELIMITER`, the value's lines, and a line that is exactly the
//! delimiter; read as the runner's `FileCommandManager` reads them, with its messages. Which
//! form a line is in is decided by whichever of `=` and `<<` comes first; empty lines are
//! skipped; the value of a heredoc is its lines joined with `\n` (without the last newline), so
//! a value can never contain its own delimiter as a line.

/// A malformed environment file, worded as GitHub words it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FileCommandError {
    /// `=value`: no name.
    #[error("Invalid format '{0}'. Name must not be empty")]
    EmptyName(String),
    /// `<<EOF` or `name<<`.
    #[error("Invalid format '{0}'. Name must not be empty and delimiter must not be empty")]
    EmptyHeredoc(String),
    /// The heredoc's delimiter never came.
    #[error("Invalid value. Matching delimiter not found '{0}'")]
    NoDelimiter(String),
    /// Neither form.
    #[error("Invalid format '{0}'")]
    Format(String),
}

/// Reads the `name`/`value` pairs of an environment file's text, in order.
pub(crate) fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, FileCommandError> {
    let lines: Vec<&str> = text.split('\n').collect();
    // `split` gives a last empty piece after a final newline; it is no line.
    let count = if text.ends_with('\n') { lines.len() - 1 } else { lines.len() };
    let mut pairs = Vec::new();
    let mut index = 0;
    while index < count {
        let line = lines[index];
        index += 1;
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(equals), heredoc) if heredoc.is_none_or(|heredoc| equals < heredoc) => {
                let (name, value) = (&line[..equals], &line[equals + 1..]);
                if name.is_empty() {
                    return Err(FileCommandError::EmptyName(line.to_owned()));
                }
                pairs.push((name.to_owned(), value.to_owned()));
            }
            (_, Some(heredoc)) => {
                let (name, delimiter) = (&line[..heredoc], &line[heredoc + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(FileCommandError::EmptyHeredoc(line.to_owned()));
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    if index >= count {
                        return Err(FileCommandError::NoDelimiter(delimiter.to_owned()));
                    }
                    let next = lines[index];
                    index += 1;
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                pairs.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(FileCommandError::Format(line.to_owned())),
        }
    }
    Ok(pairs)
}

/// The directories a `GITHUB_PATH` file adds, in the order written (each later one goes before
/// the earlier ones on `PATH`).
pub(crate) fn parse_path(text: &str) -> Vec<String> {
    text.lines().map(|line| line.trim_end_matches('\r')).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_pairs(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
    }

    #[test]
    fn reads_both_forms_in_order() {
        assert_eq!(
            pairs("a=1\n\nb=x=y\nmulti<<EOF\nline one\n\nline three\nEOF\nc<<=x\nv\n=x\n"),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x=y".to_owned()),
                ("multi".to_owned(), "line one\n\nline three".to_owned()),
                // `<<` comes first, so this is a heredoc with the delimiter `=x`.
                ("c".to_owned(), "v".to_owned()),
            ]
        );
    }

    #[test]
    fn empty_heredoc_values_and_a_value_without_a_final_newline() {
        assert_eq!(pairs("e<<X\nX"), [("e".to_owned(), String::new())]);
        assert_eq!(pairs("name=value"), [("name".to_owned(), "value".to_owned())]);
        assert_eq!(pairs("json<<END\n{\"a\": 1}\nEND\n"), [("json".to_owned(), "{\"a\": 1}".to_owned())]);
    }

    #[test]
    fn errors_are_worded_as_githubs() {
        let error = |text: &str| parse_pairs(text).map(|_| ()).expect_err("an error").to_string();
        assert_eq!(error("x<<EOF\nvalue\n"), "Invalid value. Matching delimiter not found 'EOF'");
        assert_eq!(error("x<<EOF\nvalueEOF\n"), "Invalid value. Matching delimiter not found 'EOF'");
        assert_eq!(error("=v\n"), "Invalid format '=v'. Name must not be empty");
        assert_eq!(error("<<EOF\n"), "Invalid format '<<EOF'. Name must not be empty and delimiter must not be empty");
        assert_eq!(error("just text\n"), "Invalid format 'just text'");
    }

    #[test]
    fn paths_are_non_empty_lines() {
        assert_eq!(parse_path("/a\n\n/b/c\n"), ["/a", "/b/c"]);
    }
}
