//! The event stream's feeder and consumers: Slipway's changes turned into CDEvents, and what
//! reads the stream.
