//! `slipway osv` and `slipway scan vulns`, end to end (being built).
