//! Every diagnostic code has a fixture in `tests/fixtures/diagnostics/`, named `CODE-what.yml`,
//! whose rendered diagnostics are pinned by an exact-text snapshot. A fixture's first lines may
//! set `# param: NAME=VALUE` for runtime parameters. Support files (templates) live in
//! `tests/fixtures/diagnostics/templates/`.

use std::path::Path;

use slipway_azure::{Location, Options, compile};
use slipway_diagnostics::render_all;

use slipway_source::RepositoryFiles;

fn render_fixture(path: &Path) -> (String, Vec<&'static str>) {
    let directory = path.parent().expect("fixture directory");
    let text = std::fs::read_to_string(path).expect("fixture");
    let parameters = text
        .lines()
        .filter_map(|line| line.strip_prefix("# param: "))
        .filter_map(|pair| pair.split_once('=').map(|(name, value)| (name.to_owned(), value.to_owned())))
        .collect();
    let file_system = RepositoryFiles::new(directory);
    let name = path.file_name().and_then(|name| name.to_str()).expect("file name");
    let compiled = compile(&Location::local(name), &file_system, &Options { parameters, variables: Vec::new() });
    (
        render_all(&compiled.diagnostics, &compiled.sources),
        compiled.diagnostics.iter().map(|diagnostic| diagnostic.code).collect(),
    )
}

#[test]
fn every_fixture_renders_its_code_exactly() {
    insta::glob!("../fixtures/diagnostics", "*.yml", |path| {
        let (rendered, codes) = render_fixture(path);
        let stem = path.file_stem().and_then(|stem| stem.to_str()).expect("stem");
        let code = stem.split('-').next().expect("code prefix");
        assert!(codes.contains(&code), "fixture {stem} should raise {code}, got {codes:?}:\n{rendered}");
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn every_documented_code_has_a_fixture() {
    let document =
        std::fs::read_to_string(crate::support::workspace().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    let fixtures: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics"))
            .expect("fixtures")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
    let mut missing = Vec::new();
    for line in document.lines() {
        let Some(code) = line.strip_prefix("| `").and_then(|rest| rest.split('`').next()) else { continue };
        if code.starts_with('Y') || code.starts_with('R') || code.starts_with('E') {
            // YAML loader codes are pinned by slipway-yaml's own snapshot tests, run codes by the
            // CLI's transcript snapshots; `E` codes are Slipway's own failures, which no pipeline
            // should be able to cause.
            continue;
        }
        if !fixtures.iter().any(|fixture| fixture.starts_with(&format!("{code}-"))) {
            missing.push(code.to_owned());
        }
    }
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}
