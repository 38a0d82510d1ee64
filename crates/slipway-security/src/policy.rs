//! Policy as code: Rego policies evaluated with regorus (Microsoft's Rego engine in Rust) under
//! conftest's conventions, so that existing conftest policy libraries run unchanged. Policies are
//! every `.rego` file under the policy directories (`policy/` by default; `_test.rego` files are
//! left out), in Rego v1 (`deny contains msg if { ... }`, `import rego.v1`) or v0 (`deny[msg] {
//! ... }`), told apart per file ([`load`]). Inputs are JSON, YAML (every document of a
//! multi-document file evaluated on its own, as conftest does) and TOML files, or one combined
//! array of `{path, contents}` ([`input`]); a Terraform plan (`terraform show -json`) is plain
//! JSON. [`check`] evaluates each input per namespace as conftest does: `deny`, `violation`
//! (and their `deny_*`, `violation_*` forms) are failures, `warn` and `warn_*` warnings, results
//! are strings or objects with a `msg` (the rest kept as metadata), `exception` rules exempt
//! inputs from rules by name, and successes are counted as conftest counts them. The results
//! ([`CheckResult`]) are pure values that [`report`] writes as conftest's text, conftest's JSON,
//! SARIF 2.1.0 and JUnit XML. [`gate`] is the pure entry point for an environment's policy
//! check: policies given as `(path, text)` pairs judged against one JSON input, giving a
//! [`gate::Decision`]. Nothing here panics on user input: regorus' errors become
//! [`PolicyError`]s with the policy's `file:line:col` and source line when regorus gives them.

pub mod check;
pub mod gate;
pub mod input;
pub mod load;
pub mod report;

use std::fmt;

pub use check::{CheckResult, Options, PolicyResult, check_all};
pub use gate::{Decision, GateInput, GateOptions, evaluate};
pub use input::{Input, InputFormat};
pub use load::{PolicySet, RegoVersion};

/// Where something in a file is: a 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.line, self.column)
    }
}

/// Why policies could not be loaded or evaluated, or an input not read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy that does not parse (or compile), at its `file:line:col`, with regorus' rendering
    /// of the source line and a caret under the column.
    #[error("{path}:{position}: {message}\n{excerpt}")]
    Syntax {
        /// The policy file.
        path: String,
        /// Where regorus stopped.
        position: Position,
        /// What regorus said.
        message: String,
        /// The source line with a caret, as regorus renders it.
        excerpt: String,
    },
    /// A policy that regorus refused without a place.
    #[error("{path}: {message}")]
    Policy {
        /// The policy file.
        path: String,
        /// What regorus said.
        message: String,
    },
    /// No `.rego` file (other than tests) under the policy paths.
    #[error("no policies found in {paths}")]
    NoPolicies {
        /// The policy paths, comma-separated.
        paths: String,
    },
    /// A namespace asked for that no policy declares.
    #[error("no policy has the namespace '{namespace}' (the policies' namespaces: {known})")]
    UnknownNamespace {
        /// The namespace asked for.
        namespace: String,
        /// The namespaces the policies have.
        known: String,
    },
    /// An input or data file that does not parse, at its `file:line:col`.
    #[error("{path}:{position}: {message}")]
    Input {
        /// The file.
        path: String,
        /// Where the parser stopped.
        position: Position,
        /// What the parser said.
        message: String,
    },
    /// An input or data file that cannot be used (an unknown kind of file, data that is not an
    /// object, no files at all).
    #[error("{path}: {message}")]
    Unusable {
        /// The file (or path given).
        path: String,
        /// Why.
        message: String,
    },
    /// A file or directory that cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Evaluating a rule failed (a builtin's error, a conflict, a result of the wrong shape).
    #[error("evaluating {query} for {file}: {message}")]
    Evaluation {
        /// The query (`data.main.deny`).
        query: String,
        /// The input file evaluated.
        file: String,
        /// What went wrong.
        message: String,
    },
}

/// A regorus error as a [`PolicyError`]: [`PolicyError::Syntax`] when its rendering names a
/// place (`--> file:line:col`), else [`PolicyError::Policy`] for `path`.
pub(crate) fn regorus_error(path: &str, error: &dyn fmt::Display) -> PolicyError {
    let text = error.to_string();
    match located(&text) {
        Some((file, position, message, excerpt)) => PolicyError::Syntax { path: file, position, message, excerpt },
        None => PolicyError::Policy { path: path.to_owned(), message: text.trim().to_owned() },
    }
}

/// The place, message and excerpt of regorus' rendering of an error:
///
/// ```text
/// --> policy/deny.rego:4:3
///   |
/// 4 |   deny contains msg iff {
///   |                     ^
/// error: expecting `{` ...
/// ```
pub(crate) fn located(text: &str) -> Option<(String, Position, String, String)> {
    let mut lines = text.lines().skip_while(|line| !line.trim_start().starts_with("--> "));
    let arrow = lines.next()?.trim_start().strip_prefix("--> ")?;
    let mut parts = arrow.rsplitn(3, ':');
    let column = parts.next()?.trim().parse::<usize>().ok()?;
    let line = parts.next()?.trim().parse::<usize>().ok()?;
    let file = parts.next()?.to_owned();
    let mut excerpt = Vec::new();
    let mut message = Vec::new();
    for rest in lines {
        if message.is_empty() && rest.contains('|') && !rest.starts_with("error:") {
            excerpt.push(rest);
        } else {
            message.push(rest.strip_prefix("error: ").unwrap_or(rest));
        }
    }
    let message = message.join("\n").trim().to_owned();
    let message = if message.is_empty() { "error".to_owned() } else { message };
    Some((file, Position { line, column }, message, excerpt.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regorus_renderings_are_read_for_their_place() {
        let text = "\n--> policy/a.rego:3:9\n  |\n3 | deny if iff\n  |         ^\nerror: unexpected token";
        let error = regorus_error("policy/a.rego", &text);
        assert_eq!(error.to_string(), "policy/a.rego:3:9: unexpected token\n  |\n3 | deny if iff\n  |         ^");
        let error = regorus_error("policy/a.rego", &"something without a place");
        assert_eq!(error.to_string(), "policy/a.rego: something without a place");
    }
}
