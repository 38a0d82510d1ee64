//! Every entry pipeline of the real-world corpus in `shared/corpus/azure-pipelines` (skipped when
//! `shared/` is not beside the checkout). Each must either compile to a plan or stop only because
//! something is missing from a local checkout: a template that is not in the corpus (`T0001`) or
//! one from another repository (`T0002`). Any other error is a false error of Slipway's, unless the
//! file is listed in `KNOWN_INVALID` with the reason the file itself is wrong.

use std::collections::BTreeMap;

use slipway_azure::{Location, Options, compile};
use slipway_diagnostics::render_all;

use crate::support::shared;

#[path = "../shared/corpus.rs"]
mod files;

/// Corpus files that are invalid as written, with the reason (checked by hand against the docs).
const KNOWN_INVALID: &[(&str, &str)] = &[
    (
        "9dogs/tg-odesli-bot/.azure-pipelines/stage-build.yml",
        "job name `build-docker` has a `-`; Azure allows only letters, digits and `_`",
    ),
    (
        "Computer-Vision-Team-Amsterdam/Detecting-Heavy-Objects/pipelines/azure-pipelines.yml",
        "`${{ each }}` makes job names with a `.`, and repeats two job names in one stage",
    ),
    ("LER0ever/HPGO/ci/.gitlab-ci.yml", "a GitLab CI file, not an Azure pipeline"),
    (
        "MVoz/vcpkg-template/.azure-pipelines/clean-tombstones.yml",
        "job `linux` has `steps:` twice (a commented-out job left its steps behind)",
    ),
    ("BastianBlokland/typedtree-editor/ci/azure-pipelines.yml", "a mapping has `steps:` twice"),
];

/// Codes that mean "this is not in the local checkout" (a template outside the corpus, a
/// repository with no checkout) or "this needs a value at queue time" (a pipeline parameter with
/// no default), not "this pipeline is wrong".
const MISSING_CODES: &[&str] = &["T0001", "T0002", "P0001"];

#[test]
fn every_corpus_pipeline_compiles_or_names_what_is_missing() {
    let found = shared().and_then(|shared| files::repositories(&shared.join("corpus/azure-pipelines")));
    let needed = found.as_ref().map(|_| ()).ok_or_else(|| "shared/corpus/azure-pipelines is not there".to_owned());
    if !slipway_testing::needed_or_skip("every_corpus_pipeline_compiles_or_names_what_is_missing", "CORPUS", needed) {
        return;
    }
    let Some(repositories) = found else { return };
    let (mut valid, mut missing, mut known_invalid, mut panicked) = (0, 0, 0, 0);
    let mut false_errors = Vec::new();
    let mut missing_by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for (repository, pipelines) in &repositories {
        for path in pipelines {
            let name = format!("{}/{path}", repository.name);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                compile(&Location::local(path.clone()), repository, &Options::default())
            }));
            let Ok(compiled) = result else {
                panicked += 1;
                false_errors.push(format!("{name}: PANIC"));
                continue;
            };
            let errors: Vec<_> = compiled.diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).collect();
            if errors.is_empty() && compiled.plan.is_some() {
                valid += 1;
            } else if !errors.is_empty() && errors.iter().all(|diagnostic| MISSING_CODES.contains(&diagnostic.code)) {
                missing += 1;
                for diagnostic in &errors {
                    if let Some(code) = MISSING_CODES.iter().find(|code| **code == diagnostic.code) {
                        *missing_by_code.entry(code).or_default() += 1;
                    }
                }
            } else if KNOWN_INVALID.iter().any(|(known, _)| *known == name) {
                known_invalid += 1;
            } else {
                false_errors.push(format!("{name}:\n{}", render_all(&compiled.diagnostics, &compiled.sources)));
            }
        }
    }
    let total = valid + missing + known_invalid + false_errors.len();
    println!(
        "corpus: {total} entry pipelines: {valid} compiled, {missing} stopped on something missing from the checkout {missing_by_code:?}, {known_invalid} known invalid, {} unexpected errors, {panicked} panics",
        false_errors.len()
    );
    assert!(
        false_errors.is_empty(),
        "{} pipelines failed unexpectedly:\n\n{}",
        false_errors.len(),
        false_errors.join("\n")
    );
}
