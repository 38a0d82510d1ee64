//! Re-runs.
