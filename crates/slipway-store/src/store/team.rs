//! [`Store`]'s queries for the team dashboard.

#[expect(unused_imports, reason = "filled in by the team dashboard")]
use super::Store;
