//! Evidence bundles.
