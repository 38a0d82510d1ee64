//! Built-in tasks: policy as code (being built).

use super::Builtin;

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[];
