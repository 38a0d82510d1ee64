//! Built-in tasks: cache. (Being written.)

use super::Builtin;

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[];
