//! `slipway verify`, end to end (being built).
