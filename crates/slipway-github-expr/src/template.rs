//! Strings with embedded expressions: `echo ${{ github.sha }} done` into literal pieces and
//! expression pieces, as GitHub's template reader cuts them.
//!
//! An expression starts at `${{` and ends at the first `}}` outside a string literal (a `'`
//! toggles being inside one, so `''` inside a literal keeps it open); its text is trimmed of
//! white space. An expression that is empty, or that is never closed, is an error.

use crate::eval::{Context, evaluate};
use crate::syntax::{ErrorKind, ParseError, parse};

/// A piece of a string value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, and its byte offset in the value.
    Literal {
        /// The text.
        text: String,
        /// Byte offset in the value.
        offset: usize,
    },
    /// The text of an expression, trimmed (without `${{` and `}}`), and the byte offset of
    /// that text in the value: add it to a [`ParseError::offset`] from [`crate::parse`].
    Expression {
        /// The expression's text.
        text: String,
        /// Byte offset of the text in the value.
        offset: usize,
    },
}

/// Cuts a string value into literal and expression pieces. A value without `${{` is one
/// literal piece (none when it is empty).
///
/// # Errors
///
/// A [`ParseError`] at the `${{` of an expression that is not closed or is empty.
pub fn split_template(text: &str) -> Result<Vec<Piece>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(found) = text.get(rest..).and_then(|t| t.find("${{")) {
        let start = rest + found;
        if start > rest {
            pieces.push(Piece::Literal { text: text[rest..start].to_owned(), offset: rest });
        }
        let inner_start = start + 3;
        let mut in_string = false;
        let mut end = None;
        let bytes = text.as_bytes();
        let mut i = inner_start;
        while i < bytes.len() {
            match bytes[i] {
                b'\'' => in_string = !in_string,
                b'}' if !in_string && i > inner_start && bytes[i - 1] == b'}' => {
                    end = Some(i - 1);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(end) = end else {
            return Err(ParseError::plain(
                start,
                ErrorKind::NotClosed,
                "The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found.",
                Some("'}}' to close the expression"),
            ));
        };
        let raw = &text[inner_start..end];
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ParseError::plain(
                start,
                ErrorKind::ExpressionExpected,
                "An expression was expected",
                Some("an expression inside '${{ }}'"),
            ));
        }
        let offset = inner_start + (raw.len() - raw.trim_start().len());
        pieces.push(Piece::Expression { text: trimmed.to_owned(), offset });
        rest = end + 2;
    }
    if rest < text.len() {
        pieces.push(Piece::Literal { text: text[rest..].to_owned(), offset: rest });
    }
    Ok(pieces)
}

/// A string value with each `${{ }}` replaced by its expression's value as a string (GitHub's
/// template evaluation, as in `run`, `env` and `name`); text without `${{` as it is.
///
/// # Errors
///
/// A message naming the expression that could not be read or evaluated, and why.
pub fn evaluate_template(text: &str, context: &dyn Context) -> Result<String, String> {
    if !text.contains("${{") {
        return Ok(text.to_owned());
    }
    let pieces = split_template(text).map_err(|error| error.to_string())?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal { text, .. } => out.push_str(&text),
            Piece::Expression { text, .. } => {
                let expression =
                    parse(&text).map_err(|error| format!("the expression `{text}` is not valid: {error}"))?;
                let value = evaluate(&expression, context)
                    .map_err(|error| format!("the expression `{text}` failed: {error}"))?;
                out.push_str(&value.to_display_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(text: &str, offset: usize) -> Piece {
        Piece::Expression { text: text.to_owned(), offset }
    }

    fn literal(text: &str, offset: usize) -> Piece {
        Piece::Literal { text: text.to_owned(), offset }
    }

    #[test]
    fn cuts_literals_and_expressions() {
        assert_eq!(split_template("plain"), Ok(vec![literal("plain", 0)]));
        assert_eq!(split_template(""), Ok(vec![]));
        assert_eq!(
            split_template("echo ${{ github.sha }} and ${{matrix.os}}!"),
            Ok(vec![
                literal("echo ", 0),
                expression("github.sha", 9),
                literal(" and ", 22),
                expression("matrix.os", 30),
                literal("!", 41)
            ])
        );
    }

    #[test]
    fn braces_inside_string_literals_do_not_close() {
        assert_eq!(split_template("${{ '}}' }}"), Ok(vec![expression("'}}'", 4)]));
        assert_eq!(split_template("${{ 'it''s }}' }}x"), Ok(vec![expression("'it''s }}'", 4), literal("x", 17)]));
        assert_eq!(split_template("${{ a }}}"), Ok(vec![expression("a", 4), literal("}", 8)]));
    }

    #[test]
    fn unclosed_and_empty_expressions_are_errors() {
        let err = split_template("run ${{ github.sha").expect_err("open");
        assert_eq!((err.kind, err.offset), (ErrorKind::NotClosed, 4));
        insta::assert_snapshot!(err, @"The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found. (expected '}}' to close the expression)");
        let err = split_template("a ${{ }} b").expect_err("empty");
        assert_eq!((err.kind, err.offset), (ErrorKind::ExpressionExpected, 2));
        assert_eq!(split_template("${{ 'x }}").map_err(|e| e.kind), Err(ErrorKind::NotClosed));
    }

    #[test]
    fn templates_evaluate_each_expression_and_name_the_one_that_fails() {
        let mut contexts = crate::Object::new();
        contexts.insert("matrix", crate::Value::from(serde_json::json!({ "os": "linux", "n": 2 })));
        assert_eq!(evaluate_template("on ${{ matrix.os }} x${{ matrix.n }}", &contexts), Ok("on linux x2".to_owned()));
        assert_eq!(evaluate_template("plain", &contexts), Ok("plain".to_owned()));
        let error = evaluate_template("a ${{ fromJSON('{') }}", &contexts).expect_err("not JSON");
        assert!(error.starts_with("the expression `fromJSON('{')` failed:"), "{error}");
        let error = evaluate_template("a ${{ matrix. }}", &contexts).expect_err("not an expression");
        assert!(error.starts_with("the expression `matrix.` is not valid:"), "{error}");
    }
}
