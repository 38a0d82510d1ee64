//! GitHub expression conformance.
