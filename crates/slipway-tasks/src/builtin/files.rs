//! Built-in tasks: files. (Being written.)

use super::Builtin;

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[];
