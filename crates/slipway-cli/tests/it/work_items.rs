//! `slipway work-items` against a real server.
