//! `convertToJson`, a port of Azure's `ConvertToJsonNode`: JSON indented by two spaces, `": "`
//! after keys, `[]`/`{}` for empty collections, no trailing newline; numbers use Azure's number
//! format and strings are escaped as Newtonsoft.Json does by default.

use crate::eval::EvalError;
use crate::functions::Memory;
use crate::value::{Value, format_number};

/// Converts a value to Azure's JSON text.
pub(crate) fn convert_to_json(value: &Value, source: &str) -> Result<String, EvalError> {
    let mut writer = Writer { out: String::new(), memory: Memory::new(source) };
    writer.value(value, 0)?;
    Ok(writer.out)
}

struct Writer<'s> {
    out: String,
    memory: Memory<'s>,
}

impl Writer<'_> {
    fn push(&mut self, s: &str) -> Result<(), EvalError> {
        self.memory.add(s)?;
        self.out.push_str(s);
        Ok(())
    }

    fn newline(&mut self, depth: usize) -> Result<(), EvalError> {
        let text = format!("\n{}", "  ".repeat(depth));
        self.push(&text)
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), EvalError> {
        match value {
            Value::Null => self.push("null"),
            Value::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Value::Number(n) => self.push(&format_number(*n)),
            Value::String(s) => self.push(&quote(s)),
            Value::Version(v) => self.push(&quote(&v.to_string())),
            Value::Array(items) if items.is_empty() => self.push("[]"),
            Value::Object(object) if object.is_empty() => self.push("{}"),
            Value::Array(items) => {
                self.push("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.push(",")?;
                    }
                    self.newline(depth + 1)?;
                    self.value(item, depth + 1)?;
                }
                self.newline(depth)?;
                self.push("]")
            }
            Value::Object(object) => {
                self.push("{")?;
                for (index, (key, item)) in object.iter().enumerate() {
                    if index > 0 {
                        self.push(",")?;
                    }
                    self.newline(depth + 1)?;
                    self.push(&quote(key))?;
                    self.push(": ")?;
                    self.value(item, depth + 1)?;
                }
                self.newline(depth)?;
                self.push("}")
            }
        }
    }
}

/// A JSON string literal escaped like Newtonsoft.Json's default `StringEscapeHandling`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Object, Version};

    #[test]
    fn nested_layout() {
        let inner: Object = [
            ("a_complex", Value::from("object")),
            ("with", Value::Array(vec![Value::from("one"), Value::from("two")])),
        ]
        .into_iter()
        .collect();
        let value = Value::Object(
            [
                ("this_is", Value::Object(inner)),
                ("empty", Value::Array(vec![])),
                ("none", Value::Object(Object::new())),
                ("n", Value::Number(1.5)),
                ("t", Value::Bool(true)),
                ("z", Value::Null),
            ]
            .into_iter()
            .collect(),
        );
        let text = convert_to_json(&value, "").unwrap_or_default();
        insta::assert_snapshot!(text, @r#"
        {
          "this_is": {
            "a_complex": "object",
            "with": [
              "one",
              "two"
            ]
          },
          "empty": [],
          "none": {},
          "n": 1.5,
          "t": true,
          "z": null
        }
        "#);
    }

    #[test]
    fn scalars_and_escapes() {
        let j = |v: Value| convert_to_json(&v, "").unwrap_or_default();
        assert_eq!(j(Value::from("a\"b\\c\nd\u{1}\u{2028}é")), r#""a\"b\\c\nd\u0001\u2028é""#);
        assert_eq!(j(Value::Number(2.0)), "2");
        assert_eq!(j(Value::Null), "null");
        assert_eq!(j(Value::Version(Version::new(1, 2))), r#""1.2""#);
        let mut o = Object::new();
        o.insert("k", Value::Array(vec![Value::Array(vec![])]));
        assert_eq!(j(Value::Object(o)), "{\n  \"k\": [\n    []\n  ]\n}");
    }
}
