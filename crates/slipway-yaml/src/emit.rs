//! Writing a [`Node`] tree as block-style YAML.

use crate::{Literal, Node, Scalar, Style, Value, core_schema};

/// Writes `node` as a YAML document in block style. Loading the output gives back the same tree
/// (the same scalars with the same meaning; spans and quoting styles may differ).
#[must_use]
pub fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Scalar(scalar) => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
        _ => write_block(node, 0, &mut out),
    }
    out
}

/// Writes a collection starting on a fresh line at `indent`.
fn write_block(node: &Node, indent: usize, out: &mut String) {
    match &node.value {
        Value::Mapping(entries) if entries.is_empty() => {
            pad(out, indent);
            out.push_str("{}\n");
        }
        Value::Sequence(items) if items.is_empty() => {
            pad(out, indent);
            out.push_str("[]\n");
        }
        Value::Mapping(entries) => {
            for (key, value) in entries {
                pad(out, indent);
                write_entry(key, value, indent, out);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                pad(out, indent);
                write_item(item, indent, out);
            }
        }
        Value::Scalar(scalar) => {
            pad(out, indent);
            out.push_str(&scalar_text(scalar, indent));
            out.push('\n');
        }
    }
}

/// Writes `key: value` where the cursor is already indented to `indent`.
fn write_entry(key: &Node, value: &Node, indent: usize, out: &mut String) {
    out.push_str(&key_text(key));
    out.push(':');
    match &value.value {
        Value::Scalar(scalar) => {
            if !(scalar.style == Style::Plain && scalar.text.is_empty()) {
                out.push(' ');
                out.push_str(&scalar_text(scalar, indent + 2));
            }
            out.push('\n');
        }
        Value::Mapping(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Value::Sequence(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Mapping(_) => {
            out.push('\n');
            write_block(value, indent + 2, out);
        }
        Value::Sequence(_) => {
            out.push('\n');
            write_block(value, indent, out);
        }
    }
}

/// Writes `- item` where the cursor is already indented to `indent`.
fn write_item(item: &Node, indent: usize, out: &mut String) {
    out.push_str("- ");
    match &item.value {
        Value::Scalar(scalar) => {
            out.push_str(&scalar_text(scalar, indent + 2));
            out.push('\n');
        }
        Value::Mapping(entries) if entries.is_empty() => out.push_str("{}\n"),
        Value::Sequence(items) if items.is_empty() => out.push_str("[]\n"),
        Value::Mapping(entries) => {
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    pad(out, indent + 2);
                }
                write_entry(key, value, indent + 2, out);
            }
        }
        Value::Sequence(items) => {
            for (index, inner) in items.iter().enumerate() {
                if index > 0 {
                    pad(out, indent + 2);
                }
                write_item(inner, indent + 2, out);
            }
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

fn key_text(key: &Node) -> String {
    match &key.value {
        Value::Scalar(scalar) if !scalar.text.contains('\n') => scalar_text(scalar, 0),
        Value::Scalar(scalar) => double_quoted(&scalar.text),
        _ => double_quoted(&emit(key)),
    }
}

/// The text of a scalar in value position, at `indent` for any block lines.
fn scalar_text(scalar: &Scalar, indent: usize) -> String {
    let text = scalar.text.as_str();
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return double_quoted(text);
    }
    if text.contains('\n') {
        return literal_block(text, indent);
    }
    let keeps_meaning = match scalar.literal() {
        // A plain scalar keeps its meaning when written plain again.
        literal if scalar.style == Style::Plain => core_schema(text) == literal,
        // A string may be written plain only when it would not read back as something else.
        _ => matches!(core_schema(text), Literal::String(_)),
    };
    if keeps_meaning && plain_is_safe(text) {
        return text.to_owned();
    }
    if scalar.style == Style::Plain && text.is_empty() {
        return String::new();
    }
    single_quoted(text)
}

/// Whether `text` can be written as a plain scalar in block context and read back unchanged.
fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    if first.is_whitespace() || text.ends_with(char::is_whitespace) {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-x`, `?x` and `:x` are plain when followed by a non-space; keep it simple and allow `-x`.
        let second = text.chars().nth(1);
        if !(matches!(first, '-' | '?' | ':') && second.is_some_and(|c| !c.is_whitespace())) {
            return false;
        }
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') || text.contains('\t') {
        return false;
    }
    if text.starts_with("---") || text.starts_with("...") {
        return false;
    }
    true
}

fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `|` block scalar. The chomping indicator keeps the trailing newlines exact, and an indentation
/// indicator is added when the first line starts with a space.
fn literal_block(text: &str, indent: usize) -> String {
    let trailing = text.len() - text.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let body = text.trim_end_matches('\n');
    if body.lines().any(|line| line.ends_with('\r')) {
        return double_quoted(text);
    }
    let indicator = if body.starts_with(' ') || body.starts_with('\n') { "2" } else { "" };
    let indent = indent.max(2);
    let mut out = format!("|{indicator}{chomp}");
    let mut lines: Vec<&str> = body.split('\n').collect();
    if trailing > 1 {
        lines.extend(std::iter::repeat_n("", trailing - 1));
    }
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use slipway_diagnostics::FileId;

    use super::*;
    use crate::load;

    fn strip(node: &Node) -> String {
        // Compares meaning, not spans or styles.
        match &node.value {
            Value::Scalar(scalar) => format!("{:?}", scalar.literal()),
            Value::Sequence(items) => format!("[{}]", items.iter().map(strip).collect::<Vec<_>>().join(",")),
            Value::Mapping(entries) => format!(
                "{{{}}}",
                entries.iter().map(|(k, v)| format!("{}:{}", strip(k), strip(v))).collect::<Vec<_>>().join(",")
            ),
        }
    }

    fn round_trip(text: &str) -> String {
        let node = load(text, FileId(0)).expect("valid input");
        let emitted = emit(&node);
        let again =
            load(&emitted, FileId(0)).unwrap_or_else(|e| panic!("emitted YAML does not load: {e:?}\n{emitted}"));
        assert_eq!(strip(&node), strip(&again), "meaning changed:\n{emitted}");
        emitted
    }

    #[test]
    fn round_trips_keep_meaning() {
        insta::assert_snapshot!(round_trip(
            "trigger:\n- main\nvariables:\n  a: 'true'\n  b: true\n  c: '12'\n  d: \"x: y\"\n  e: ''\n  f:\n  g: '#x'\nsteps:\n- script: |\n    echo one\n    echo two\n  displayName: Two lines\n- bash: \"no newline\\nat end\"\n- - nested\n  - list\n- {}\n- []\n"
        ), @"
        trigger:
        - main
        variables:
          a: 'true'
          b: true
          c: '12'
          d: 'x: y'
          e: ''
          f:
          g: '#x'
        steps:
        - script: |
            echo one
            echo two
          displayName: Two lines
        - bash: |-
            no newline
            at end
        - - nested
          - list
        - {}
        - []
        ");
    }

    #[test]
    fn odd_strings_round_trip() {
        for text in [
            "a: \"  leading\"",
            "a: \"trailing  \"",
            "a: \"\\ttab\"",
            "a: \"-\"",
            "a: \"- x\"",
            "a: \"[x]\"",
            "a: \"it's\"",
            "a: \"ends with colon:\"",
            "a: \"\\u0001\"",
            "a: \"two\\n\\n\\n\"",
            "a: \"\\n lead\"",
            "a: \"null\"",
            "a: \"~\"",
            "a: \"0x10\"",
            "a: \"1e3\"",
            "a: \"---\"",
            "a: \"%x\"",
            "a: \"@x\"",
            "\"key: x\": 1",
            "a: \"crlf\\r\\nline\"",
        ] {
            round_trip(text);
        }
    }
}
