//! `slipway notifications` against a real server and real receivers.
