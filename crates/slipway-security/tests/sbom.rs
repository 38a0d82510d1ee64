//! SBOMs from lockfiles: every BOM valid against the official CycloneDX 1.6 JSON schema (with the
//! SPDX licence list and JSF schemas it references registered offline), and this repository's
//! own `Cargo.lock` checked against `cargo metadata`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_security::sbom::{self, cyclonedx, spdx};
use slipway_testing::schemas::{cyclonedx_errors as schema_errors, spdx_errors};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn a_fixture_project_is_a_valid_cyclonedx_1_6_bom() {
    let inventory = sbom::inventory(&fixtures().join("sbom")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(inventory.lockfiles.len(), 3);
    assert_eq!(inventory.components.len(), 3 + 3 + 2);
    assert_eq!(inventory.skipped.len(), 1);
    let bom = cyclonedx::to_json(&inventory, &sbom::BomInfo::now());
    assert_eq!(schema_errors(&bom), Vec::<String>::new());
    assert_eq!(bom["specVersion"], "1.6");
    // Every reference in dependencies is a component or the project.
    let mut refs: Vec<String> = bom["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|component| component["bom-ref"].as_str().map(str::to_owned))
        .collect();
    refs.push(cyclonedx::project_ref(&inventory));
    for dependency in bom["dependencies"].as_array().into_iter().flatten() {
        for target in dependency["dependsOn"].as_array().into_iter().flatten() {
            assert!(refs.iter().any(|known| Some(known.as_str()) == target.as_str()), "{target} is not a component");
        }
    }
}

#[test]
fn a_fixture_project_is_a_valid_spdx_2_3_document() {
    let inventory = sbom::inventory(&fixtures().join("sbom")).unwrap_or_else(|error| panic!("{error}"));
    let document = spdx::to_json(&inventory, &sbom::BomInfo::now());
    assert_eq!(spdx_errors(&document), Vec::<String>::new());
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    // What the schema does not check: SPDX ids' form, and that relationships name packages.
    let id = is_spdx_id();
    let packages = document["packages"].as_array().cloned().unwrap_or_default();
    assert_eq!(packages.len(), 1 + inventory.components.len());
    let mut ids = vec!["SPDXRef-DOCUMENT".to_owned()];
    for package in &packages {
        let spdx_id = package["SPDXID"].as_str().unwrap_or_default();
        assert!(id(spdx_id), "{spdx_id}");
        ids.push(spdx_id.to_owned());
    }
    let relationships = document["relationships"].as_array().cloned().unwrap_or_default();
    let edges: usize =
        inventory.components.iter().map(|c| c.depends_on.len()).sum::<usize>() + inventory.direct.len() + 1;
    assert_eq!(relationships.len(), edges);
    for relationship in &relationships {
        for end in ["spdxElementId", "relatedSpdxElement"] {
            let name = relationship[end].as_str().unwrap_or_default();
            assert!(ids.iter().any(|known| known == name), "{name} is not an element");
        }
    }
    let serde = packages.iter().find(|package| package["name"] == "serde").cloned().unwrap_or_default();
    assert_eq!(serde["downloadLocation"], "https://crates.io/api/v1/crates/serde/1.0.219/download");
    assert_eq!(serde["externalRefs"][0]["referenceLocator"], "pkg:cargo/serde@1.0.219");
    let document_namespace = document["documentNamespace"].as_str().unwrap_or_default();
    assert!(document_namespace.starts_with("https://spdx.org/spdxdocs/slipway-sbom-"), "{document_namespace}");
}

/// SPDX 2.3's form of an element id: `SPDXRef-` and letters, digits, `.` and `-`.
fn is_spdx_id() -> impl Fn(&str) -> bool {
    |id: &str| {
        id.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    }
}

#[test]
fn the_schema_test_catches_a_broken_bom() {
    let inventory = sbom::inventory(&fixtures().join("sbom/Cargo.lock")).unwrap_or_else(|error| panic!("{error}"));
    let mut bom = cyclonedx::to_json(&inventory, &sbom::BomInfo::now());
    bom["serialNumber"] = "not-a-urn".into();
    bom["components"][0]["type"] = "lib".into();
    assert_eq!(schema_errors(&bom).len(), 2, "{:?}", schema_errors(&bom));
    let mut document = spdx::to_json(&inventory, &sbom::BomInfo::now());
    document.as_object_mut().map(|object| object.remove("dataLicense"));
    document["packages"][2]["checksums"][0]["algorithm"] = "SHA-256".into();
    assert_eq!(spdx_errors(&document).len(), 2, "{:?}", spdx_errors(&document));
}

/// The workspace's root: two levels above this crate.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn this_repositorys_cargo_lock_matches_cargo_metadata() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // Offline when the registry's cache has every package's manifest (all platforms'), else
    // cargo fetches what it lacks.
    let metadata = |offline: bool| {
        Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--locked"])
            .args(offline.then_some("--offline"))
            .current_dir(workspace())
            .output()
            .unwrap_or_else(|error| panic!("cargo metadata: {error}"))
    };
    let output = Some(metadata(true)).filter(|output| output.status.success()).unwrap_or_else(|| metadata(false));
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}"));
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if package["source"]
            .as_str()
            .is_some_and(|source| source.starts_with("registry+") || source.starts_with("sparse+"))
        {
            let key = (
                package["name"].as_str().unwrap_or_default().to_owned(),
                package["version"].as_str().unwrap_or_default().to_owned(),
            );
            *expected.entry(key).or_default() += 1;
        }
    }

    let inventory = sbom::inventory(&workspace().join("Cargo.lock")).unwrap_or_else(|error| panic!("{error}"));
    let bom = cyclonedx::to_json(&inventory, &sbom::BomInfo::now());
    assert_eq!(schema_errors(&bom), Vec::<String>::new());
    let mut found: BTreeMap<(String, String), usize> = BTreeMap::new();
    for component in bom["components"].as_array().into_iter().flatten() {
        let registry = component["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|property| property["name"] == "slipway:source" && property["value"] == "registry");
        if registry {
            let key = (
                component["name"].as_str().unwrap_or_default().to_owned(),
                component["version"].as_str().unwrap_or_default().to_owned(),
            );
            *found.entry(key).or_default() += 1;
        }
    }
    let total: usize = found.values().sum();
    eprintln!(
        "cargo metadata: {} registry packages; SBOM: {total} registry components of {} in all",
        expected.len(),
        inventory.components.len()
    );
    assert!(expected.values().all(|&count| count == 1), "cargo metadata lists a package twice");
    assert!(found.values().all(|&count| count == 1), "the SBOM has a registry component twice");
    let missing: Vec<_> = expected.keys().filter(|key| !found.contains_key(*key)).collect();
    let extra: Vec<_> = found.keys().filter(|key| !expected.contains_key(*key)).collect();
    assert!(missing.is_empty(), "missing from the SBOM: {missing:?}");
    assert!(extra.is_empty(), "in the SBOM but not in cargo metadata: {extra:?}");
    assert!(expected.len() > 100, "only {} registry packages", expected.len());
}

/// Each reader's fixture (`tests/fixtures/sbom/DIR/LOCKFILE`): the components it holds, each a
/// valid CycloneDX 1.6 BOM and a valid SPDX 2.3 document, every dependency a component.
#[test]
fn every_lockfile_format_makes_valid_cyclonedx_and_spdx_documents() {
    let cases: &[(&str, &str, usize)] = &[
        ("npm-v1", "package-lock.json", 8),
        ("poetry", "poetry.lock", 4),
        ("uv", "uv.lock", 7),
        ("pipenv", "Pipfile.lock", 4),
        ("yarn-v1", "yarn.lock", 4),
        ("yarn-berry", "yarn.lock", 4),
        ("pnpm-v9", "pnpm-lock.yaml", 6),
        ("pnpm-v6", "pnpm-lock.yaml", 5),
        ("composer", "composer.lock", 4),
        ("nuget", "packages.lock.json", 3),
        ("bundler", "Gemfile.lock", 7),
        ("go", "go.mod", 5),
    ];
    for &(dir, lockfile, count) in cases {
        let path = fixtures().join("sbom").join(dir).join(lockfile);
        let inventory = sbom::inventory(&path).unwrap_or_else(|error| panic!("{dir}: {error}"));
        assert_eq!(inventory.components.len(), count, "{dir}: {:?}", inventory.components);
        assert!(!inventory.direct.is_empty(), "{dir}: no direct dependency");
        let purls: Vec<&str> = inventory.components.iter().map(|c| c.purl.as_str()).collect();
        for component in &inventory.components {
            assert!(component.purl.starts_with("pkg:"), "{dir}: {}", component.purl);
            for target in &component.depends_on {
                assert!(purls.contains(&target.as_str()), "{dir}: {target} is not a component");
            }
        }
        let info = sbom::BomInfo::now();
        let bom = cyclonedx::to_json(&inventory, &info);
        assert_eq!(schema_errors(&bom), Vec::<String>::new(), "{dir}: CycloneDX");
        let document = spdx::to_json(&inventory, &info);
        assert_eq!(spdx_errors(&document), Vec::<String>::new(), "{dir}: SPDX");
        let locations: Vec<&str> = document["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["downloadLocation"].as_str())
            .collect();
        assert!(
            locations.iter().all(|location| *location == "NOASSERTION" || location.contains("://")),
            "{dir}: {locations:?}"
        );
        // The directory is read too, the lockfile found by its name.
        let from_dir = sbom::inventory(&fixtures().join("sbom").join(dir)).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(from_dir.components, inventory.components, "{dir}");
    }
}

/// Where SPDX says the new ecosystems' packages are downloaded from.
#[test]
fn download_locations_of_go_gem_and_nuget_packages() {
    let info = sbom::BomInfo::now();
    let location = |dir: &str, name: &str| -> String {
        let inventory = sbom::inventory(&fixtures().join("sbom").join(dir)).unwrap_or_else(|error| panic!("{error}"));
        let document = spdx::to_json(&inventory, &info);
        let packages = document["packages"].as_array().cloned().unwrap_or_default();
        let package = packages.iter().find(|package| package["name"] == name).cloned().unwrap_or_default();
        package["downloadLocation"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        location("go", "github.com/BurntSushi/toml"),
        "https://proxy.golang.org/github.com/!burnt!sushi/toml/@v/v1.3.2.zip"
    );
    assert_eq!(location("bundler", "rake"), "https://rubygems.org/downloads/rake-13.1.0.gem");
    assert_eq!(
        location("nuget", "Newtonsoft.Json"),
        "https://api.nuget.org/v3-flatcontainer/newtonsoft.json/13.0.3/newtonsoft.json.13.0.3.nupkg"
    );
    assert_eq!(
        location("yarn-berry", "left-pad"),
        "git+https://github.com/left-pad/left-pad.git@5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29"
    );
    assert_eq!(location("pnpm-v9", "js-tokens"), "https://registry.npmjs.org/js-tokens/-/js-tokens-4.0.0.tgz");
}

/// Bad input is an error or a smaller inventory, never a panic: every reader is given every
/// prefix of its fixture (cut at each line and mid-line) and the fixture with each line dropped
/// or doubled.
#[test]
fn no_reader_panics_on_truncated_or_mangled_lockfiles() {
    use slipway_security::sbom::{composer, gem, golang, npm, nuget, pipfile, pnpm, poetry, uv, yarn};
    type Reader = fn(&str, &str) -> Result<sbom::Lockfile, sbom::SbomError>;
    let go: Reader = |file, text| golang::read(file, text, Some(("go.sum", text)));
    let cases: &[(&str, &str, Reader)] = &[
        ("npm-v1", "package-lock.json", npm::read),
        ("poetry", "poetry.lock", poetry::read),
        ("uv", "uv.lock", uv::read),
        ("pipenv", "Pipfile.lock", pipfile::read),
        ("yarn-v1", "yarn.lock", yarn::read),
        ("yarn-berry", "yarn.lock", yarn::read),
        ("pnpm-v9", "pnpm-lock.yaml", pnpm::read),
        ("pnpm-v6", "pnpm-lock.yaml", pnpm::read),
        ("composer", "composer.lock", composer::read),
        ("nuget", "packages.lock.json", nuget::read),
        ("bundler", "Gemfile.lock", gem::read),
        ("go", "go.mod", go),
        ("go", "go.sum", go),
    ];
    let mut tried = 0;
    for &(dir, lockfile, read) in cases {
        let path = fixtures().join("sbom").join(dir).join(lockfile);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let lines: Vec<&str> = text.lines().collect();
        let mut variants: Vec<String> = Vec::new();
        let mut end = 0;
        for line in &lines {
            variants.push(text[..end].to_owned());
            let middle = (0..=line.len() / 2).rev().find(|&cut| line.is_char_boundary(cut)).unwrap_or(0);
            variants.push(format!("{}{}", &text[..end], &line[..middle]));
            end += line.len() + 1;
        }
        for index in 0..lines.len() {
            let mut dropped = lines.clone();
            dropped.remove(index);
            variants.push(dropped.join("\n"));
            let mut doubled = lines.clone();
            doubled.insert(index, lines[index]);
            variants.push(doubled.join("\n"));
            let mut unindented = lines.clone();
            unindented[index] = lines[index].trim_start();
            variants.push(unindented.join("\n"));
        }
        for variant in &variants {
            let outcome = std::panic::catch_unwind(|| read(lockfile, variant));
            assert!(outcome.is_ok(), "{dir}/{lockfile} panicked on:\n{variant}");
            tried += 1;
        }
    }
    assert!(tried > 1000, "only {tried} variants");
}

/// A lockfile that does not record the project's own dependencies takes them from the manifest
/// beside it (`package.json`, `composer.json`); Yarn 1 then knows what only development reaches.
#[test]
fn direct_dependencies_come_from_the_manifest_beside_the_lockfile() {
    let yarn =
        sbom::read_lockfile(&fixtures().join("sbom/yarn-v1/yarn.lock")).unwrap_or_else(|error| panic!("{error}"));
    assert!(!yarn.inferred_direct);
    assert_eq!(yarn.direct, ["pkg:npm/%40babel/code-frame@7.12.13", "pkg:npm/string-width@4.2.3"]);
    let development: Vec<&str> = yarn.components.iter().filter(|c| c.development).map(|c| c.purl.as_str()).collect();
    assert_eq!(development, ["pkg:npm/string-width@4.2.3"]);
    let composer =
        sbom::read_lockfile(&fixtures().join("sbom/composer/composer.lock")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(composer.direct, ["pkg:composer/monolog/monolog@3.5.0", "pkg:composer/phpunit/php-timer@6.0.0"]);
    let poetry =
        sbom::read_lockfile(&fixtures().join("sbom/poetry/poetry.lock")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        poetry.direct,
        ["pkg:pypi/certifi@2025.1.31", "pkg:pypi/pytest@8.3.4", "pkg:pypi/requests-toolbelt@1.0.0"]
    );
    let pipenv =
        sbom::read_lockfile(&fixtures().join("sbom/pipenv/Pipfile.lock")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        pipenv.direct,
        [
            "pkg:pypi/iniconfig@2.0.0",
            "pkg:pypi/toolbelt@c73ad2c204a2e0cd5617a836ac536d5e06778ab0",
            "pkg:pypi/typing-extensions@4.12.2"
        ]
    );
    // Without a manifest: the packages nothing depends on.
    let npm = sbom::read_lockfile(&fixtures().join("sbom/npm-v1/package-lock.json"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(npm.inferred_direct);
}
