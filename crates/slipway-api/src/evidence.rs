//! Evidence bundles: what a deployment or run is proved by (wire types).
