//! The Azure Pipelines expression language. (Skeleton: the parser and evaluator are being written.)

use serde::{Deserialize, Serialize};

/// A parsed expression together with the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expression {
    /// The source text (without `${{ }}` or `$[ ]`).
    pub source: String,
    /// The syntax tree.
    pub root: Expr,
}

/// A node of the syntax tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// `null`.
    Null,
}
