//! CDEvents 0.5.1 as structured CloudEvents 1.0: Slipway's own events built from its records, and
//! events pushed in from outside checked against the CDEvents schemas.
