//! `slipway events` against a real server.
