//! Pipenv's `Pipfile.lock` (JSON, `pipfile-spec` 6), read with `serde_json` (errors at its line
//! and column).
//!
//! Each package of `default` and of `develop` (and of any other category Pipenv writes) pinned to
//! one version (`"version": "==2.31.0"`) is a component `pkg:pypi/NAME@VERSION` (the name in
//! PEP 503's normal form) with its `sha256:` hashes, from the index its `index` names in
//! `_meta.sources` (PyPI otherwise); one pinned to a git revision is a `git` component at that
//! revision; a local path or an editable install is the project's own and is reported as
//! skipped. Only `develop` and other categories than `default` make a package
//! development-only. The lockfile has no dependency graph and does not tell the project's own
//! dependencies from the others: the `Pipfile` beside it names them when there is one (its
//! `packages` and `dev-packages`), else every component is taken as a direct one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Lockfile, Origin, PYPI, SbomError, SkippedLine, json_invalid, merge, prefixed_hash, pypi_component};

#[derive(Deserialize)]
struct RawMeta {
    #[serde(default)]
    sources: Vec<RawSource>,
}

#[derive(Deserialize)]
struct RawSource {
    name: String,
    url: String,
}

#[derive(Deserialize)]
struct RawPackage {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    index: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<String>,
    file: Option<String>,
}

/// Reads a `Pipfile.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a JSON mistake or a field of the wrong type.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let invalid =
        |error: serde_json::Error| json_invalid(file, &error, "Pipfile.lock", "regenerate it with `pipenv lock`");
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(invalid)?;
    let meta: Option<RawMeta> = raw
        .get("_meta")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|error| json_invalid(file, &error, "Pipfile.lock", "regenerate it with `pipenv lock`"))?;
    let sources: BTreeMap<String, String> =
        meta.map(|meta| meta.sources.into_iter().map(|source| (source.name, source.url)).collect()).unwrap_or_default();
    let mut lockfile = Lockfile::default();
    let mut components = BTreeMap::new();
    for (category, packages) in raw.iter().filter(|(key, _)| key.as_str() != "_meta") {
        let packages: BTreeMap<String, RawPackage> =
            serde_json::from_value(packages.clone()).map_err(|error| category_invalid(file, text, category, &error))?;
        for (name, package) in packages {
            let skip =
                |reason: String| SkippedLine { file: file.to_owned(), line: line_of(text, category, &name), reason };
            let (version, origin) = match (&package.version, &package.git) {
                (Some(version), _) => match version.strip_prefix("===").or_else(|| version.strip_prefix("==")) {
                    Some(pinned) if !pinned.contains('*') => {
                        let index = package.index.as_ref().and_then(|index| sources.get(index));
                        (pinned.trim().to_owned(), Origin::Registry(index.cloned().unwrap_or_else(|| PYPI.to_owned())))
                    }
                    _ => {
                        lockfile.skipped.push(skip(format!("`{name}` {version} is not pinned to one version")));
                        continue;
                    }
                },
                (None, Some(git)) => match &package.reference {
                    Some(reference) => (reference.clone(), Origin::Git(format!("git+{git}#{reference}"))),
                    None => {
                        lockfile.skipped.push(skip(format!("`{name}` is from git without a `ref`")));
                        continue;
                    }
                },
                (None, None) => {
                    let place = package
                        .path
                        .as_ref()
                        .or(package.file.as_ref())
                        .map_or_else(String::new, |place| format!(" ({place})"));
                    lockfile
                        .skipped
                        .push(skip(format!("`{name}`{place} has no version: a local package, the project's own")));
                    continue;
                }
            };
            let hashes = package.hashes.iter().filter_map(|hash| prefixed_hash(hash)).collect();
            let mut component = pypi_component(&name, &version, origin, hashes);
            component.development = category != "default";
            lockfile.direct.push(component.purl.clone());
            merge(&mut components, component);
        }
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct.sort();
    lockfile.direct.dedup();
    lockfile.inferred_direct = true;
    Ok(lockfile)
}

/// A mistake inside a category, at the category's place (`serde_json` values carry no place).
fn category_invalid(file: &str, text: &str, category: &str, error: &serde_json::Error) -> SbomError {
    super::invalid_at(
        file,
        text,
        text.find(&format!("\"{category}\"")).unwrap_or(0),
        format!("not a valid Pipfile.lock: in `{category}`: {error}"),
        Some("regenerate it with `pipenv lock`".to_owned()),
    )
}

/// The line of `"name"` inside the category `category` (1 when it cannot be found).
fn line_of(text: &str, category: &str, name: &str) -> usize {
    let start = text.find(&format!("\"{category}\"")).unwrap_or(0);
    let offset = text[start..].find(&format!("\"{name}\"")).map_or(start, |offset| start + offset);
    super::line_at(text, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_meta": {
        "hash": {
            "sha256": "5b2e4b2f0d5c3e4a1f6d8c9b0a7e6f5d4c3b2a1908f7e6d5c4b3a29180716253"
        },
        "pipfile-spec": 6,
        "requires": {
            "python_version": "3.11"
        },
        "sources": [
            {
                "name": "pypi",
                "url": "https://pypi.org/simple",
                "verify_ssl": true
            }
        ]
    },
    "default": {
        "certifi": {
            "hashes": [
                "sha256:3d5da6925056f6f18f119200434a4780a94263f10d1c21d032a6f6b2baa20651",
                "sha256:ca78db4565a652026a4db2bcdf68f2fb589ea80d0be70e03929ed730746b84fe"
            ],
            "index": "pypi",
            "markers": "python_version >= '3.6'",
            "version": "==2025.1.31"
        },
        "mylib": {
            "editable": true,
            "path": "."
        },
        "toolbelt": {
            "git": "https://github.com/requests/toolbelt.git",
            "ref": "c73ad2c204a2e0cd5617a836ac536d5e06778ab0"
        },
        "Typing_Extensions": {
            "hashes": [
                "sha256:04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d"
            ],
            "markers": "python_version >= '3.8'",
            "version": "==4.12.2"
        }
    },
    "develop": {
        "certifi": {
            "hashes": [],
            "version": "==2025.1.31"
        },
        "iniconfig": {
            "hashes": [
                "sha256:b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374"
            ],
            "index": "pypi",
            "version": "==2.0.0"
        }
    }
}
"#;

    #[test]
    fn default_and_develop_packages_with_hashes_git_and_local_ones() {
        let lock = read("Pipfile.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:pypi/certifi@2025.1.31",
                "pkg:pypi/iniconfig@2.0.0",
                "pkg:pypi/toolbelt@c73ad2c204a2e0cd5617a836ac536d5e06778ab0",
                "pkg:pypi/typing-extensions@4.12.2",
            ]
        );
        assert_eq!(lock.components[0].hashes.len(), 2);
        assert!(!lock.components[0].development, "in default and develop: not development-only");
        assert!(lock.components[1].development);
        assert_eq!(lock.components[2].origin.kind(), "git");
        assert_eq!(lock.direct.len(), 4);
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(skipped, ["Pipfile.lock:28: `mylib` (.) has no version: a local package, the project's own"]);
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = read("Pipfile.lock", "{\n  \"default\": {\n    \"six\": { \"version\": 1.16 }\n  }\n}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("Pipfile.lock:2:3: not a valid Pipfile.lock: in `default`: invalid type"), "{error}");
        let error = read("Pipfile.lock", "{\n  \"default\": {\n    \"six\": \n}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("Pipfile.lock:4:1: not a valid Pipfile.lock"), "{error}");
        assert!(error.contains("help: regenerate it with `pipenv lock`"), "{error}");
    }
}
