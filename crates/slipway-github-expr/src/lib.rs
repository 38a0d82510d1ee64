//! The GitHub Actions expression language, pure: `${{ }}` expressions parsed into a tree, checked
//! against the contexts and functions a key allows, and evaluated with GitHub's rules (loose
//! equality with its coercions, `&&` and `||` returning an operand, case-insensitive names and
//! comparisons, object filters, the built-in functions and the status functions).
//!
//! [`split_template`] cuts a string value into literal text and `${{ }}` expressions, and
//! [`evaluate_template`] replaces each with its value;
//! [`parse`] turns an expression's text into an [`Expr`] (GitHub's grammar, messages and limits);
//! [`Expr::contexts`] and [`Expr::functions`] list what it uses, and [`parse_with`] (the first
//! mistake, as GitHub reports it) and [`check`] (every one) check it against what a place allows ([`Allowed`], read from the workflow schema's lists); [`evaluate`]
//! computes its [`Value`] against a [`Context`] (named contexts, the job's or a composite
//! action's status, `hashFiles`), and [`evaluate_condition`] evaluates an `if` as GitHub does.
//!
//! The rules are those of GitHub's runner, as its test cases (`actions/languageservices`'
//! `expressions/testdata`, run by this crate's conformance test) pin them down. Known
//! differences:
//!
//! - `format` takes no format specifiers (`{0:x}` is an error).
//! - A chain of comparisons (`a == b == c ...`) counts towards the depth limit.
//! - GitHub bounds the memory all intermediate results hold; Slipway bounds the strings a
//!   function's arguments and result hold at once ([`MAX_MEMORY`]), which refuses the same
//!   runaway `format`/`toJSON` expressions.

mod eval;
mod functions;
mod lexer;
mod syntax;
mod template;
mod value;

pub use eval::{Context, EvalError, JobStatus, MAX_MEMORY, evaluate, evaluate_condition};
pub use functions::FunctionSpec;
pub use syntax::{
    Allowed, CompareOp, ErrorKind, Expr, ExprKind, Index, MAX_DEPTH, MAX_LENGTH, ParseError, check, parse, parse_with,
};
pub use template::{Piece, evaluate_template, split_template};
pub use value::{Kind, Object, Value, eq_ignore_case, format_number, loose_cmp, loose_eq, parse_number};
