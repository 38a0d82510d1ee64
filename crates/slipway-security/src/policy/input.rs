//! Inputs to policies, read as conftest reads them. A file's kind comes from its extension
//! (`.json`, `.yaml`/`.yml`, `.toml`) unless a parser is named. A YAML file is split into its
//! documents at `---` lines as conftest splits it, and a file of several documents becomes an
//! array whose items are evaluated one by one (as any top-level array is, conftest's rule). A
//! file that does not parse is named at its `file:line:col`. [`combine`] makes conftest's
//! `--combine` input: one array of `{path, contents}`, sorted by path.

use std::path::PathBuf;

use regorus::Value;

use super::load::collect;
use super::{PolicyError, Position};

/// How an input file is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// JSON (a Terraform plan from `terraform show -json` among others).
    Json,
    /// YAML, possibly of several documents.
    Yaml,
    /// TOML.
    Toml,
}

impl InputFormat {
    /// The format a file's extension says, if it is one of these.
    #[must_use]
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Self::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Self::Yaml)
        } else if lower.ends_with(".toml") {
            Some(Self::Toml)
        } else {
            None
        }
    }

    /// The format named `json`, `yaml` or `toml` (conftest's `--parser` names).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "yaml" | "yml" => Some(Self::Yaml),
            "toml" => Some(Self::Toml),
            _ => None,
        }
    }
}

/// One input file as parsed: conftest's "configuration". An array (a multi-document YAML file's
/// documents, or a file whose top level is an array) is evaluated item by item.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// The path as given (or as found under a directory given).
    pub path: String,
    /// The parsed contents.
    pub value: Value,
}

impl Input {
    /// An input from a JSON value (the server's environment check builds its input so).
    #[must_use]
    pub fn from_json(path: &str, value: serde_json::Value) -> Self {
        Self { path: path.to_owned(), value: Value::from(value) }
    }
}

/// Reads and parses every input: files as they are, directories walked for the files whose
/// extension is known. `parser` overrides the extension.
///
/// # Errors
/// [`PolicyError::Read`], [`PolicyError::Input`] (at `file:line:col`), and
/// [`PolicyError::Unusable`] for a file of unknown kind or when there is no file at all.
pub fn read_inputs(paths: &[PathBuf], parser: Option<InputFormat>) -> Result<Vec<Input>, PolicyError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &|name| InputFormat::from_path(name).is_some(), 0, &mut files)?;
    }
    if files.is_empty() {
        return Err(PolicyError::Unusable { path: ".".to_owned(), message: "no input files found".to_owned() });
    }
    let mut inputs = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let Some(format) = parser.or_else(|| InputFormat::from_path(&shown)) else {
            return Err(PolicyError::Unusable {
                path: shown,
                message: "unknown kind of file: name it .json, .yaml, .yml or .toml, or give --parser".to_owned(),
            });
        };
        let text =
            std::fs::read_to_string(&file).map_err(|source| PolicyError::Read { path: shown.clone(), source })?;
        let value = parse(&shown, &text, format)?;
        inputs.push(Input { path: shown, value });
    }
    Ok(inputs)
}

/// A file's contents as one value: a multi-document YAML file as the array of its documents.
///
/// # Errors
/// [`PolicyError::Input`] at the `file:line:col` where parsing stopped.
pub fn parse(path: &str, text: &str, format: InputFormat) -> Result<Value, PolicyError> {
    let mut documents = parse_documents(path, text, format)?;
    if documents.len() == 1 {
        return Ok(documents.pop().unwrap_or(Value::Null));
    }
    Ok(Value::from(documents))
}

/// A file's documents (one unless it is YAML with `---` separators).
///
/// # Errors
/// [`PolicyError::Input`] at the `file:line:col` where parsing stopped.
pub fn parse_documents(path: &str, text: &str, format: InputFormat) -> Result<Vec<Value>, PolicyError> {
    match format {
        InputFormat::Json => Ok(vec![parse_json(path, text)?]),
        InputFormat::Toml => Ok(vec![parse_toml(path, text)?]),
        InputFormat::Yaml => {
            split_documents(text).into_iter().map(|(first_line, part)| parse_yaml(path, part, first_line)).collect()
        }
    }
}

fn parse_json(path: &str, text: &str) -> Result<Value, PolicyError> {
    serde_json::from_str::<Value>(text).map_err(|error| {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(end) => message.get(..end).unwrap_or(&message).to_owned(),
            None => message,
        };
        PolicyError::Input {
            path: path.to_owned(),
            position: Position { line: error.line().max(1), column: error.column().max(1) },
            message,
        }
    })
}

fn parse_toml(path: &str, text: &str) -> Result<Value, PolicyError> {
    match toml::from_str::<toml::Table>(text) {
        Ok(table) => Ok(Value::from(toml_to_json(toml::Value::Table(table)))),
        Err(error) => {
            let offset = error.span().map_or(0, |span| span.start);
            Err(PolicyError::Input {
                path: path.to_owned(),
                position: position_at(text, offset),
                message: error.message().trim().to_owned(),
            })
        }
    }
}

fn toml_to_json(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(text) => serde_json::Value::String(text),
        toml::Value::Integer(number) => serde_json::Value::from(number),
        toml::Value::Float(number) => serde_json::Value::from(number),
        toml::Value::Boolean(flag) => serde_json::Value::Bool(flag),
        toml::Value::Datetime(time) => serde_json::Value::String(time.to_string()),
        toml::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => {
            serde_json::Value::Object(table.into_iter().map(|(key, value)| (key, toml_to_json(value))).collect())
        }
    }
}

/// Where byte `offset` of `text` is.
fn position_at(text: &str, offset: usize) -> Position {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |rest| rest.chars().count()) + 1;
    Position { line, column }
}

/// A YAML file's documents with the line each starts on, split at `\n---\n` as conftest splits
/// them (a leading `%` directive stays with the first document).
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let separator = if text.contains("\r\n") { "\r\n---\r\n" } else { "\n---\n" };
    // (first line, start, end) of each document.
    let mut parts: Vec<(usize, usize, usize)> = Vec::new();
    let mut start = 0;
    let mut line = 1;
    while let Some(found) = text.get(start..).and_then(|rest| rest.find(separator)) {
        let end = start + found;
        parts.push((line, start, end));
        line += text.get(start..end).map_or(0, |part| part.matches('\n').count()) + 2;
        start = end + separator.len();
    }
    parts.push((line, start, text.len()));
    if text.starts_with('%') && parts.len() >= 2 {
        // The directive and the first document are one.
        let (_, _, second_end) = parts.remove(1);
        parts[0].2 = second_end;
    }
    parts.into_iter().map(|(line, start, end)| (line, text.get(start..end).unwrap_or(""))).collect()
}

fn parse_yaml(path: &str, text: &str, first_line: usize) -> Result<Value, PolicyError> {
    let blank = text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    });
    if blank {
        return Ok(Value::Null);
    }
    Value::from_yaml_str(text).map_err(|error| {
        let message = error.to_string();
        let message = message.strip_prefix("Failed to parse YAML: ").unwrap_or(&message).trim().to_owned();
        let (position, message) = yaml_place(&message).map_or_else(
            || (Position { line: first_line, column: 1 }, message.clone()),
            |(line, column, rest)| (Position { line: line + first_line - 1, column: column.max(1) }, rest),
        );
        PolicyError::Input { path: path.to_owned(), position, message }
    })
}

/// The first `at line L column C` of a YAML error and the message before it.
fn yaml_place(message: &str) -> Option<(usize, usize, String)> {
    let at = message.find(" at line ")?;
    let rest = message.get(at + " at line ".len()..)?;
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?, message.get(..at)?.to_owned()))
}

/// conftest's `--combine` input: every input's documents as `{path, contents}`, sorted by path
/// (stable, so a file's documents keep their order).
#[must_use]
pub fn combine(inputs: &[Input]) -> Value {
    let mut items: Vec<(String, Value)> = Vec::new();
    for input in inputs {
        match &input.value {
            Value::Array(documents) => {
                items.extend(documents.iter().map(|document| (input.path.clone(), document.clone())));
            }
            value => items.push((input.path.clone(), value.clone())),
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let items: Vec<Value> = items
        .into_iter()
        .map(|(path, contents)| {
            let mut object = std::collections::BTreeMap::new();
            object.insert(Value::from("path"), Value::from(path));
            object.insert(Value::from("contents"), contents);
            Value::from(object)
        })
        .collect();
    Value::from(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_text(result: Result<Value, PolicyError>) -> String {
        result.err().map(|error| error.to_string()).unwrap_or_default()
    }

    #[test]
    fn multi_document_yaml_is_an_array_of_its_documents() {
        let text = "kind: Service\nmetadata:\n  name: a\n---\nkind: Deployment\n---\n# nothing\n";
        let value = parse("m.yaml", text, InputFormat::Yaml).unwrap_or_else(|error| panic!("{error}"));
        let documents = value.as_array().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(documents.len(), 3);
        assert_eq!(documents[1]["kind"], Value::from("Deployment"));
        assert_eq!(documents[2], Value::Null);
        let single = parse("s.yaml", "---\nkind: Pod\n", InputFormat::Yaml).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(single["kind"], Value::from("Pod"));
    }

    #[test]
    fn files_that_do_not_parse_are_named_at_their_line_and_column() {
        assert_eq!(
            error_text(parse("plan.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n", InputFormat::Json)),
            "plan.json:3:8: expected value"
        );
        let yaml = "kind: Service\n---\nkind: Deployment\nspec:\n  replicas: [1\n";
        let error = error_text(parse("d.yaml", yaml, InputFormat::Yaml));
        assert!(error.starts_with("d.yaml:"), "{error}");
        let line: usize = error.split(':').nth(1).and_then(|line| line.parse().ok()).unwrap_or(0);
        assert!(line >= 5, "the second document's line counts from the file's start: {error}");
        assert_eq!(error_text(parse("c.toml", "a = 1\nb = \n", InputFormat::Toml)).get(..9), Some("c.toml:2:"));
        let toml = parse("c.toml", "[server]\nport = 8080\n", InputFormat::Toml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(toml["server"]["port"], Value::from(8080));
    }

    #[test]
    fn combined_inputs_are_path_and_contents_sorted_by_path() {
        let inputs = [
            Input::from_json("b.json", serde_json::json!({"kind": "B"})),
            Input::from_json("a.yaml", serde_json::json!([{"kind": "A1"}, {"kind": "A2"}])),
        ];
        let combined = combine(&inputs);
        let json = serde_json::to_value(&combined).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!([
                {"path": "a.yaml", "contents": {"kind": "A1"}},
                {"path": "a.yaml", "contents": {"kind": "A2"}},
                {"path": "b.json", "contents": {"kind": "B"}},
            ])
        );
    }
}
