//! Lowering an expanded, validated pipeline into the neutral plan. (Being written.)
use slipway_diagnostics::{Diagnostic, SourceMap};
use slipway_plan::{ParameterValue, Plan};
use slipway_yaml::Node;

/// Lowers an expanded, validated pipeline document into a plan.
///
/// # Errors
/// Returns diagnostics for anything validation could not rule out.
pub fn lower(root: &Node, sources: &SourceMap, parameters: Vec<ParameterValue>) -> Result<Plan, Vec<Diagnostic>> {
    let _ = (root, sources, parameters);
    Err(Vec::new())
}
