//! Workflow parser conformance.
