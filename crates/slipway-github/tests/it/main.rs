//! The GitHub front end's tests: conformance with GitHub's workflow parser, the real-world
//! corpus, and input that must never make it panic.

mod conformance;
mod corpus;
mod robustness;
