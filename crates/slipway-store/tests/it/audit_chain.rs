//! The audit log's hash chain.
