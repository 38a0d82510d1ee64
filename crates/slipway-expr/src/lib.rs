//! The Azure Pipelines expression language, with Azure's semantics: the language of conditions,
//! of template expressions `${{ }}` and of runtime expressions `$[ ]`, plus the agent's macro
//! syntax `$(name)`.
//!
//! [`parse`] turns source text into an [`Expression`] (syntax only), [`check`] validates the names
//! and calls in it against what a place in a pipeline allows, and [`evaluate`] computes its
//! [`Value`] against a [`Context`] that supplies named values (`variables`, `parameters`,
//! `dependencies`, ...) and host functions (the [`status`] functions, `counter`).
//! [`template::split`] finds expressions embedded in YAML scalars and [`macros::expand`] expands
//! `$(name)` macros.
//!
//! The rules follow Microsoft's documentation (learn.microsoft.com/azure/devops/pipelines/process/
//! expressions) and, where the docs are silent, the reference implementation
//! (`Microsoft.TeamFoundation.DistributedTask.Expressions` and the Azure Pipelines agent):
//! conversions and comparisons, number formatting (`0.#######`), `format` escapes and date
//! specifiers, `convertToJson` layout, version parsing, and error messages. Known differences:
//!
//! - Numbers are `f64`, not .NET `decimal` (same results for the 15 significant digits `f64`
//!   holds; numbers beyond `decimal`'s range do not parse, as in Azure).
//! - Arrays and objects are equal when their contents are equal; Azure compares object identity.
//! - Azure's DateTime kind (`pipeline.startTime`) is represented by a string in its text form,
//!   `yyyy-MM-dd HH:mm:ss+hh:mm` (e.g. `2024-03-05 07:08:09+00:00`); `format` applies date
//!   specifiers such as `{0:yyyyMMdd}` to such strings.
//! - Unknown functions fail with "Unrecognized function: 'x'" (Azure says "Unrecognized value"),
//!   and wrong argument counts are reported by [`check`] and at evaluation, not by [`parse`].
//! - `split` splits on the whole delimiter string; `iif` takes 1 to 3 arguments (as documented;
//!   a missing branch is Null); `in`/`notIn` need at least 2 and `replace` accepts 2 or 3, as
//!   the reference implementation registers them.

mod check;
mod eval;
mod format;
mod functions;
mod json;
mod lexer;
pub mod macros;
pub mod status;
mod syntax;
pub mod template;
mod value;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use check::{Allowed, check};
pub use eval::{Context, EvalError, evaluate};
pub use macros::env_name;
pub use syntax::{Accessor, Expr, MAX_DEPTH, MAX_LENGTH, ParseError, Span};
pub use value::{Object, Value, Version, VersionParseError};

/// The names of the built-in functions, in their documented spelling (matching is
/// case-insensitive). `counter` and the status functions are host functions, not built-ins.
pub fn builtin_functions() -> impl Iterator<Item = &'static str> {
    functions::BUILTINS.iter().map(|(name, ..)| *name)
}

/// A parsed expression together with the text it was parsed from.
///
/// It serializes as its source alone (`{"source": "..."}`) and deserializes by parsing that
/// source again, so a stored expression is always valid and deep trees never meet a JSON
/// nesting limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Expression {
    /// The source text (without `${{ }}` or `$[ ]`).
    pub source: String,
    /// The syntax tree.
    pub root: Expr,
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "Expression")]
struct StoredExpression<S> {
    source: S,
}

impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredExpression { source: self.source.as_str() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Expression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredExpression::<String>::deserialize(deserializer)?;
        parse(&stored.source).map_err(serde::de::Error::custom)
    }
}

/// Parses an expression (syntax only: names of functions and values are checked by [`check`]
/// and at evaluation). Built-in function names must be followed by `(`.
pub fn parse(source: &str) -> Result<Expression, ParseError> {
    let root = syntax::parse_root(source)?;
    Ok(Expression { source: source.to_owned(), root })
}

impl std::str::FromStr for Expression {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests;
