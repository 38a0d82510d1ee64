//! Every workflow of the real-world corpus in `shared/corpus/github-actions` (skipped with the
//! reason when `shared/` is not beside the checkout, a failure with `SLIPWAY_REQUIRE_CORPUS=1`):
//! each must check with no error, reusable workflows it calls from its own repository looked into,
//! unless `KNOWN_INVALID` lists it with the reason the file itself is wrong.

use std::path::{Path, PathBuf};

use slipway_diagnostics::{FileId, SourceMap, render_all};

/// Corpus workflows that are invalid as written, with the reason (checked by hand against
/// GitHub's documentation and schema).
const KNOWN_INVALID: &[(&str, &str)] = &[
    (
        "astral-sh__ruff/.github__workflows__release.yml",
        "eleven jobs call `uses: $/.github/workflows/...` (upstream: `./.github/...`): not a reusable workflow reference",
    ),
    (
        "vitejs__vite/.github__workflows__issue-labeled.yml",
        "steps use `$/.github/actions/issues-helper`: not an action reference ({owner}/{repo}[/path]@ref, ./path or docker://)",
    ),
    (
        "tursodatabase__libsql/.github__workflows__release-libsql.yml",
        "a step has both `working-directory` (run steps only) and `uses`; GitHub refuses it: Unexpected value 'uses'",
    ),
    (
        "tursodatabase__libsql/.github__workflows__sqlite3.yml",
        "`on.merge_group` has `paths`, which merge_group does not take (GitHub's schema: branches, branches-ignore, types)",
    ),
];

pub(crate) fn corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("SLIPWAY_SHARED")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"), PathBuf::from);
    let corpus = shared.join("corpus/github-actions");
    corpus.join("manifest.tsv").is_file().then_some(corpus)
}

/// `(local file, repository path, kind)` of every manifest row.
pub(crate) fn manifest(corpus: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus.join("manifest.tsv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Some(((*fields.get(7)?).to_owned(), (*fields.get(1)?).to_owned(), (*fields.get(4)?).to_owned()))
        })
        .collect()
}

#[test]
fn every_corpus_workflow_checks_with_no_false_error() {
    let found = corpus();
    let needed = found.as_ref().map(|_| ()).ok_or_else(|| "shared/corpus/github-actions is not there".to_owned());
    if !slipway_testing::needed_or_skip("every_corpus_workflow_checks_with_no_false_error", "CORPUS", needed) {
        return;
    }
    let Some(corpus) = found else { return };
    let (mut valid, mut known_invalid, mut total, mut lowered) = (0, 0, 0, 0);
    let mut false_errors = Vec::new();
    // Why valid workflows could not be lowered yet: code to count.
    let mut refused: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (local, path, kind) in manifest(&corpus) {
        if !kind.starts_with("workflow") {
            continue;
        }
        total += 1;
        let text = std::fs::read_to_string(corpus.join(&local)).expect("a corpus file is readable");
        let repository = local.split('/').next().unwrap_or_default().to_owned();
        let mut sources = SourceMap::new();
        let file = sources.add(path.clone(), text.as_str());
        let called_files = std::cell::RefCell::new(Vec::new());
        let called = |reference: &str| {
            let local = reference.strip_prefix("./")?.replace('/', "__");
            let text = std::fs::read_to_string(corpus.join(&repository).join(local)).ok()?;
            let mut files = called_files.borrow_mut();
            files.push((reference.to_owned(), text.clone()));
            Some((FileId(u32::try_from(files.len()).ok()?), text))
        };
        let checked = slipway_github::check_with(&text, file, &slipway_github::Options::default(), &called);
        for (reference, text) in called_files.into_inner() {
            sources.add(reference, text);
        }
        let errors: Vec<_> = checked.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
        let listed = KNOWN_INVALID.iter().find(|(name, _)| *name == local);
        match (errors.is_empty(), listed) {
            (true, None) => {
                valid += 1;
                let workflow = checked.workflow.as_ref().unwrap_or_else(|| panic!("{local}: valid but no model"));
                match slipway_github::lower::lower(workflow, vec![path.clone()], &[]) {
                    Ok(plan) => {
                        lowered += 1;
                        let json = serde_json::to_string(&plan).expect("a plan serializes");
                        let read: slipway_plan::Plan = serde_json::from_str(&json).expect("a plan reads back");
                        assert_eq!(read, plan, "{local}: the plan survives JSON");
                    }
                    Err(diagnostics) => {
                        let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
                        codes.dedup();
                        for code in codes {
                            assert!(code.starts_with("G05"), "{local}: lowering said {code}");
                            *refused.entry(code.to_owned()).or_default() += 1;
                        }
                    }
                }
            }
            (false, Some(_)) => known_invalid += 1,
            (true, Some(_)) => false_errors.push(format!("{local}: listed as invalid but checks clean")),
            (false, None) => false_errors.push(format!("{local}:\n{}", render_all(&errors, &sources))),
        }
    }
    println!(
        "GitHub corpus: {total} workflows; {valid} valid, {known_invalid} invalid as written (KNOWN_INVALID), {} false errors",
        false_errors.len()
    );
    println!(
        "GitHub corpus lowered: {lowered} of {valid} valid workflows; refused (workflows per reason): {refused:?}"
    );
    assert!(total > 150, "the corpus holds its workflows");
    assert!(false_errors.is_empty(), "{}", false_errors.join("\n"));
}
