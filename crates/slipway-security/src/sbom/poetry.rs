//! Poetry's `poetry.lock` (lock-version 1.x and 2.x), read with the `toml` crate (errors at their
//! line and column).
//!
//! Each `[[package]]` is a component `pkg:pypi/NAME@VERSION` (the name in PEP 503's normal
//! form), with the `sha256:` hashes of its `files` (lock-version 2) or of `[metadata.files]`
//! (lock-version 1), from where its `[package.source]` says (PyPI when it names none; a `git`
//! source at its resolved commit; a `directory` or `file` source beside the lockfile). Its
//! `[package.dependencies]` are resolved by normal name to the packages of the lockfile (every
//! version of that name, when markers lock more than one). A package is development-only when
//! its `category` is `dev` (lock-version 1) or its `groups` do not include `main` (Poetry 2).
//! The lockfile does not record the project's own dependencies: the `pyproject.toml` beside it
//! names them when there is one (`[project]`'s dependencies and optional ones,
//! `[dependency-groups]`, `[tool.poetry]`'s dependencies and groups), else the packages no other
//! package depends on are taken as its direct ones.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    Hash, Lockfile, Origin, PYPI, SbomError, SkippedLine, line_at, merge, prefixed_hash, pypi, pypi_component, roots,
    toml_invalid,
};

const HINT: &str = "regenerate it with `poetry lock`";

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
    metadata: Option<RawMetadata>,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default)]
    files: BTreeMap<String, Vec<RawFile>>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    category: Option<String>,
    groups: Option<Vec<String>>,
    #[serde(default)]
    files: Vec<RawFile>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    source: Option<RawSource>,
}

#[derive(Deserialize)]
struct RawFile {
    hash: Option<String>,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    resolved_reference: Option<String>,
    reference: Option<String>,
}

/// Reads a `poetry.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a TOML mistake or a missing or mistyped field.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = toml::from_str(text).map_err(|error| toml_invalid(file, text, &error, "poetry.lock", HINT))?;
    let metadata_files = raw.metadata.map(|metadata| metadata.files).unwrap_or_default();
    let metadata_files: BTreeMap<String, &Vec<RawFile>> =
        metadata_files.iter().map(|(name, files)| (pypi::normalise(name), files)).collect();
    // Every version locked of each normal name.
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in &raw.package {
        let component = pypi_component(&package.name, &package.version, Origin::Path(String::new()), Vec::new());
        by_name.entry(component.name).or_default().push(component.purl);
    }
    let mut lockfile = Lockfile::default();
    let mut components = BTreeMap::new();
    for package in &raw.package {
        let origin = match &package.source {
            None => Origin::Registry(PYPI.to_owned()),
            Some(source) => {
                let url = source.url.clone().unwrap_or_default();
                match source.kind.as_str() {
                    "git" => {
                        let revision = source.resolved_reference.as_ref().or(source.reference.as_ref());
                        Origin::Git(match revision {
                            Some(revision) => format!("git+{url}#{revision}"),
                            None => format!("git+{url}"),
                        })
                    }
                    "directory" | "file" => Origin::Path(url),
                    _ => Origin::Registry(url),
                }
            }
        };
        let files = if package.files.is_empty() {
            metadata_files.get(&pypi::normalise(&package.name)).copied().map_or(&[][..], Vec::as_slice)
        } else {
            package.files.as_slice()
        };
        let mut hashes: Vec<Hash> = Vec::new();
        for hash in files.iter().filter_map(|file| file.hash.as_deref()).filter_map(prefixed_hash) {
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        let mut component = pypi_component(&package.name, &package.version, origin, hashes);
        for dependency in package.dependencies.keys() {
            match by_name.get(&pypi::normalise(dependency)) {
                Some(purls) => component.depends_on.extend(purls.iter().cloned()),
                None => lockfile.skipped.push(SkippedLine {
                    file: file.to_owned(),
                    line: dependency_line(text, &package.name, dependency),
                    reason: format!(
                        "{}'s dependency `{dependency}` is not locked (an extra's, or for another platform)",
                        component.name
                    ),
                }),
            }
        }
        component.development = match (&package.groups, &package.category) {
            (Some(groups), _) => !groups.iter().any(|group| group == "main"),
            (None, Some(category)) => category == "dev",
            (None, None) => false,
        };
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct = roots(&lockfile.components);
    lockfile.inferred_direct = true;
    Ok(lockfile)
}

/// The line of `dependency` in the `[package.dependencies]` of the package `name` (that
/// package's `name = ` line when it cannot be found).
fn dependency_line(text: &str, name: &str, dependency: &str) -> usize {
    let start = text.find(&format!("name = \"{name}\"")).unwrap_or(0);
    let rest = &text[start..];
    let end = rest.get(1..).and_then(|after| after.find("[[package]]")).map_or(rest.len(), |index| index + 1);
    let section = &rest[..end];
    let offset = section
        .find("[package.dependencies]")
        .and_then(|table| {
            section[table..]
                .lines()
                .scan(table, |offset, line| {
                    let here = *offset;
                    *offset += line.len() + 1;
                    Some((here, line))
                })
                .find(|(_, line)| line.split('=').next().is_some_and(|key| key.trim().trim_matches('"') == dependency))
                .map(|(offset, _)| offset)
        })
        .unwrap_or(0);
    line_at(text, start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2025.1.31"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.6"
groups = ["main"]
files = [
    {file = "certifi-2025.1.31-py3-none-any.whl", hash = "sha256:ca78db4565a652026a4db2bcdf68f2fb589ea80d0be70e03929ed730746b84fe"},
    {file = "certifi-2025.1.31.tar.gz", hash = "sha256:3d5da6925056f6f18f119200434a4780a94263f10d1c21d032a6f6b2baa20651"},
]

[[package]]
name = "iniconfig"
version = "2.0.0"
description = "brain-dead simple config-ini parsing"
optional = false
python-versions = ">=3.7"
groups = ["dev"]
files = [
    {file = "iniconfig-2.0.0-py3-none-any.whl", hash = "sha256:b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374"},
]

[[package]]
name = "pytest"
version = "8.3.4"
description = "pytest: simple powerful testing with Python"
optional = false
python-versions = ">=3.8"
groups = ["dev"]
files = []

[package.dependencies]
colorama = {version = "*", markers = "sys_platform == \"win32\""}
iniconfig = "*"

[[package]]
name = "Requests_Toolbelt"
version = "1.0.0"
description = "A utility belt for advanced users of python-requests"
optional = false
python-versions = "*"
groups = ["main"]
files = []
develop = false

[package.dependencies]
certifi = ">=2017.4.17"

[package.source]
type = "git"
url = "https://github.com/requests/toolbelt.git"
reference = "HEAD"
resolved_reference = "c73ad2c204a2e0cd5617a836ac536d5e06778ab0"

[metadata]
lock-version = "2.1"
python-versions = "^3.11"
content-hash = "0c8bbc9ee9bc2bcf4e26ddba3e2f1fa1bd8ffb08b3d2f4a5d5b1e6c4f7e8a9b0"
"#;

    #[test]
    fn packages_hashes_sources_groups_and_dependencies() {
        let lock = read("poetry.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:pypi/certifi@2025.1.31",
                "pkg:pypi/iniconfig@2.0.0",
                "pkg:pypi/pytest@8.3.4",
                "pkg:pypi/requests-toolbelt@1.0.0"
            ]
        );
        assert_eq!(lock.components[0].hashes.len(), 2);
        assert_eq!(lock.components[0].hashes[0].algorithm, "SHA-256");
        assert_eq!(lock.components[0].origin, Origin::Registry(PYPI.to_owned()));
        assert!(!lock.components[0].development && lock.components[1].development);
        assert_eq!(lock.components[2].depends_on, ["pkg:pypi/iniconfig@2.0.0"]);
        assert_eq!(
            lock.components[3].origin,
            Origin::Git(
                "git+https://github.com/requests/toolbelt.git#c73ad2c204a2e0cd5617a836ac536d5e06778ab0".to_owned()
            )
        );
        assert_eq!(lock.direct, ["pkg:pypi/pytest@8.3.4", "pkg:pypi/requests-toolbelt@1.0.0"]);
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            ["poetry.lock:36: pytest's dependency `colorama` is not locked (an extra's, or for another platform)"]
        );
    }

    #[test]
    fn lock_version_1_keeps_hashes_in_metadata_and_dev_in_category() {
        let text = "[[package]]\nname = \"six\"\nversion = \"1.16.0\"\ncategory = \"dev\"\noptional = false\n\
                    python-versions = \"*\"\n\n[metadata]\nlock-version = \"1.1\"\n\n[metadata.files]\nsix = [\n    \
                    {file = \"six-1.16.0.tar.gz\", hash = \"sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926\"},\n]\n";
        let lock = read("poetry.lock", text).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(lock.components.len(), 1);
        assert!(lock.components[0].development);
        assert_eq!(
            lock.components[0].hashes[0].hex,
            "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"
        );
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = read("poetry.lock", "[[package]]\nname = \"six\"\nversion = 1\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("poetry.lock:3:11: not a valid poetry.lock: invalid type: integer `1`"), "{error}");
        assert!(error.contains("help: regenerate it with `poetry lock`"), "{error}");
        let error = read("poetry.lock", "[[package]]\nname = \"six\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("poetry.lock:2:"), "{error}");
    }
}
