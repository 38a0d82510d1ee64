//! Built-in tasks: known vulnerabilities (being built).

use super::Builtin;

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[];
