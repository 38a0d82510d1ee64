//! The syntax tree and the parser.
//!
//! The grammar and the error messages follow Azure's `ExpressionParser`:
//!
//! ```text
//! expression := literal | value accessor*
//! value      := name | name '(' [expression (',' expression)*] ')'
//! accessor   := '.' property-name | '.' '*' | '[' expression ']' | '[' '*' ']'
//! literal    := boolean | number | version | 'string'
//! ```
//!
//! There are no infix operators and no `null` literal (the docs: "Null can be the output of an
//! expression but can't be called directly within an expression"). At most 49 functions and
//! indexers may be open at once (Azure's `MaxDepth` of 50) and an expression may hold at most
//! 21,000 UTF-16 code units (`MaxLength`). The parser recurses only when it opens a function or an
//! indexer, so its recursion is bounded by that depth.

use serde::{Deserialize, Serialize};

use crate::functions;
use crate::lexer::{Lexer, Token, TokenKind};
use crate::value::Value;

/// The most functions and indexers that may be open at once, plus one (Azure's `MaxDepth`).
pub const MAX_DEPTH: usize = 50;
/// The longest expression, in UTF-16 code units (Azure's `MaxLength`).
pub const MAX_LENGTH: usize = 21_000;

/// A place in the expression source, counted in chars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// Offset of the first char.
    pub offset: usize,
    /// Length in chars.
    pub length: usize,
}

/// A node of the syntax tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A literal: a boolean, number, string or version (never Null, array or object).
    Literal(Value),
    /// A named value such as `variables`, `parameters`, `dependencies` or an `each` variable.
    NamedValue {
        /// The name as written.
        name: String,
        /// Where the name is.
        span: Span,
    },
    /// A function call, built-in or provided by the host.
    Call {
        /// The function name as written.
        name: String,
        /// The arguments.
        args: Vec<Expr>,
        /// Where the function name is.
        span: Span,
    },
    /// Property and index access on a named value or a function result:
    /// `variables['a']`, `foo.*.id`, `split(x, '/')[8]`.
    Access {
        /// The value accessed (a [`Expr::NamedValue`] or an [`Expr::Call`]).
        target: Box<Expr>,
        /// The accessors, applied left to right.
        path: Vec<Accessor>,
    },
}

/// One step of an [`Expr::Access`] path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Accessor {
    /// `.name`
    Property(String),
    /// `[expression]`
    Index(Expr),
    /// `.*` or `[*]`: a filtered array of all elements or property values.
    Wildcard,
}

/// A syntax error, or a problem found by [`crate::check`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong, in Azure's words where Azure has them.
    pub message: String,
    /// Offset of the offending text, in chars from the start of the expression.
    pub offset: usize,
    /// Length of the offending text, in chars.
    pub length: usize,
}

impl ParseError {
    /// The message without the position Azure appends ("Located at position N within
    /// expression: ..."), for renderers that point at the place themselves.
    #[must_use]
    pub fn reason(&self) -> &str {
        self.message.split(". Located at position").next().unwrap_or(&self.message).trim_end()
    }

    /// The name quoted in an "Unrecognized function: 'x'" or "Unrecognized value: 'x'" message.
    #[must_use]
    pub fn unrecognized_name(&self) -> Option<&str> {
        let rest = self
            .message
            .strip_prefix("Unrecognized function: '")
            .or_else(|| self.message.strip_prefix("Unrecognized value: '"))?;
        rest.split('\'').next()
    }

    pub(crate) fn new(message: impl Into<String>, offset: usize, length: usize) -> Self {
        ParseError { message: message.into(), offset, length }
    }
}

/// A complete parse: the root node.
pub(crate) fn parse_root(source: &str) -> Result<Expr, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    if source.encode_utf16().count() > MAX_LENGTH {
        return Err(ParseError::new(format!("Exceeded max expression length {MAX_LENGTH}"), 0, chars.len()));
    }
    let mut parser = Parser { lexer: Lexer::new(&chars), source, depth: 0 };
    let Some(first) = parser.lexer.next_token() else {
        return Err(ParseError::new("Expected an expression", 0, chars.len()));
    };
    let root = parser.value(first)?;
    match parser.lexer.next_token() {
        Some(extra) => Err(parser.unexpected(&extra)),
        None => Ok(root),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    source: &'a str,
    depth: usize,
}

impl Parser<'_> {
    /// `"{description}: '{token}'. Located at position {n} within expression: {source}"`
    fn error_at(&self, description: &str, token: &Token) -> ParseError {
        ParseError::new(
            format!(
                "{description}: '{}'. Located at position {} within expression: {}",
                token.raw,
                token.offset + 1,
                self.source
            ),
            token.offset,
            token.length,
        )
    }

    /// The error for a token that cannot stand where it is.
    fn unexpected(&self, token: &Token) -> ParseError {
        match token.kind {
            TokenKind::BadKeyword | TokenKind::Unrecognized => self.error_at("Unrecognized value", token),
            _ => self.error_at("Unexpected symbol", token),
        }
    }

    fn enter(&mut self, token: &Token) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(ParseError::new(
                format!("Exceeded max expression depth {MAX_DEPTH}"),
                token.offset,
                token.length,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// An expression starting with `token`, which stands where a value is expected.
    fn value(&mut self, token: Token) -> Result<Expr, ParseError> {
        let span = Span { offset: token.offset, length: token.length };
        match token.kind {
            TokenKind::String(s) => Ok(Expr::Literal(Value::String(s))),
            TokenKind::Number(n) => Ok(Expr::Literal(Value::Number(n))),
            TokenKind::Version(v) => Ok(Expr::Literal(Value::Version(v))),
            TokenKind::Boolean(b) => Ok(Expr::Literal(Value::Bool(b))),
            TokenKind::Keyword(ref name) => {
                let next_is_paren = self.lexer.peek().is_some_and(|t| t.kind == TokenKind::StartParameter);
                let base = if next_is_paren {
                    self.lexer.next_token();
                    self.call(&token, name.clone(), span)?
                } else if functions::builtin(name).is_some() {
                    return Err(self.error_at("Expected '(' to follow a function", &token));
                } else {
                    Expr::NamedValue { name: name.clone(), span }
                };
                self.accessors(base)
            }
            _ => Err(self.unexpected(&token)),
        }
    }

    /// The arguments of a call whose `(` has been read.
    fn call(&mut self, name_token: &Token, name: String, span: Span) -> Result<Expr, ParseError> {
        self.enter(name_token)?;
        let unclosed = |p: &Self| p.error_at("Unclosed function", name_token);
        let mut args = Vec::new();
        let mut token = self.lexer.next_token().ok_or_else(|| unclosed(self))?;
        if token.kind != TokenKind::EndParameter {
            loop {
                args.push(self.value(token)?);
                let after = self.lexer.next_token().ok_or_else(|| unclosed(self))?;
                match after.kind {
                    TokenKind::EndParameter => break,
                    TokenKind::Separator => {
                        token = self.lexer.next_token().ok_or_else(|| unclosed(self))?;
                    }
                    _ => return Err(self.unexpected(&after)),
                }
            }
        }
        self.leave();
        Ok(Expr::Call { name, args, span })
    }

    /// Any `.name`, `.*`, `[expr]` and `[*]` after a named value or call.
    fn accessors(&mut self, base: Expr) -> Result<Expr, ParseError> {
        let mut path = Vec::new();
        while let Some(next) = self.lexer.peek() {
            match next.kind {
                TokenKind::Dereference => {
                    self.lexer.next_token();
                    let Some(name) = self.lexer.next_token() else {
                        return Err(
                            self.error_at("Expected a property name to follow the dereference operator '.'", &next)
                        );
                    };
                    match name.kind {
                        TokenKind::Keyword(n) => path.push(Accessor::Property(n)),
                        TokenKind::Wildcard => path.push(Accessor::Wildcard),
                        _ => return Err(self.error_at("Unexpected symbol", &name)),
                    }
                }
                TokenKind::StartIndex => {
                    self.lexer.next_token();
                    self.enter(&next)?;
                    let unclosed = |p: &Self| p.error_at("Unclosed indexer", &next);
                    let first = self.lexer.next_token().ok_or_else(|| unclosed(self))?;
                    let accessor = if first.kind == TokenKind::Wildcard {
                        Accessor::Wildcard
                    } else {
                        Accessor::Index(self.value(first)?)
                    };
                    let close = self.lexer.next_token().ok_or_else(|| unclosed(self))?;
                    if close.kind != TokenKind::EndIndex {
                        return Err(self.unexpected(&close));
                    }
                    self.leave();
                    path.push(accessor);
                }
                _ => break,
            }
        }
        Ok(if path.is_empty() { base } else { Expr::Access { target: Box::new(base), path } })
    }
}
