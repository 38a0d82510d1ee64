//! The syntax tree and the parser.
//!
//! The grammar and the error messages are GitHub's (the runner's and `actions/languageservices`'
//! parsers agree on them):
//!
//! ```text
//! expression := or
//! or         := and ('||' and)*
//! and        := equality ('&&' equality)*
//! equality   := comparison (('==' | '!=') comparison)*
//! comparison := unary (('<' | '<=' | '>' | '>=') unary)*
//! unary      := '!' unary | index
//! index      := (call | '(' expression ')') accessor*  |  literal
//! accessor   := '.' name | '.' '*' | '[' expression ']' | '[' '*' ']'
//! call       := name '(' [expression (',' expression)* [',']] ')' | name
//! literal    := 'string' | number | true | false | null | NaN | Infinity
//! ```
//!
//! Names of contexts and functions are case-insensitive. Nesting is bounded as GitHub bounds it
//! ([`MAX_DEPTH`]: each expression, `!`, `&&`/`||` chain and accessor counts one level), and so
//! is the text ([`MAX_LENGTH`] UTF-16 code units), so deep input is an error and never exhausts
//! the stack. Slipway also counts each `==`, `!=`, `<`, `<=`, `>`, `>=` of a chain as a level
//! (GitHub's TypeScript parser does not), so that no tree is deeper than [`MAX_DEPTH`] levels.

use std::fmt;

use crate::functions::{self, FunctionSpec};
use crate::lexer::{Token, TokenKind, lex};
use crate::value::Value;

/// The deepest nesting GitHub allows.
pub const MAX_DEPTH: usize = 50;
/// The longest expression GitHub allows, in UTF-16 code units.
pub const MAX_LENGTH: usize = 21_000;

/// A node of the syntax tree, with the byte offset in the expression text where it starts (for
/// a call or a context, its name; for an operator, the operator).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Byte offset in the text given to [`parse`].
    pub offset: usize,
}

/// The kinds of node.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, a number or a `'string'`.
    Literal(Value),
    /// A named context such as `github` or `matrix`, as written.
    Context(String),
    /// A function call; the name as written.
    Call {
        /// The function's name as written.
        name: String,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `target.name`, `target[index]`, `target.*` or `target[*]`.
    Index {
        /// What is indexed.
        target: Box<Expr>,
        /// The index.
        index: Index,
    },
    /// `!operand`.
    Not(Box<Expr>),
    /// A comparison.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `a && b && ...`: the first falsy operand, or the last.
    And(Vec<Expr>),
    /// `a || b || ...`: the first truthy operand, or the last.
    Or(Vec<Expr>),
}

/// An index: a property, an evaluated index or a wildcard (object filter).
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    /// `.name`
    Property(String),
    /// `[expression]`
    Expr(Box<Expr>),
    /// `.*` or `[*]`
    Star,
}

/// The comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// What kind of mistake a [`ParseError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A symbol that cannot stand where it is (or cannot be read at all).
    UnexpectedSymbol,
    /// The expression ends too early.
    UnexpectedEnd,
    /// A context name the place does not allow (or that does not exist).
    UnrecognizedContext,
    /// A function that does not exist or that the place does not allow.
    UnrecognizedFunction,
    /// A call with too few arguments.
    TooFewParameters,
    /// A call with too many arguments.
    TooManyParameters,
    /// `case` with an even number of arguments.
    EvenParameters,
    /// Nested deeper than [`MAX_DEPTH`].
    MaxDepth,
    /// Longer than [`MAX_LENGTH`].
    MaxLength,
    /// `${{ }}` with nothing inside (from [`crate::split_template`]).
    ExpressionExpected,
    /// `${{` without its closing `}}` (from [`crate::split_template`]).
    NotClosed,
}

/// A syntax error: where (byte offset in the text parsed) and GitHub's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Byte offset of the offending token in the text given to [`parse`] (or to
    /// [`crate::split_template`]).
    pub offset: usize,
    /// The kind of mistake.
    pub kind: ErrorKind,
    /// GitHub's message, word for word where GitHub has one, e.g. `Unexpected symbol: '2'.
    /// Located at position 3 within expression: 1 2`.
    pub message: String,
    /// What would have been right there, when that can be said.
    pub expected: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, " (expected {expected})")?;
        }
        Ok(())
    }
}

impl ParseError {
    /// An error at `offset` in `text`, worded as GitHub words it:
    /// `{description}: '{symbol}'. Located at position {n} within expression: {text}`, where
    /// `n` counts UTF-16 code units from 1.
    pub(crate) fn at(text: &str, offset: usize, kind: ErrorKind, symbol: &str, expected: Option<&str>) -> Self {
        let description = match kind {
            ErrorKind::UnexpectedSymbol => "Unexpected symbol",
            ErrorKind::UnexpectedEnd => "Unexpected end of expression",
            ErrorKind::UnrecognizedContext => "Unrecognized named-value",
            ErrorKind::UnrecognizedFunction => "Unrecognized function",
            ErrorKind::TooFewParameters => "Too few parameters supplied",
            ErrorKind::TooManyParameters => "Too many parameters supplied",
            ErrorKind::EvenParameters => "Even number of parameters supplied, requires an odd number of parameters",
            ErrorKind::MaxDepth | ErrorKind::MaxLength | ErrorKind::ExpressionExpected | ErrorKind::NotClosed => {
                return ParseError::plain(offset, kind, symbol, expected);
            }
        };
        let position = text.get(..offset).map_or(0, |before| before.encode_utf16().count()) + 1;
        ParseError {
            offset,
            kind,
            message: format!("{description}: '{symbol}'. Located at position {position} within expression: {text}"),
            expected: expected.map(str::to_owned),
        }
    }

    pub(crate) fn plain(offset: usize, kind: ErrorKind, message: &str, expected: Option<&str>) -> Self {
        ParseError { offset, kind, message: message.to_owned(), expected: expected.map(str::to_owned) }
    }

    /// The message without GitHub's "Located at position ..." tail, with what was expected:
    /// for renderers that show the place themselves (`Unexpected symbol: '2' (expected an
    /// operator or the end of the expression)`).
    #[must_use]
    pub fn reason(&self) -> String {
        let head = self.message.split(". Located at position").next().unwrap_or(&self.message);
        match &self.expected {
            Some(expected) => format!("{head} (expected {expected})"),
            None => head.to_owned(),
        }
    }

    /// The same error for text that sits `by` bytes further into a larger text.
    #[must_use]
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// The contexts and functions a place in a workflow allows, as GitHub's workflow schema lists
/// them (`"github"`, `"matrix"`, `"hashFiles(1,255)"`, `"success(0,MAX)"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Context names, lower-case.
    pub contexts: Vec<String>,
    /// Functions beyond the built-in ones (status functions, `hashFiles`).
    pub functions: Vec<FunctionSpec>,
}

impl Allowed {
    /// From the schema's `context` list: plain names are contexts, `name(min,max)` are
    /// functions (`MAX` meaning no upper bound). Entries that cannot be read are ignored.
    #[must_use]
    pub fn from_schema<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = Allowed::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if let Some((name, rest)) = entry.split_once('(') {
                let Some((min, max)) = rest.trim_end_matches(')').split_once(',') else { continue };
                let Ok(min) = min.trim().parse::<usize>() else { continue };
                let max = match max.trim() {
                    "MAX" => usize::MAX,
                    other => match other.parse::<usize>() {
                        Ok(max) => max,
                        Err(_) => continue,
                    },
                };
                allowed.functions.push(FunctionSpec { name: name.trim().to_owned(), min_args: min, max_args: max });
            } else if !entry.is_empty() {
                allowed.contexts.push(entry.to_ascii_lowercase());
            }
        }
        allowed
    }

    /// Whether the context `name` is allowed (case-insensitive).
    #[must_use]
    pub fn allows_context(&self, name: &str) -> bool {
        self.contexts.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The allowed extension function `name` (case-insensitive).
    #[must_use]
    pub fn function(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// Every context and function in `expr` (parsed from `text` by [`parse`]) that `allowed` does
/// not allow, as GitHub would word each one, in order: unlike [`parse_with`], which stops at
/// the first, this reports them all.
#[must_use]
pub fn check(expr: &Expr, text: &str, allowed: &Allowed) -> Vec<ParseError> {
    let mut errors = Vec::new();
    for (name, offset) in expr.contexts() {
        if !allowed.allows_context(&name) {
            let symbol = text.get(offset..offset + name.len()).unwrap_or(&name);
            let expected = format!("one of the contexts allowed here: {}", allowed.contexts.join(", "));
            errors.push(ParseError::at(text, offset, ErrorKind::UnrecognizedContext, symbol, Some(&expected)));
        }
    }
    for (name, count, offset) in expr.functions() {
        if functions::builtin(&name).is_some() {
            continue;
        }
        let symbol = text.get(offset..offset + name.len()).unwrap_or(&name);
        match allowed.function(&name) {
            None => errors.push(ParseError::at(
                text,
                offset,
                ErrorKind::UnrecognizedFunction,
                symbol,
                Some("a function that exists and is allowed here"),
            )),
            Some(spec) if count < spec.min_args => {
                errors.push(ParseError::at(text, offset, ErrorKind::TooFewParameters, symbol, None));
            }
            Some(spec) if count > spec.max_args => {
                errors.push(ParseError::at(text, offset, ErrorKind::TooManyParameters, symbol, None));
            }
            Some(_) => {}
        }
    }
    errors.sort_by_key(|e| e.offset);
    errors
}

/// Which names a parse accepts.
#[derive(Clone, Copy)]
enum Names<'a> {
    /// Any context, the built-in functions and every function GitHub provides somewhere.
    Any,
    /// Only these contexts and extension functions (and the built-in functions).
    Only(&'a Allowed),
}

/// Parses the text inside `${{ }}` (without the braces). Any context name is accepted (list
/// them with [`Expr::contexts`] to check them); functions must exist (built-in ones, the status
/// functions and `hashFiles`) and get a number of arguments they take. Empty text (or only
/// white space) is the `null` literal.
///
/// # Errors
///
/// A [`ParseError`] with GitHub's message for the first mistake.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    parse_names(text, Names::Any)
}

/// Parses as [`parse`] does, but accepts only the contexts and extension functions in
/// `allowed`, as GitHub parses an expression at a given place in a workflow (its first mistake
/// is reported, e.g. `Unrecognized named-value: 'secrets'`).
///
/// # Errors
///
/// A [`ParseError`] with GitHub's message for the first mistake.
pub fn parse_with(text: &str, allowed: &Allowed) -> Result<Expr, ParseError> {
    parse_names(text, Names::Only(allowed))
}

fn parse_names(text: &str, names: Names<'_>) -> Result<Expr, ParseError> {
    if text.encode_utf16().count() > MAX_LENGTH {
        return Err(ParseError::plain(
            0,
            ErrorKind::MaxLength,
            &format!("Exceeded max expression length {MAX_LENGTH}"),
            Some("a shorter expression"),
        ));
    }
    let tokens = lex(text)?;
    let mut parser = Parser { tokens, pos: 0, depth: 0, text, names };
    if parser.at_end() {
        return Ok(Expr { kind: ExprKind::Literal(Value::Null), offset: 0 });
    }
    let expr = parser.expression()?;
    if !parser.at_end() {
        return Err(parser.error(
            ErrorKind::UnexpectedSymbol,
            parser.pos,
            Some("an operator or the end of the expression"),
        ));
    }
    Ok(expr)
}

struct Parser<'t> {
    tokens: Vec<Token<'t>>,
    pos: usize,
    depth: usize,
    text: &'t str,
    names: Names<'t>,
}

impl Parser<'_> {
    fn peek(&self) -> &TokenKind {
        self.tokens.get(self.pos).map_or(&TokenKind::Eof, |t| &t.kind)
    }

    fn at_end(&self) -> bool {
        matches!(self.peek(), TokenKind::Eof)
    }

    fn check(&self, kind: &TokenKind) -> bool {
        !self.at_end() && std::mem::discriminant(self.peek()) == std::mem::discriminant(kind)
    }

    fn advance(&mut self) -> usize {
        if !self.at_end() {
            self.pos += 1;
        }
        self.pos.saturating_sub(1)
    }

    fn matches(&mut self, kind: &TokenKind) -> bool {
        if self.check(kind) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn offset_of(&self, index: usize) -> usize {
        self.tokens.get(index).map_or(self.text.len(), |t| t.offset)
    }

    fn error(&self, kind: ErrorKind, index: usize, expected: Option<&str>) -> ParseError {
        let (offset, symbol) = self.tokens.get(index).map_or((self.text.len(), "EOF"), |t| (t.offset, t.display()));
        if kind == ErrorKind::MaxDepth {
            let mut error = ParseError::at(self.text, offset, ErrorKind::UnexpectedSymbol, symbol, None);
            error.kind = ErrorKind::MaxDepth;
            error.message = error.message.replacen(
                &format!("Unexpected symbol: '{symbol}'"),
                &format!("Exceeded max expression depth {MAX_DEPTH}"),
                1,
            );
            error.expected = Some(format!("at most {MAX_DEPTH} levels of nesting"));
            return error;
        }
        ParseError::at(self.text, offset, kind, symbol, expected)
    }

    /// The error for the end of the expression where more was needed: at the last token.
    fn unexpected_end(&self) -> ParseError {
        self.error(ErrorKind::UnexpectedEnd, self.pos.saturating_sub(1), Some("more after it"))
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(ErrorKind::MaxDepth, self.pos, None));
        }
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let expr = self.logical(true)?;
        self.leave(1);
        Ok(expr)
    }

    /// `||` chains (`or`) over `&&` chains over equalities.
    fn logical(&mut self, or: bool) -> Result<Expr, ParseError> {
        let operator = if or { TokenKind::Or } else { TokenKind::And };
        let first = if or { self.logical(false)? } else { self.equality()? };
        if !self.check(&operator) {
            return Ok(first);
        }
        self.enter()?;
        let offset = self.offset_of(self.pos);
        let mut operands = vec![first];
        while self.matches(&operator) {
            operands.push(if or { self.logical(false)? } else { self.equality()? });
        }
        self.leave(1);
        let kind = if or { ExprKind::Or(operands) } else { ExprKind::And(operands) };
        Ok(Expr { kind, offset })
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        self.binary(true)
    }

    /// Left-associative chains of `==`/`!=` (`equality`) over chains of `<`, `<=`, `>`, `>=`.
    fn binary(&mut self, equality: bool) -> Result<Expr, ParseError> {
        let mut expr = if equality { self.binary(false)? } else { self.unary()? };
        let mut levels = 0;
        loop {
            let op = match (equality, self.peek()) {
                (true, TokenKind::EqualEqual) => CompareOp::Eq,
                (true, TokenKind::BangEqual) => CompareOp::Ne,
                (false, TokenKind::Less) => CompareOp::Lt,
                (false, TokenKind::LessEqual) => CompareOp::Le,
                (false, TokenKind::Greater) => CompareOp::Gt,
                (false, TokenKind::GreaterEqual) => CompareOp::Ge,
                _ => break,
            };
            let offset = self.offset_of(self.pos);
            self.advance();
            self.enter()?;
            levels += 1;
            let right = if equality { self.binary(false)? } else { self.unary()? };
            expr = Expr { kind: ExprKind::Compare { op, left: Box::new(expr), right: Box::new(right) }, offset };
        }
        self.leave(levels);
        Ok(expr)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.check(&TokenKind::Bang) {
            let offset = self.offset_of(self.pos);
            self.advance();
            self.enter()?;
            let operand = self.unary()?;
            self.leave(1);
            return Ok(Expr { kind: ExprKind::Not(Box::new(operand)), offset });
        }
        self.index()
    }

    fn index(&mut self) -> Result<Expr, ParseError> {
        let (mut expr, indexable) = self.call()?;
        if !indexable {
            return Ok(expr);
        }
        let mut levels = 0;
        loop {
            if self.check(&TokenKind::LeftBracket) {
                let offset = self.offset_of(self.pos);
                self.advance();
                let index = if self.matches(&TokenKind::Star) {
                    Index::Star
                } else {
                    Index::Expr(Box::new(self.expression()?))
                };
                if !self.matches(&TokenKind::RightBracket) {
                    return Err(self.error(ErrorKind::UnexpectedSymbol, self.pos, Some("']'")));
                }
                self.enter()?;
                levels += 1;
                expr = Expr { kind: ExprKind::Index { target: Box::new(expr), index }, offset };
            } else if self.check(&TokenKind::Dot) {
                let offset = self.offset_of(self.pos);
                self.advance();
                self.enter()?;
                levels += 1;
                let index = if self.check(&TokenKind::Identifier) {
                    let at = self.advance();
                    Index::Property(self.tokens.get(at).map_or("", |t| t.lexeme).to_owned())
                } else if self.matches(&TokenKind::Star) {
                    Index::Star
                } else {
                    return Err(self.error(
                        ErrorKind::UnexpectedSymbol,
                        self.pos,
                        Some("a property name or '*' after '.'"),
                    ));
                };
                expr = Expr { kind: ExprKind::Index { target: Box::new(expr), index }, offset };
            } else {
                break;
            }
        }
        self.leave(levels);
        Ok(expr)
    }

    /// A call, a context or a primary; and whether accessors may follow it.
    fn call(&mut self) -> Result<(Expr, bool), ParseError> {
        if !self.check(&TokenKind::Identifier) {
            return self.primary();
        }
        let at = self.advance();
        let (offset, name) = self.tokens.get(at).map_or((0, ""), |t| (t.offset, t.lexeme));
        let name = name.to_owned();
        if !self.matches(&TokenKind::LeftParen) {
            if let Names::Only(allowed) = self.names
                && !allowed.allows_context(&name)
            {
                let expected = format!("one of the contexts allowed here: {}", allowed.contexts.join(", "));
                return Err(self.error(ErrorKind::UnrecognizedContext, at, Some(&expected)));
            }
            return Ok((Expr { kind: ExprKind::Context(name), offset }, true));
        }
        let mut args = Vec::new();
        while !self.matches(&TokenKind::RightParen) {
            args.push(self.expression()?);
            if !self.check(&TokenKind::RightParen) && !self.matches(&TokenKind::Comma) {
                return Err(self.error(ErrorKind::UnexpectedSymbol, self.pos, Some("',' or ')'")));
            }
        }
        self.validate_function(&name, at, args.len())?;
        Ok((Expr { kind: ExprKind::Call { name, args }, offset }, true))
    }

    fn validate_function(&self, name: &str, at: usize, count: usize) -> Result<(), ParseError> {
        let spec = functions::builtin(name).or_else(|| match self.names {
            Names::Any => functions::extension(name),
            Names::Only(allowed) => allowed.function(name).cloned(),
        });
        let Some(spec) = spec else {
            return Err(self.error(
                ErrorKind::UnrecognizedFunction,
                at,
                Some("a function that exists and is allowed here"),
            ));
        };
        let bounds = if spec.max_args == usize::MAX {
            format!("at least {}", spec.min_args)
        } else if spec.min_args == spec.max_args {
            format!("{}", spec.min_args)
        } else {
            format!("{} to {}", spec.min_args, spec.max_args)
        };
        let expected = format!("{bounds} arguments for {}", spec.name);
        if count < spec.min_args {
            return Err(self.error(ErrorKind::TooFewParameters, at, Some(&expected)));
        }
        if count > spec.max_args {
            return Err(self.error(ErrorKind::TooManyParameters, at, Some(&expected)));
        }
        if name.eq_ignore_ascii_case("case") && count.is_multiple_of(2) {
            return Err(self.error(
                ErrorKind::EvenParameters,
                at,
                Some("pairs of a condition and a value, then a default"),
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<(Expr, bool), ParseError> {
        let offset = self.offset_of(self.pos);
        let literal = match self.peek() {
            TokenKind::False => Some(Value::Bool(false)),
            TokenKind::True => Some(Value::Bool(true)),
            TokenKind::Null => Some(Value::Null),
            TokenKind::Number(n) => Some(Value::Number(*n)),
            TokenKind::String(s) => Some(Value::String(s.clone())),
            _ => None,
        };
        if let Some(value) = literal {
            self.advance();
            return Ok((Expr { kind: ExprKind::Literal(value), offset }, false));
        }
        if self.matches(&TokenKind::LeftParen) {
            let expr = self.expression()?;
            if self.at_end() {
                return Err(self.unexpected_end());
            }
            if !self.matches(&TokenKind::RightParen) {
                return Err(self.error(ErrorKind::UnexpectedSymbol, self.pos, Some("')'")));
            }
            return Ok((expr, true));
        }
        if self.at_end() {
            return Err(self.unexpected_end());
        }
        Err(self.error(
            ErrorKind::UnexpectedSymbol,
            self.pos,
            Some("a value: a literal, a context, a function call or '('"),
        ))
    }
}

impl Expr {
    /// The named contexts the expression reads, lower-case, with the byte offset of each
    /// mention, in order of appearance.
    #[must_use]
    pub fn contexts(&self) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Context(name) = &e.kind {
                found.push((name.to_ascii_lowercase(), e.offset));
            }
        });
        found.sort_by_key(|(_, offset)| *offset);
        found
    }

    /// The functions the expression calls, lower-case, with their number of arguments and the
    /// byte offset of each call's name, in order of appearance.
    #[must_use]
    pub fn functions(&self) -> Vec<(String, usize, usize)> {
        let mut found = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Call { name, args } = &e.kind {
                found.push((name.to_ascii_lowercase(), args.len(), e.offset));
            }
        });
        found.sort_by_key(|(_, _, offset)| *offset);
        found
    }

    /// Whether the expression calls `success()`, `failure()`, `cancelled()` or `always()`;
    /// GitHub runs a step or job whose `if` has none only after success
    /// (see [`crate::evaluate_condition`]).
    #[must_use]
    pub fn has_status_function(&self) -> bool {
        self.functions()
            .iter()
            .any(|(name, ..)| matches!(name.as_str(), "success" | "failure" | "cancelled" | "always"))
    }

    /// The string, when the whole expression is a string literal (`${{ '{{ x }}' }}`).
    #[must_use]
    pub fn as_string_literal(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Literal(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Visits every node, parents first. Recursion is bounded by the parser's depth limit.
    fn walk(&self, visit: &mut dyn FnMut(&Expr)) {
        visit(self);
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Context(_) => {}
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(visit)),
            ExprKind::Index { target, index } => {
                target.walk(visit);
                if let Index::Expr(index) = index {
                    index.walk(visit);
                }
            }
            ExprKind::Not(operand) => operand.walk(visit),
            ExprKind::Compare { left, right, .. } => {
                left.walk(visit);
                right.walk(visit);
            }
            ExprKind::And(operands) | ExprKind::Or(operands) => operands.iter().for_each(|a| a.walk(visit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text).expect_err(text).to_string()
    }

    #[test]
    fn lists_contexts_and_functions_with_offsets() {
        let expr =
            parse("contains(GitHub.event.labels.*.name, 'bug') && Matrix.os == format('{0}', env.OS)").expect("parses");
        assert_eq!(expr.contexts(), vec![("github".into(), 9), ("matrix".into(), 47), ("env".into(), 74)]);
        assert_eq!(expr.functions(), vec![("contains".into(), 2, 0), ("format".into(), 2, 60)]);
        assert!(!expr.has_status_function());
        assert!(parse("Always() || x").expect("parses").has_status_function());
    }

    #[test]
    fn accepts_what_github_accepts() {
        for text in [
            "",
            "  ",
            "a.b-c['d'][0].*[*]",
            "(a)[1]",
            "fromJson('[1]')[0]",
            "!!x",
            "a == b != c < d",
            "format('x',)",
            "success(needs.a)",
        ] {
            assert!(parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        insta::assert_snapshot!(error("1 <"), @"Unexpected end of expression: '<'. Located at position 3 within expression: 1 < (expected more after it)");
        insta::assert_snapshot!(error("a b"), @"Unexpected symbol: 'b'. Located at position 3 within expression: a b (expected an operator or the end of the expression)");
        insta::assert_snapshot!(error("foo(1)"), @"Unrecognized function: 'foo'. Located at position 1 within expression: foo(1) (expected a function that exists and is allowed here)");
        insta::assert_snapshot!(error("join()"), @"Too few parameters supplied: 'join'. Located at position 1 within expression: join() (expected 1 to 2 arguments for join)");
        insta::assert_snapshot!(error("a."), @"Unexpected symbol: 'EOF'. Located at position 3 within expression: a. (expected a property name or '*' after '.')");
        insta::assert_snapshot!(error("a[1"), @"Unexpected symbol: 'EOF'. Located at position 4 within expression: a[1 (expected ']')");
        insta::assert_snapshot!(error("'it''s"), @"Unexpected symbol: ''it''s'. Located at position 1 within expression: 'it''s (expected a closing quote (write '' for a quote inside a string))");
        insta::assert_snapshot!(error(&"!".repeat(60)), @"Exceeded max expression depth 50. Located at position 51 within expression: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! (expected at most 50 levels of nesting)");
        insta::assert_snapshot!(error(&"1".repeat(MAX_LENGTH + 1)), @"Exceeded max expression length 21000 (expected a shorter expression)");
    }

    #[test]
    fn allowed_names_follow_the_schema() {
        let allowed = Allowed::from_schema(["github", "Inputs", "hashFiles(1,255)", "success(0,MAX)"]);
        assert!(parse_with("inputs.x && github.sha && hashFiles('a') && success()", &allowed).is_ok());
        let err = parse_with("secrets.token", &allowed).expect_err("secrets");
        assert_eq!(err.kind, ErrorKind::UnrecognizedContext);
        insta::assert_snapshot!(err.reason(), @"Unrecognized named-value: 'secrets' (expected one of the contexts allowed here: github, inputs)");
        assert_eq!(parse_with("always()", &allowed).expect_err("always").kind, ErrorKind::UnrecognizedFunction);
        assert_eq!(parse_with("hashFiles()", &allowed).expect_err("arity").kind, ErrorKind::TooFewParameters);
    }

    #[test]
    fn check_reports_every_name_not_allowed() {
        let allowed = Allowed::from_schema(["github", "always(0,0)", "success(0,0)"]);
        let text = "secrets.a || github.b || Env.c || always() || hashFiles('x') || success(1)";
        let expr = parse(text).expect("parses");
        let errors: Vec<String> = check(&expr, text, &allowed).iter().map(ParseError::reason).collect();
        insta::assert_debug_snapshot!(errors, @r#"
        [
            "Unrecognized named-value: 'secrets' (expected one of the contexts allowed here: github)",
            "Unrecognized named-value: 'Env' (expected one of the contexts allowed here: github)",
            "Unrecognized function: 'hashFiles' (expected a function that exists and is allowed here)",
            "Too many parameters supplied: 'success'",
        ]
        "#);
    }

    #[test]
    fn comparison_chains_are_bounded() {
        let long = vec!["1"; 200].join(" == ");
        assert_eq!(parse(&long).expect_err("too deep").kind, ErrorKind::MaxDepth);
    }
}
