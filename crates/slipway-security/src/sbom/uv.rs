//! uv's `uv.lock` (lockfile `version = 1`), read with the `toml` crate (errors at their line and
//! column).
//!
//! Each `[[package]]` is a component `pkg:pypi/NAME@VERSION` (the name in PEP 503's normal
//! form), with the `sha256:` hashes of its `sdist` and `wheels`, from where its `source` says:
//! a `registry` (its index), `git` (the address with its commit), a direct `url`, or a `path`,
//! `directory`, `editable` or `virtual` one beside the lockfile. Its `dependencies`,
//! `optional-dependencies` and `dev-dependencies` are resolved by name (and by version and source
//! where uv writes them, because more than one is locked). The project's own packages (the
//! `editable` and `virtual` ones: the workspace's members) are its direct dependencies, as
//! `path` components; a package reached only through a member's `dev-dependencies` is
//! development-only. A lockfile without a member takes the packages nothing depends on as the
//! direct ones. A package without a version (a dynamic one) is reported as skipped.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{
    Component, Lockfile, Origin, SbomError, SkippedLine, line_at, merge, prefixed_hash, pypi, pypi_component, roots,
    toml_invalid,
};

const HINT: &str = "regenerate it with `uv lock`";

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: Vec<RawDependency>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<RawDependency>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<RawDependency>>,
    sdist: Option<RawFile>,
    #[serde(default)]
    wheels: Vec<RawFile>,
}

#[derive(Deserialize)]
struct RawDependency {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawFile {
    hash: Option<String>,
}

/// Reads a `uv.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a TOML mistake or a missing or mistyped field.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = toml::from_str(text).map_err(|error| toml_invalid(file, text, &error, "uv.lock", HINT))?;
    let mut lockfile = Lockfile::default();
    // Each locked package's component, in the lockfile's order, and the places of each name.
    let mut built: Vec<Option<Component>> = Vec::new();
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, package) in raw.package.iter().enumerate() {
        by_name.entry(pypi::normalise(&package.name)).or_default().push(index);
        let Some(version) = &package.version else {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: package_line(text, &package.name),
                reason: format!("`{}` has no version (a dynamic one), so it has no purl", package.name),
            });
            built.push(None);
            continue;
        };
        let mut hashes = Vec::new();
        for hash in package
            .sdist
            .iter()
            .chain(&package.wheels)
            .filter_map(|file| file.hash.as_deref())
            .filter_map(prefixed_hash)
        {
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
        }
        built.push(Some(pypi_component(&package.name, version, origin(&package.source), hashes)));
    }
    let find = |dependency: &RawDependency| -> Option<usize> {
        by_name.get(&pypi::normalise(&dependency.name))?.iter().copied().find(|&index| {
            let candidate = &raw.package[index];
            dependency.version.as_ref().is_none_or(|version| candidate.version.as_ref() == Some(version))
                && (dependency.source.is_empty() || dependency.source == candidate.source)
        })
    };
    let purl_of = |index: usize| built.get(index).and_then(Option::as_ref).map(|component| component.purl.clone());
    let members: Vec<usize> = raw
        .package
        .iter()
        .enumerate()
        .filter(|(_, package)| package.source.contains_key("editable") || package.source.contains_key("virtual"))
        .map(|(index, _)| index)
        .collect();
    // What is reached from the members without their development groups.
    let mut runtime: BTreeSet<usize> = BTreeSet::new();
    let mut stack = members.clone();
    while let Some(index) = stack.pop() {
        if !runtime.insert(index) {
            continue;
        }
        let package = &raw.package[index];
        stack.extend(
            package.dependencies.iter().chain(package.optional_dependencies.values().flatten()).filter_map(&find),
        );
    }
    let mut components = BTreeMap::new();
    for (index, package) in raw.package.iter().enumerate() {
        let Some(mut component) = built.get(index).cloned().flatten() else { continue };
        let all = package
            .dependencies
            .iter()
            .chain(package.optional_dependencies.values().flatten())
            .chain(package.dev_dependencies.values().flatten());
        for dependency in all {
            match find(dependency) {
                Some(found) => component.depends_on.extend(purl_of(found)),
                None => lockfile.skipped.push(SkippedLine {
                    file: file.to_owned(),
                    line: package_line(text, &package.name),
                    reason: format!("{}'s dependency `{}` is not locked", component.name, dependency.name),
                }),
            }
        }
        component.development = !members.is_empty() && !runtime.contains(&index);
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    lockfile.inferred_direct = members.is_empty();
    lockfile.direct = if members.is_empty() {
        roots(&lockfile.components)
    } else {
        let mut direct: Vec<String> = members.iter().filter_map(|&index| purl_of(index)).collect();
        // A member without a version is not a component: what it depends on is direct instead.
        for &index in members.iter().filter(|&&index| purl_of(index).is_none()) {
            let package = &raw.package[index];
            direct.extend(
                package
                    .dependencies
                    .iter()
                    .chain(package.optional_dependencies.values().flatten())
                    .chain(package.dev_dependencies.values().flatten())
                    .filter_map(&find)
                    .filter_map(purl_of),
            );
        }
        direct.sort();
        direct.dedup();
        direct
    };
    Ok(lockfile)
}

/// Where a package's `source` says it comes from.
fn origin(source: &BTreeMap<String, String>) -> Origin {
    for (kind, location) in source {
        match kind.as_str() {
            "registry" | "url" => return Origin::Registry(location.clone()),
            "git" => return Origin::Git(format!("git+{location}")),
            "path" | "directory" | "editable" | "virtual" => return Origin::Path(location.clone()),
            _ => {}
        }
    }
    Origin::Registry(String::new())
}

/// The line of the package `name`'s `name = ` line (1 when it cannot be found).
fn package_line(text: &str, name: &str) -> usize {
    line_at(text, text.find(&format!("\nname = \"{name}\"")).map_or(0, |offset| offset + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/d8/53/6f443c9a4a8358a93a6792e2acffb9d9d5cb0a5cfd8802644b7b1c9a02e4/colorama-0.4.6.tar.gz", hash = "sha256:08695f5cb7ed6e0531a20572697297273c47b8cae5a63ffc6d6ed5c201be6e44", size = 27697 }
wheels = [
    { url = "https://files.pythonhosted.org/packages/d1/d6/3965ed04c63042e047cb6a3e6ed1a63a35087b6a609aa3a15ed8ac56c221/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6", size = 25335 },
]

[[package]]
name = "polars"
version = "1.32.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.4.1"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "colorama", marker = "sys_platform == 'win32'" },
    { name = "six", version = "1.17.0", source = { registry = "https://pypi.org/simple" } },
]

[[package]]
name = "six"
version = "1.16.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "six"
version = "1.17.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "test-pkg"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "polars" },
    { name = "toolbelt" },
]

[package.dev-dependencies]
dev = [
    { name = "pytest" },
]

[[package]]
name = "toolbelt"
version = "1.0.0"
source = { git = "https://github.com/requests/toolbelt?rev=main#c73ad2c204a2e0cd5617a836ac536d5e06778ab0" }
dependencies = [
    { name = "six", version = "1.16.0", source = { registry = "https://pypi.org/simple" } },
]
"#;

    #[test]
    fn packages_sources_members_and_development_groups() {
        let lock = read("uv.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:pypi/colorama@0.4.6",
                "pkg:pypi/polars@1.32.3",
                "pkg:pypi/pytest@8.4.1",
                "pkg:pypi/six@1.16.0",
                "pkg:pypi/six@1.17.0",
                "pkg:pypi/test-pkg@0.1.0",
                "pkg:pypi/toolbelt@1.0.0",
            ]
        );
        assert_eq!(lock.components[0].hashes.len(), 2);
        assert_eq!(lock.components[2].depends_on, ["pkg:pypi/colorama@0.4.6", "pkg:pypi/six@1.17.0"]);
        assert_eq!(lock.components[6].depends_on, ["pkg:pypi/six@1.16.0"]);
        assert_eq!(lock.components[6].origin.kind(), "git");
        assert_eq!(lock.components[5].origin, Origin::Path(".".to_owned()));
        assert_eq!(
            lock.components[5].depends_on,
            ["pkg:pypi/polars@1.32.3", "pkg:pypi/pytest@8.4.1", "pkg:pypi/toolbelt@1.0.0"]
        );
        let development: Vec<&str> =
            lock.components.iter().filter(|c| c.development).map(|c| c.name.as_str()).collect();
        assert_eq!(development, ["colorama", "pytest", "six"]);
        assert_eq!(lock.direct, ["pkg:pypi/test-pkg@0.1.0"]);
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    #[test]
    fn malformed_lockfiles_and_dynamic_versions() {
        let error = read("uv.lock", "version = 1\n\n[[package]]\nversion = \"1.0\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("uv.lock:3:1: not a valid uv.lock: missing field `name`"), "{error}");
        let lock = read("uv.lock", "version = 1\n\n[[package]]\nname = \"app\"\nsource = { editable = \".\" }\n")
            .unwrap_or_else(|error| panic!("{error}"));
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(skipped, ["uv.lock:4: `app` has no version (a dynamic one), so it has no purl"]);
    }
}
