//! The Azure Pipelines front end.
//!
//! It takes the YAML that teams already have and understands it as Azure DevOps does: [`expand`]
//! reads the entry file and every template through a [`FileSystem`] and evaluates `${{ }}`
//! template expressions, parameters, `${{ if }}`/`${{ each }}`/`${{ insert }}` and templates into
//! one expanded document, [`validate`] checks that document against Azure's schema
//! and rules, and [`lower`] turns it into Slipway's neutral [`slipway_plan::Plan`]. Everything
//! here is pure: the only I/O goes through the [`FileSystem`] the caller passes in. [`compile`]
//! runs the whole chain.

pub mod expand;
pub mod lower;
pub mod validate;

pub use expand::files::{FileSystem, Location, MemoryFileSystem, ReadError};
pub use expand::{
    Expansion, MAX_DEPTH, MAX_EXPANDED_NESTING, MAX_FILES, MAX_NODES, Options, ParameterDeclaration,
    declared_parameters, expand,
};

use slipway_diagnostics::{Diagnostic, SourceMap};
use slipway_plan::{ParameterValue, Plan};
use slipway_yaml::Node;

pub use lower::lower;
pub use validate::validate;

/// Everything the front end made of a pipeline.
#[derive(Debug)]
pub struct Compiled {
    /// Every file read.
    pub sources: SourceMap,
    /// The expanded document, when expansion got that far.
    pub expanded: Option<Node>,
    /// The plan, when the pipeline is valid.
    pub plan: Option<Plan>,
    /// Every error and warning, from all stages.
    pub diagnostics: Vec<Diagnostic>,
}

/// Expansion errors that leave the rest of the document whole: expressions that do not parse or
/// evaluate, malformed directives, a key defined twice.
const LOCAL_EXPANSION_ERRORS: [&str; 6] = ["T0010", "T0011", "T0012", "T0013", "T0014", "T0016"];

/// Expands, validates and lowers the pipeline at `entry`. The document is validated even when
/// expansion found errors in expressions or directives, so that every problem is reported at
/// once, but without what lies where expansion failed (one mistake is not reported twice);
/// lowering runs only on a valid document.
pub fn compile(entry: &Location, file_system: &dyn FileSystem, options: &Options) -> Compiled {
    let expansion = expand(entry, file_system, options);
    let mut diagnostics = expansion.diagnostics;
    let sources = expansion.sources;
    let extended_locations = expansion.extended;
    let has_errors = |diagnostics: &[Diagnostic]| diagnostics.iter().any(Diagnostic::is_error);
    let Some(root) = expansion.root else {
        return Compiled { sources, expanded: None, plan: None, diagnostics };
    };
    let expansion_failed = has_errors(&diagnostics);
    // A template that could not be included leaves a document with parts missing: validating it
    // would report what is only missing. Errors inside expressions and directives leave the rest
    // whole.
    let only_local = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .all(|diagnostic| LOCAL_EXPANSION_ERRORS.contains(&diagnostic.code));
    if expansion_failed && !only_local {
        return Compiled { sources, expanded: Some(root), plan: None, diagnostics };
    }
    let failed_at: Vec<slipway_diagnostics::Span> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .filter_map(|diagnostic| diagnostic.span)
        .collect();
    let mut found = validate(&root);
    if expansion_failed {
        found.retain(|diagnostic| {
            diagnostic.span.is_some_and(|span| {
                !failed_at
                    .iter()
                    .any(|failed| failed.file == span.file && failed.start < span.end && span.start < failed.end)
            })
        });
    }
    // Reported in the order of the files, as a person reads them.
    found.sort_by_key(|diagnostic| diagnostic.span.map(|span| (span.file, span.start)));
    diagnostics.extend(found);
    if has_errors(&diagnostics) {
        return Compiled { sources, expanded: Some(root), plan: None, diagnostics };
    }
    let parameters = expansion
        .parameters
        .iter()
        .map(|(name, value)| ParameterValue { name: name.clone(), value: value.to_json() })
        .collect();
    let extended: Vec<slipway_plan::TemplateRef> = extended_locations
        .iter()
        .map(|location| slipway_plan::TemplateRef {
            repository: location.repository.clone(),
            path: location.path.clone(),
        })
        .collect();
    let plan = match lower(&root, &sources, parameters) {
        Ok(mut plan) => {
            plan.extends = extended;
            Some(plan)
        }
        Err(more) => {
            diagnostics.extend(more);
            None
        }
    };
    Compiled { sources, expanded: Some(root), plan, diagnostics }
}
