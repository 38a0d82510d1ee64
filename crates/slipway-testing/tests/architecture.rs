//! ARCHITECTURE.md's table of crates is the truth about the workspace's layers: every crate has a
//! row, and the Slipway crates each one depends on (its `[dependencies]`, not dev-dependencies)
//! are exactly those its row names. A new dependency between crates is a decision to write down,
//! not an accident.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The table's rows: each crate and the crates it may depend on.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `crate` | what it is for | may depend on |
        let [_, name, _, allowed, _] = cells.as_slice() else { continue };
        let Some(name) = name.strip_prefix('`').and_then(|name| name.strip_suffix('`')) else { continue };
        if !name.starts_with("slipway-") {
            continue;
        }
        let allowed: BTreeSet<String> = allowed
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|part| part.starts_with("slipway-"))
            .map(str::to_owned)
            .collect();
        assert!(rows.insert(name.to_owned(), allowed).is_none(), "ARCHITECTURE.md has two rows for {name}");
    }
    rows
}

/// Each crate of the workspace and the Slipway crates in its `[dependencies]`.
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(workspace().join("crates")).expect("crates/") {
        let manifest = entry.expect("an entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let parsed: toml::Table = text.parse().unwrap_or_else(|error| panic!("{}: {error}", manifest.display()));
        let name = parsed["package"]["name"].as_str().expect("a package name").to_owned();
        let dependencies = parsed
            .get("dependencies")
            .and_then(toml::Value::as_table)
            .map(|table| table.keys().filter(|key| key.starts_with("slipway-")).cloned().collect())
            .unwrap_or_default();
        crates.insert(name, dependencies);
    }
    crates
}

#[test]
fn every_crate_depends_on_exactly_what_architecture_md_says() {
    let (documented, actual) = (documented(), actual());
    let mut problems = Vec::new();
    for (name, dependencies) in &actual {
        match documented.get(name) {
            None => problems.push(format!("{name} has no row in ARCHITECTURE.md")),
            Some(allowed) => {
                for extra in dependencies.difference(allowed) {
                    problems.push(format!("{name} depends on {extra}, which its row does not allow"));
                }
                for unused in allowed.difference(dependencies) {
                    problems.push(format!("{name}'s row names {unused}, which it does not depend on"));
                }
            }
        }
    }
    for name in documented.keys().filter(|name| !actual.contains_key(*name)) {
        problems.push(format!("ARCHITECTURE.md has a row for {name}, which is not a crate"));
    }
    assert!(problems.is_empty(), "ARCHITECTURE.md and the crates disagree:\n{}", problems.join("\n"));
}
