//! The lexer: expression text into tokens, as GitHub's lexer cuts it.
//!
//! White space is space, tab, carriage return and line feed. Names are `[A-Za-z_][A-Za-z0-9_-]*`;
//! `true`, `false`, `null`, `NaN` and `Infinity` are literals except right after a `.`. A number
//! runs from a digit, a sign or a `.` that does not follow a name, `)`, `]` or `*`, up to the next
//! boundary (brackets, parentheses, `,`, `!`, `<`, `>`, `=`, `&`, `|`, white space), dots
//! included, and must read as a number ([`crate::value::parse_number`]). A lone `=`, `&` or `|`
//! is not an operator. Strings are quoted with `'`, and `''` is a quote inside one.

use crate::syntax::{ErrorKind, ParseError};
use crate::value::parse_number;

/// The kinds of token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Dot,
    Bang,
    BangEqual,
    EqualEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    And,
    Or,
    Star,
    Number(f64),
    String(String),
    Identifier,
    True,
    False,
    Null,
    Eof,
}

/// A token: its kind, where it starts (bytes) and its text.
#[derive(Clone, Debug)]
pub(crate) struct Token<'a> {
    pub(crate) kind: TokenKind,
    pub(crate) offset: usize,
    pub(crate) lexeme: &'a str,
}

impl Token<'_> {
    /// The token as GitHub quotes it in messages: a string's value, `EOF` at the end, else its
    /// text.
    pub(crate) fn display(&self) -> &str {
        match &self.kind {
            TokenKind::Eof => "EOF",
            TokenKind::String(s) => s,
            _ => self.lexeme,
        }
    }
}

fn is_boundary(c: char) -> bool {
    matches!(c, '(' | '[' | ')' | ']' | ',' | '.' | '!' | '>' | '<' | '=' | '&' | '|') || c.is_whitespace()
}

fn is_legal_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Cuts `text` into tokens, ending with [`TokenKind::Eof`].
pub(crate) fn lex(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let mut lexer = Lexer { text, offset: 0, start: 0, tokens: Vec::new() };
    lexer.run()?;
    lexer.tokens.push(Token { kind: TokenKind::Eof, offset: text.len(), lexeme: "" });
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    text: &'a str,
    offset: usize,
    start: usize,
    tokens: Vec<Token<'a>>,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.offset..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        Some(c)
    }

    fn matches(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.offset += expected.len_utf8();
            true
        } else {
            false
        }
    }

    fn previous(&self) -> Option<&TokenKind> {
        self.tokens.last().map(|t| &t.kind)
    }

    fn add(&mut self, kind: TokenKind) {
        self.tokens.push(Token { kind, offset: self.start, lexeme: &self.text[self.start..self.offset] });
    }

    fn unexpected(&self, lexeme: &str) -> ParseError {
        ParseError::at(
            self.text,
            self.start,
            ErrorKind::UnexpectedSymbol,
            lexeme,
            Some("a name, a number, a quoted string or an operator"),
        )
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = {
            self.start = self.offset;
            self.bump()
        } {
            match c {
                '(' => self.add(TokenKind::LeftParen),
                ')' => self.add(TokenKind::RightParen),
                '[' => self.add(TokenKind::LeftBracket),
                ']' => self.add(TokenKind::RightBracket),
                ',' => self.add(TokenKind::Comma),
                '.' => {
                    let follows_value = matches!(
                        self.previous(),
                        Some(TokenKind::Identifier | TokenKind::RightBracket | TokenKind::RightParen | TokenKind::Star)
                    );
                    if follows_value { self.add(TokenKind::Dot) } else { self.number()? }
                }
                '-' | '+' => self.number()?,
                '!' => {
                    let kind = if self.matches('=') { TokenKind::BangEqual } else { TokenKind::Bang };
                    self.add(kind);
                }
                '=' => {
                    if self.matches('=') {
                        self.add(TokenKind::EqualEqual);
                    } else {
                        self.identifier()?;
                    }
                }
                '<' => {
                    let kind = if self.matches('=') { TokenKind::LessEqual } else { TokenKind::Less };
                    self.add(kind);
                }
                '>' => {
                    let kind = if self.matches('=') { TokenKind::GreaterEqual } else { TokenKind::Greater };
                    self.add(kind);
                }
                '&' => {
                    if self.matches('&') {
                        self.add(TokenKind::And);
                    } else {
                        self.identifier()?;
                    }
                }
                '|' => {
                    if self.matches('|') {
                        self.add(TokenKind::Or);
                    } else {
                        self.identifier()?;
                    }
                }
                '*' => self.add(TokenKind::Star),
                ' ' | '\r' | '\t' | '\n' => {}
                '\'' => self.string()?,
                c if c.is_ascii_digit() => self.number()?,
                _ => self.identifier()?,
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            if is_boundary(c) && c != '.' {
                break;
            }
            self.bump();
        }
        let lexeme = &self.text[self.start..self.offset];
        let value = parse_number(lexeme);
        if value.is_nan() {
            return Err(self.unexpected(lexeme));
        }
        self.add(TokenKind::Number(value));
        Ok(())
    }

    fn string(&mut self) -> Result<(), ParseError> {
        let mut value = String::new();
        loop {
            match self.bump() {
                None => {
                    let lexeme = &self.text[self.start..];
                    return Err(ParseError::at(
                        self.text,
                        self.start,
                        ErrorKind::UnexpectedSymbol,
                        lexeme,
                        Some("a closing quote (write '' for a quote inside a string)"),
                    ));
                }
                Some('\'') => {
                    if self.peek() == Some('\'') {
                        self.bump();
                        value.push('\'');
                    } else {
                        break;
                    }
                }
                Some(c) => value.push(c),
            }
        }
        self.add(TokenKind::String(value));
        Ok(())
    }

    fn identifier(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            if is_boundary(c) {
                break;
            }
            self.bump();
        }
        let lexeme: &'a str = &self.text[self.start..self.offset];
        let mut kind = TokenKind::Identifier;
        if self.previous() != Some(&TokenKind::Dot) {
            match lexeme {
                "true" => kind = TokenKind::True,
                "false" => kind = TokenKind::False,
                "null" => kind = TokenKind::Null,
                "NaN" => kind = TokenKind::Number(f64::NAN),
                "Infinity" => kind = TokenKind::Number(f64::INFINITY),
                _ => {}
            }
        }
        if !is_legal_identifier(lexeme) {
            return Err(self.unexpected(lexeme));
        }
        self.add(kind);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(text).expect("lexes").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn cuts_operators_names_and_literals() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.b[*] == 'x''y' && !c || d <= .5"),
            vec![
                Identifier,
                Dot,
                Identifier,
                LeftBracket,
                Star,
                RightBracket,
                EqualEqual,
                String("x'y".into()),
                And,
                Bang,
                Identifier,
                Or,
                Identifier,
                LessEqual,
                Number(0.5),
                Eof
            ]
        );
        assert_eq!(kinds("a.true")[2], Identifier);
        assert_eq!(kinds("-Infinity")[0], Number(f64::NEG_INFINITY));
    }

    #[test]
    fn bad_symbols_are_errors() {
        for (text, symbol) in
            [("1 = 2", "="), ("a & b", "&"), ("0xFZ", "0xFZ"), ("'open", "'open"), ("..x/y", "..x/y"), ("a/b", "a/b")]
        {
            let err = lex(text).expect_err(text);
            assert!(err.message.contains(&format!("Unexpected symbol: '{symbol}'")), "{text}: {}", err.message);
        }
    }
}
