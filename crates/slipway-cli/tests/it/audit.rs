//! `slipway audit` against a real server.
