//! Integration tests of the GitHub expression language: conformance with GitHub's and act's
//! expression cases, and garbage input that must never panic.

mod conformance;
mod garbage;
