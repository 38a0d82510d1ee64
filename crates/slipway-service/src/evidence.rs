//! Evidence bundles of deployments and runs.
