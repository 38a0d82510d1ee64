//! Splitting YAML scalars into literal text and embedded expressions.

use serde::{Deserialize, Serialize};

use crate::syntax::ParseError;

/// A piece of a scalar: literal text or the source of an embedded expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    /// Literal text, copied as is.
    Text(String),
    /// An expression between an opener and its closer (not trimmed; the parser skips white space).
    Expression {
        /// The expression source.
        source: String,
        /// Chars from the start of the text to the first char of `source`.
        offset: usize,
    },
}

/// The closer for an opener: `${{` → `}}`, `$[` → `]`, `$(` → `)`.
fn closer_for(open: &str) -> Option<String> {
    let brackets = open.strip_prefix('$')?;
    if brackets.is_empty() {
        return None;
    }
    brackets
        .chars()
        .rev()
        .map(|c| match c {
            '{' => Some('}'),
            '[' => Some(']'),
            '(' => Some(')'),
            _ => None,
        })
        .collect()
}

/// Splits a YAML scalar into literal text and embedded expressions opened by `open` (`"${{"`
/// closed by `"}}"`, or `"$["` closed by `"]"`), honouring quotes inside the expression (a `}}` or
/// `]` inside a `'...'` string literal does not close it; `''` is an escaped quote) and nested
/// brackets for `$[`. An unclosed expression is an error pointing at the opener. Empty text pieces
/// are left out.
pub fn split(text: &str, open: &str) -> Result<Vec<Segment>, ParseError> {
    let Some(close) = closer_for(open) else {
        return Err(ParseError::new(
            format!(
                "Unsupported expression opener '{open}': expected '$' followed by brackets such as '${{{{' or '$['"
            ),
            0,
            0,
        ));
    };
    let chars: Vec<char> = text.chars().collect();
    let open_chars: Vec<char> = open.chars().collect();
    let close_chars: Vec<char> = close.chars().collect();
    // A one-character closer nests with its opening bracket (`$[ a[0] ]`).
    let nesting = match (close_chars.as_slice(), open_chars.last()) {
        ([_], Some(&bracket)) => Some(bracket),
        _ => None,
    };
    let starts_at = |i: usize, needle: &[char]| chars.get(i..i + needle.len()) == Some(needle);
    let collect =
        |from: usize, to: usize| -> String { chars.get(from..to).map(|s| s.iter().collect()).unwrap_or_default() };

    let mut segments = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < chars.len() {
        if !starts_at(i, &open_chars) {
            i += 1;
            continue;
        }
        let opener = i;
        let source_start = i + open_chars.len();
        let mut in_string = false;
        let mut depth = 0_usize;
        let mut end = None;
        let mut k = source_start;
        while let Some(&c) = chars.get(k) {
            if c == '\'' {
                // A doubled quote toggles twice, so '' inside a string keeps it open.
                in_string = !in_string;
            } else if !in_string {
                if Some(c) == nesting {
                    depth += 1;
                } else if starts_at(k, &close_chars) {
                    if depth == 0 {
                        end = Some(k);
                        break;
                    }
                    depth -= 1;
                }
            }
            k += 1;
        }
        let Some(end) = end else {
            return Err(ParseError::new(
                format!(
                    "The expression is not closed. An unescaped {open} sequence was found, but the closing {close} sequence was not found."
                ),
                opener,
                open_chars.len(),
            ));
        };
        if opener > text_start {
            segments.push(Segment::Text(collect(text_start, opener)));
        }
        segments.push(Segment::Expression { source: collect(source_start, end), offset: source_start });
        i = end + close_chars.len();
        text_start = i;
    }
    if text_start < chars.len() {
        segments.push(Segment::Text(collect(text_start, chars.len())));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(source: &str, offset: usize) -> Segment {
        Segment::Expression { source: source.into(), offset }
    }

    #[test]
    fn template_expressions() {
        assert_eq!(
            split("a ${{ x }} b${{y}}", "${{"),
            Ok(vec![Segment::Text("a ".into()), expr(" x ", 5), Segment::Text(" b".into()), expr("y", 15)])
        );
        assert_eq!(split("${{ '}}' }}", "${{"), Ok(vec![expr(" '}}' ", 3)]));
        assert_eq!(split("${{ 'it''s }}' }}", "${{"), Ok(vec![expr(" 'it''s }}' ", 3)]));
        assert_eq!(split("plain", "${{"), Ok(vec![Segment::Text("plain".into())]));
        assert_eq!(split("", "${{"), Ok(vec![]));
        assert_eq!(split("é${{x}}", "${{").map(|s| s.get(1).cloned()), Ok(Some(expr("x", 4))));
    }

    #[test]
    fn runtime_expressions_nest_brackets() {
        assert_eq!(split("$[ variables['a'] ]", "$["), Ok(vec![expr(" variables['a'] ", 2)]));
        assert_eq!(split("$[a[b[0]]]x", "$["), Ok(vec![expr("a[b[0]]", 2), Segment::Text("x".into())]));
        assert_eq!(split("$[ ']' ]", "$["), Ok(vec![expr(" ']' ", 2)]));
    }

    #[test]
    fn unclosed_points_at_the_opener() {
        let err = split("ab ${{ 'x }}", "${{").err();
        assert_eq!(err.as_ref().map(|e| (e.offset, e.length)), Some((3, 3)));
        insta::assert_snapshot!(err.map(|e| e.message).unwrap_or_default(), @"The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found.");
        let err = split("$[ a[0 ]", "$[").err();
        insta::assert_snapshot!(err.map(|e| e.message).unwrap_or_default(), @"The expression is not closed. An unescaped $[ sequence was found, but the closing ] sequence was not found.");
        insta::assert_snapshot!(split("x", "{").err().map(|e| e.message).unwrap_or_default(), @"Unsupported expression opener '{': expected '$' followed by brackets such as '${{' or '$['");
    }
}
