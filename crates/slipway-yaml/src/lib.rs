//! YAML with a span on every node.
//!
//! [`load`] parses one YAML document into a [`Node`] tree in which every scalar, sequence and
//! mapping keeps the [`Span`] it was read from, so that every later error can point at
//! `file:line:col`. It applies the rules Azure Pipelines applies to YAML: duplicate keys are an
//! error, anchors and aliases are an error, and a file holds one document; [`load_with`] takes
//! [`Options`] for a dialect with other rules (GitHub Actions accepts anchors and aliases, and
//! judges duplicate keys itself). [`emit`] writes a tree
//! back out as block-style YAML that parses to the same tree. No I/O happens here: the caller
//! reads the file and registers it in a [`slipway_diagnostics::SourceMap`].

mod emit;
mod load;

pub use emit::emit;
pub use load::{MAX_ALIAS_NODES, MAX_NESTING, Options, load, load_with};

use slipway_diagnostics::Span;

/// A YAML node and the span it was read from (or, for generated nodes, the span of what made it).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: Value,
    /// Where the node came from.
    pub span: Span,
}

/// The content of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar: its text and how it was written.
    Scalar(Scalar),
    /// A sequence of nodes.
    Sequence(Vec<Node>),
    /// A mapping, in document order.
    Mapping(Vec<(Node, Node)>),
}

/// A scalar's text and the style it was written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    /// The scalar's text after YAML unescaping and folding.
    pub text: String,
    /// How it was written. Only plain scalars can be null, booleans or numbers.
    pub style: Style,
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'single quoted'`.
    SingleQuoted,
    /// `"double quoted"`.
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// What a scalar means under the YAML 1.2 core schema, which is how Azure reads plain scalars.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal<'a> {
    /// `~`, `null`, or nothing at all.
    Null,
    /// `true` or `false` in any of the core schema's spellings.
    Bool(bool),
    /// An integer or float.
    Number(f64),
    /// Anything else, and every quoted or block scalar.
    String(&'a str),
}

impl Scalar {
    /// Creates a plain scalar.
    #[must_use]
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), style: Style::Plain }
    }

    /// Creates a scalar that is always a string (single-quoted when emitted if needed).
    #[must_use]
    pub fn string(text: impl Into<String>) -> Self {
        Self { text: text.into(), style: Style::SingleQuoted }
    }

    /// The scalar's meaning under the YAML 1.2 core schema.
    #[must_use]
    pub fn literal(&self) -> Literal<'_> {
        if self.style != Style::Plain {
            return Literal::String(&self.text);
        }
        core_schema(&self.text)
    }
}

/// Interprets plain scalar text under the YAML 1.2 core schema.
#[must_use]
pub fn core_schema(text: &str) -> Literal<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Literal::Null,
        "true" | "True" | "TRUE" => return Literal::Bool(true),
        "false" | "False" | "FALSE" => return Literal::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Literal::Number(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Literal::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Literal::Number(f64::NAN),
        _ => {}
    }
    if let Some(octal) = text.strip_prefix("0o") {
        if !octal.is_empty()
            && octal.bytes().all(|b| (b'0'..=b'7').contains(&b))
            && let Ok(value) = i64::from_str_radix(octal, 8)
        {
            return Literal::Number(value as f64);
        }
        return Literal::String(text);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(value) = i64::from_str_radix(hex, 16)
        {
            return Literal::Number(value as f64);
        }
        return Literal::String(text);
    }
    if is_core_number(text)
        && let Ok(value) = text.parse::<f64>()
    {
        return Literal::Number(value);
    }
    Literal::String(text)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits_before = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += digits_before;
    let mut digits_after = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        digits_after = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += digits_after;
    }
    if digits_before == 0 && digits_after == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exponent = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exponent == 0 {
            return false;
        }
        i += exponent;
    }
    i == bytes.len()
}

impl Node {
    /// Creates a node.
    #[must_use]
    pub fn new(value: Value, span: Span) -> Self {
        Self { value, span }
    }

    /// A scalar node.
    #[must_use]
    pub fn scalar(scalar: Scalar, span: Span) -> Self {
        Self { value: Value::Scalar(scalar), span }
    }

    /// A plain scalar node holding `text`.
    #[must_use]
    pub fn plain(text: impl Into<String>, span: Span) -> Self {
        Self::scalar(Scalar::plain(text), span)
    }

    /// A string scalar node (never read back as a number, boolean or null).
    #[must_use]
    pub fn string(text: impl Into<String>, span: Span) -> Self {
        Self::scalar(Scalar::string(text), span)
    }

    /// A null node (an empty plain scalar).
    #[must_use]
    pub fn null(span: Span) -> Self {
        Self::plain("", span)
    }

    /// The first collection found nested deeper than `limit` levels (a scalar counts for none, a
    /// list or mapping for one more than its deepest item), walked without recursion so that any
    /// tree can be checked.
    #[must_use]
    pub fn deeper_than(&self, limit: usize) -> Option<&Node> {
        let mut pending: Vec<(&Node, usize)> = vec![(self, 0)];
        while let Some((node, depth)) = pending.pop() {
            let children: Box<dyn Iterator<Item = &Node>> = match &node.value {
                Value::Scalar(_) => continue,
                Value::Sequence(items) => Box::new(items.iter()),
                Value::Mapping(entries) => Box::new(entries.iter().flat_map(|(key, value)| [key, value])),
            };
            if depth + 1 > limit {
                return Some(node);
            }
            pending.extend(children.map(|child| (child, depth + 1)));
        }
        None
    }

    /// The scalar, if this is one.
    #[must_use]
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The scalar's text, if this is a scalar.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|scalar| scalar.text.as_str())
    }

    /// The items, if this is a sequence.
    #[must_use]
    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    #[must_use]
    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// Whether this is a null scalar (empty, `~` or `null`, unquoted).
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.as_scalar().map(Scalar::literal), Some(Literal::Null))
    }

    /// The value of the first entry whose key is the scalar `key` (exact match), if this is a mapping.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_mapping()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The key and value of the first entry whose key is the scalar `key`.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_mapping()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, v)| (k, v))
    }

    /// A word for the node's kind, for error messages: `a string`, `a sequence`, `a mapping`.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(scalar) => match scalar.literal() {
                Literal::Null => "null",
                Literal::Bool(_) => "a boolean",
                Literal::Number(_) => "a number",
                Literal::String(_) => "a string",
            },
            Value::Sequence(_) => "a sequence",
            Value::Mapping(_) => "a mapping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_reads_plain_scalars() {
        assert_eq!(core_schema(""), Literal::Null);
        assert_eq!(core_schema("~"), Literal::Null);
        assert_eq!(core_schema("True"), Literal::Bool(true));
        assert_eq!(core_schema("false"), Literal::Bool(false));
        assert_eq!(core_schema("yes"), Literal::String("yes"));
        assert_eq!(core_schema("12"), Literal::Number(12.0));
        assert_eq!(core_schema("-1.5e3"), Literal::Number(-1500.0));
        assert_eq!(core_schema("0x1F"), Literal::Number(31.0));
        assert_eq!(core_schema("0o17"), Literal::Number(15.0));
        assert_eq!(core_schema("1.2.3"), Literal::String("1.2.3"));
        assert_eq!(core_schema("3.10"), Literal::Number(3.1));
        assert_eq!(core_schema("."), Literal::String("."));
        assert_eq!(core_schema("1e"), Literal::String("1e"));
    }
}
