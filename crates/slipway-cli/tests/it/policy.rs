//! `slipway policy`, end to end (being built).
