//! Validation of an expanded pipeline. (Being written.)
use slipway_diagnostics::Diagnostic;
use slipway_yaml::Node;

/// Checks an expanded pipeline document and returns every problem found.
#[must_use]
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let _ = root;
    Vec::new()
}
