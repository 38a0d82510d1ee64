//! The tokenizer, a port of Azure's `LexicalAnalyzer`.
//!
//! Positions are counted in `char`s. The meaning of `.` and of a keyword depends on the previous
//! token: `.` starts a number at the start of an expression or after `(`, `[` or `,`, and is the
//! dereference operator anywhere else; a keyword after `.` is a property name even if it reads
//! `true` or names a function.

use crate::value::{NumberStyle, Version, parse_decimal};

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    /// `[`
    StartIndex,
    /// `(`
    StartParameter,
    /// `]`
    EndIndex,
    /// `)`
    EndParameter,
    /// `,`
    Separator,
    /// `*`
    Wildcard,
    /// `.` after a value.
    Dereference,
    /// A closed `'...'` literal (value unescaped).
    String(String),
    /// A number literal.
    Number(f64),
    /// A version literal (2 or 3 periods).
    Version(Version),
    /// `true` / `false` in any case.
    Boolean(bool),
    /// A legal name: `[A-Za-z_][A-Za-z0-9_]*` (a property name when it follows `.`).
    Keyword(String),
    /// A run of characters that is not a legal name (e.g. `==`, `a-b`, `!x`).
    BadKeyword,
    /// A malformed literal: an unclosed string or a number/version that does not parse.
    Unrecognized,
}

/// A token with its place in the expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// The raw text of the token.
    pub(crate) raw: String,
    /// Offset in chars from the start of the expression.
    pub(crate) offset: usize,
    /// Length in chars.
    pub(crate) length: usize,
}

/// The previous token, as far as the lexer cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    /// Start of the expression, `(`, `[` or `,`: a `.` here starts a number.
    Opening,
    /// `.`: a following keyword is a property name.
    Dereference,
    /// Anything else.
    Other,
}

/// The tokenizer over an expression's characters.
#[derive(Clone)]
pub(crate) struct Lexer<'a> {
    chars: &'a [char],
    index: usize,
    previous: Previous,
}

/// Azure's punctuation that ends a keyword or number (`[ ( ] ) , .`), plus white space.
fn is_whitespace_or_punctuation(c: char) -> bool {
    matches!(c, '[' | '(' | ']' | ')' | ',' | '.') || c.is_whitespace()
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(crate) fn is_legal_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(chars: &'a [char]) -> Self {
        Lexer { chars, index: 0, previous: Previous::Opening }
    }

    /// The next token without consuming it.
    pub(crate) fn peek(&self) -> Option<Token> {
        self.clone().next_token()
    }

    fn at(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars.get(start..end).map(|s| s.iter().collect()).unwrap_or_default()
    }

    /// The next token, or `None` at the end.
    pub(crate) fn next_token(&mut self) -> Option<Token> {
        while self.at(self.index).is_some_and(char::is_whitespace) {
            self.index += 1;
        }
        let c = self.at(self.index)?;
        let start = self.index;
        let single = |kind| (kind, start + 1);
        let (kind, end) = match c {
            '[' => single(TokenKind::StartIndex),
            '(' => single(TokenKind::StartParameter),
            ']' => single(TokenKind::EndIndex),
            ')' => single(TokenKind::EndParameter),
            ',' => single(TokenKind::Separator),
            '*' => single(TokenKind::Wildcard),
            '\'' => self.read_string(start),
            '.' if self.previous != Previous::Opening => single(TokenKind::Dereference),
            '.' | '-' | '0'..='9' => self.read_number_or_version(start),
            _ => self.read_keyword(start),
        };
        self.index = end;
        self.previous = match kind {
            TokenKind::StartIndex | TokenKind::StartParameter | TokenKind::Separator => Previous::Opening,
            TokenKind::Dereference => Previous::Dereference,
            _ => Previous::Other,
        };
        Some(Token { kind, raw: self.text(start, end), offset: start, length: end - start })
    }

    fn read_string(&self, start: usize) -> (TokenKind, usize) {
        let mut value = String::new();
        let mut index = start + 1;
        while let Some(c) = self.at(index) {
            index += 1;
            if c == '\'' {
                if self.at(index) == Some('\'') {
                    index += 1;
                } else {
                    return (TokenKind::String(value), index);
                }
            }
            value.push(c);
        }
        (TokenKind::Unrecognized, index)
    }

    fn read_number_or_version(&self, start: usize) -> (TokenKind, usize) {
        let mut index = start + 1;
        while let Some(c) = self.at(index) {
            if c != '.' && is_whitespace_or_punctuation(c) {
                break;
            }
            index += 1;
        }
        let text = self.text(start, index);
        let periods = text.chars().filter(|&c| c == '.').count();
        let kind = if periods >= 2 {
            Version::parse(&text).map(TokenKind::Version)
        } else {
            parse_decimal(&text, NumberStyle::Literal).map(TokenKind::Number)
        };
        (kind.unwrap_or(TokenKind::Unrecognized), index)
    }

    fn read_keyword(&self, start: usize) -> (TokenKind, usize) {
        let mut index = start + 1;
        while self.at(index).is_some_and(|c| !is_whitespace_or_punctuation(c)) {
            index += 1;
        }
        let text = self.text(start, index);
        let kind = if !is_legal_name(&text) {
            TokenKind::BadKeyword
        } else if self.previous == Previous::Dereference {
            TokenKind::Keyword(text)
        } else if text.eq_ignore_ascii_case("true") {
            TokenKind::Boolean(true)
        } else if text.eq_ignore_ascii_case("false") {
            TokenKind::Boolean(false)
        } else {
            TokenKind::Keyword(text)
        };
        (kind, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        let chars: Vec<char> = source.chars().collect();
        let mut lexer = Lexer::new(&chars);
        std::iter::from_fn(|| lexer.next_token()).map(|t| t.kind).collect()
    }

    #[test]
    fn tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("eq(variables['a'], -1.5)"),
            [
                Keyword("eq".into()),
                StartParameter,
                Keyword("variables".into()),
                StartIndex,
                String("a".into()),
                EndIndex,
                Separator,
                Number(-1.5),
                EndParameter
            ]
        );
        assert_eq!(kinds("a.true"), [Keyword("a".into()), Dereference, Keyword("true".into())]);
        assert_eq!(kinds("TRUE False"), [Boolean(true), Boolean(false)]);
        assert_eq!(kinds(".5"), [Number(0.5)]);
        assert_eq!(kinds("'it''s'"), [String("it's".into())]);
        assert_eq!(kinds("'open"), [Unrecognized]);
        assert_eq!(kinds("1a"), [Unrecognized]);
        assert_eq!(kinds("1.2.3.4.5"), [Unrecognized]);
        assert_eq!(kinds("a==b"), [BadKeyword]);
        assert_eq!(
            kinds("foo.*.id"),
            [Keyword("foo".into()), Dereference, Wildcard, Dereference, Keyword("id".into())]
        );
        assert!(matches!(kinds("1.2.3").as_slice(), [Version(_)]));
    }
}
