//! Integration tests of the Azure front end: the documented expansion cases, diagnostics pinned by
//! fixture, template behaviour, and the real-world corpus.

mod corpus;
mod diagnostics;
mod expansion_cases;
mod support;
mod templates;
