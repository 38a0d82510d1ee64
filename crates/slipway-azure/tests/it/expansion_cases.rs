//! The template-expansion cases transcribed from Microsoft's docs (see
//! `tests/fixtures/expansion-cases/SOURCE.md`): each `NAME.input.yml` must expand to the structure
//! of `NAME.expected.yml`.

use std::path::Path;

use slipway_azure::{Location, Options, expand};
use slipway_diagnostics::{FileId, render_all};

use crate::support::shape;

#[test]
fn documented_expansion_cases_expand_as_stated() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expansion-cases");
    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .expect("fixture directory")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".input.yml").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "expected the five documented cases, found {names:?}");
    let file_system = slipway_source::RepositoryFiles::new(directory.clone());
    let mut failures = Vec::new();
    for name in &names {
        let expansion = expand(&Location::local(format!("{name}.input.yml")), &file_system, &Options::default());
        let expected_text =
            std::fs::read_to_string(directory.join(format!("{name}.expected.yml"))).expect("expected file");
        let expected = slipway_yaml::load(&expected_text, FileId(0)).expect("expected file is YAML");
        match expansion.root {
            Some(root) if expansion.diagnostics.is_empty() => {
                if shape(&root) != shape(&expected) {
                    failures.push(format!(
                        "{name}: got\n{}\nexpected\n{}",
                        slipway_yaml::emit(&root),
                        slipway_yaml::emit(&expected)
                    ));
                }
            }
            _ => failures.push(format!("{name}: {}", render_all(&expansion.diagnostics, &expansion.sources))),
        }
    }
    println!("expansion cases: {} passed, {} failed of {}", names.len() - failures.len(), failures.len(), names.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
