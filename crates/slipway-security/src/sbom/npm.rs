//! npm's `package-lock.json` and `npm-shrinkwrap.json`, lockfile versions 1, 2 and 3, read with
//! `serde_json` (errors at its line and column).
//!
//! Each installed package (a key with `node_modules/`) is a component `pkg:npm/NAME@VERSION`,
//! a scope encoded as purl's namespace (`pkg:npm/%40types/node@20.1.0`) and kept as the
//! component's group; the same name and version installed at several places is one component.
//! Dependencies (`dependencies`, `optionalDependencies`, `peerDependencies`, and
//! `devDependencies`, which only the root and workspace packages list) are resolved as
//! Node does: the nearest `node_modules` up from the dependent; links (`"link": true`) lead to
//! their target; one that is not installed (an optional dependency for another platform) is left
//! out. The root's dependencies and the workspace's own packages are the project's direct ones.
//!
//! Version 1 lockfiles (npm 5 and 6) have no `packages` map but a tree of `dependencies`, each
//! with the packages nested under it; a package's `requires` are resolved as Node does, from its
//! own nested `dependencies` up to the top. An alias (`"version": "npm:real@1.0.0"`) is the real
//! package; a git dependency's version is its commit. Version 1 does not record the project's
//! own dependencies: the `package.json` beside the lockfile names them when there is one (see
//! [`super::read_lockfile`]), else the top-level packages that no other package requires are
//! taken as its direct ones. A local package (`file:`) is reported as skipped.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::{
    Component, Ecosystem, Hash, Lockfile, Origin, SbomError, SkippedLine, hex, invalid_at, json_invalid, merge,
    purl_encode, roots,
};

#[derive(Deserialize)]
struct RawLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde_json::Value>,
    packages: Option<BTreeMap<String, RawPackage>>,
    dependencies: Option<BTreeMap<String, V1Package>>,
}

/// A package of a version 1 lockfile, with those nested under it.
#[derive(Deserialize)]
struct V1Package {
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    requires: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, V1Package>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "peerDependencies")]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, String>,
}

/// Reads a `package-lock.json`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a JSON mistake or a field of the wrong type, or for a
/// lockfile with neither `packages` nor `dependencies`.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = serde_json::from_str(text).map_err(|error| {
        json_invalid(file, &error, "package-lock.json", "regenerate it with `npm install --package-lock-only`")
    })?;
    let Some(packages) = raw.packages else {
        if let Some(dependencies) = raw.dependencies {
            return Ok(read_v1(file, text, &dependencies));
        }
        let version = raw.lockfile_version.map_or_else(|| "none".to_owned(), |version| version.to_string());
        return Err(invalid_at(
            file,
            text,
            text.find("\"lockfileVersion\"").unwrap_or(0),
            format!("lockfileVersion {version} has neither `packages` nor `dependencies`"),
            Some("regenerate it with `npm install --package-lock-only`".to_owned()),
        ));
    };
    // Each key's component identity (name, version), links followed.
    let mut identity: BTreeMap<&str, (String, String)> = BTreeMap::new();
    let mut lockfile = Lockfile::default();
    for (key, package) in &packages {
        if key.is_empty() || package.link {
            continue;
        }
        let Some(version) = package.version.clone() else {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: line_of(text, key),
                reason: format!("`{key}` has no version"),
            });
            continue;
        };
        let name = package.name.clone().unwrap_or_else(|| name_of(key).to_owned());
        identity.insert(key.as_str(), (name, version));
    }
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    for (key, package) in &packages {
        let dependencies = || {
            package
                .dependencies
                .keys()
                .chain(package.optional_dependencies.keys())
                .chain(package.peer_dependencies.keys())
                .chain(package.dev_dependencies.keys())
        };
        let depends_on: Vec<String> = dependencies()
            .filter_map(|dependency| resolve(key, dependency, &packages))
            .filter_map(|found| target(found, &packages))
            .filter_map(|found| identity.get(found))
            .map(|(name, version)| purl(name, version))
            .collect();
        if key.is_empty() {
            lockfile.direct.extend(depends_on);
            continue;
        }
        let Some((name, version)) = identity.get(key.as_str()) else { continue };
        let installed = key.starts_with("node_modules/") || key.contains("/node_modules/");
        let origin = match package.resolved.as_deref() {
            _ if !installed => Origin::Path(key.clone()),
            Some(resolved) if resolved.starts_with("git") || resolved.starts_with("github:") => {
                Origin::Git(resolved.to_owned())
            }
            Some(resolved) if resolved.starts_with("file:") => Origin::Path(resolved.to_owned()),
            Some(resolved) => Origin::Registry(resolved.to_owned()),
            None => Origin::Registry(String::new()),
        };
        let purl = purl(name, version);
        if !installed {
            lockfile.direct.push(purl.clone());
        }
        let (group, short) = match name.split_once('/') {
            Some((scope, short)) if scope.starts_with('@') => (Some(scope.to_owned()), short.to_owned()),
            _ => (None, name.clone()),
        };
        let entry = components.entry(purl.clone()).or_insert_with(|| Component {
            ecosystem: Ecosystem::Npm,
            group,
            name: short,
            version: version.clone(),
            purl,
            origin,
            hashes: package.integrity.as_deref().map(hashes).unwrap_or_default(),
            depends_on: Vec::new(),
            development: package.dev,
        });
        entry.development &= package.dev;
        entry.depends_on.extend(depends_on);
        entry.depends_on.sort();
        entry.depends_on.dedup();
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct.sort();
    lockfile.direct.dedup();
    Ok(lockfile)
}

/// Reads a version 1 lockfile's tree of `dependencies`.
fn read_v1(file: &str, text: &str, top: &BTreeMap<String, V1Package>) -> Lockfile {
    // Every package by its path of names from the top, and its identity.
    let mut tree: BTreeMap<Vec<&str>, &V1Package> = BTreeMap::new();
    let mut stack: Vec<(Vec<&str>, &BTreeMap<String, V1Package>)> = vec![(Vec::new(), top)];
    while let Some((path, level)) = stack.pop() {
        for (name, package) in level {
            let mut here = path.clone();
            here.push(name.as_str());
            stack.push((here.clone(), &package.dependencies));
            tree.insert(here, package);
        }
    }
    let mut lockfile = Lockfile::default();
    let mut identity: BTreeMap<&[&str], (String, String, Origin)> = BTreeMap::new();
    for (path, package) in &tree {
        let name = path.last().copied().unwrap_or_default();
        let Some(version) = package.version.as_deref() else {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: line_of(text, name),
                reason: format!("`{}` has no version", path.join(" > ")),
            });
            continue;
        };
        let registry = || Origin::Registry(package.resolved.clone().unwrap_or_default());
        let found = if let Some(alias) = version.strip_prefix("npm:") {
            // `npm:real-name@1.0.0`: the real package (its name may have a scope's `@` first).
            match alias.rfind('@').filter(|&at| at > 0) {
                Some(at) => (alias[..at].to_owned(), alias[at + 1..].to_owned(), registry()),
                None => (name.to_owned(), alias.to_owned(), registry()),
            }
        } else if version.starts_with("git") || version.starts_with("github:") {
            let revision = version.rsplit_once('#').map_or(version, |(_, revision)| revision);
            (name.to_owned(), revision.to_owned(), Origin::Git(version.to_owned()))
        } else if version.starts_with("file:") || version.starts_with("link:") {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: line_of(text, name),
                reason: format!("`{name}` is a local package ({version}), the project's own"),
            });
            continue;
        } else if version.contains("://") {
            (name.to_owned(), version.to_owned(), Origin::Registry(version.to_owned()))
        } else {
            (name.to_owned(), version.to_owned(), registry())
        };
        identity.insert(path.as_slice(), found);
    }
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    for (path, (name, version, origin)) in &identity {
        let Some(package) = tree.get(*path) else { continue };
        let depends_on = package
            .requires
            .keys()
            .filter_map(|dependency| {
                // Node's lookup: this package's own nested ones, then each level up.
                (0..=path.len()).rev().find_map(|depth| {
                    let mut candidate = path[..depth].to_vec();
                    candidate.push(dependency.as_str());
                    identity.get(candidate.as_slice())
                })
            })
            .map(|(name, version, _)| purl(name, version))
            .collect();
        let mut component =
            component(name, version, origin.clone(), package.integrity.as_deref().map(hashes).unwrap_or_default());
        component.depends_on = depends_on;
        component.development = package.dev;
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    let top_level: Vec<String> = identity
        .iter()
        .filter(|(path, _)| path.len() == 1)
        .map(|(_, (name, version, _))| purl(name, version))
        .collect();
    lockfile.direct = roots(&lockfile.components).into_iter().filter(|purl| top_level.contains(purl)).collect();
    lockfile.inferred_direct = true;
    lockfile
}

/// An npm package as a component: a scope is its group.
pub(crate) fn component(name: &str, version: &str, origin: Origin, hashes: Vec<Hash>) -> Component {
    let (group, short) = match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => (Some(scope.to_owned()), short.to_owned()),
        _ => (None, name.to_owned()),
    };
    Component {
        ecosystem: Ecosystem::Npm,
        group,
        name: short,
        version: version.to_owned(),
        purl: purl(name, version),
        origin,
        hashes,
        depends_on: Vec::new(),
        development: false,
    }
}

/// A package's purl: a scope is purl's namespace, `@` encoded.
pub(crate) fn purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((scope, short)) if scope.starts_with('@') => {
            format!("pkg:npm/{}/{}@{}", purl_encode(scope), purl_encode(short), purl_encode(version))
        }
        _ => format!("pkg:npm/{}@{}", purl_encode(name), purl_encode(version)),
    }
}

/// Where the package at `key` is: a link's target, else itself.
fn target<'a>(key: &'a str, packages: &'a BTreeMap<String, RawPackage>) -> Option<&'a str> {
    let package = packages.get(key)?;
    if package.link { package.resolved.as_deref() } else { Some(key) }
}

/// The package name of a `packages` key: what follows its last `node_modules/`, else its last
/// path segment (a workspace folder).
fn name_of(key: &str) -> &str {
    match key.rfind("node_modules/") {
        Some(index) => &key[index + "node_modules/".len()..],
        None => key.rsplit('/').next().unwrap_or(key),
    }
}

/// The key `dependency` of the package at `key` resolves to, as Node looks it up.
fn resolve<'a>(key: &str, dependency: &str, packages: &'a BTreeMap<String, RawPackage>) -> Option<&'a str> {
    let mut base = key.to_owned();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{dependency}")
        } else {
            format!("{base}/node_modules/{dependency}")
        };
        if let Some((found, _)) = packages.get_key_value(&candidate) {
            return Some(found.as_str());
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind("/node_modules/") {
            Some(index) => base[..index].to_owned(),
            None => String::new(),
        };
    }
}

/// The hashes of a Subresource Integrity string (`sha512-BASE64 ...`), in hex.
pub(crate) fn hashes(integrity: &str) -> Vec<Hash> {
    integrity
        .split_whitespace()
        .filter_map(|part| {
            let (algorithm, digest) = part.split_once('-')?;
            let algorithm = match algorithm {
                "sha512" => "SHA-512",
                "sha384" => "SHA-384",
                "sha256" => "SHA-256",
                "sha1" => "SHA-1",
                _ => return None,
            };
            let bytes = base64::engine::general_purpose::STANDARD.decode(digest).ok()?;
            Some(Hash { algorithm, hex: hex(&bytes) })
        })
        .collect()
}

/// The line where `"key"` first appears in `text` (1 if it does not).
fn line_of(text: &str, key: &str) -> usize {
    text.find(&format!("\"{key}\"")).map_or(1, |offset| crate::config::line_column(text, offset).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "web", "version": "1.0.0", "workspaces": ["packages/ui"],
          "dependencies": { "left-pad": "^1.3.0", "@types/node": "^20.0.0", "ui": "*", "fsevents": "*" } },
    "node_modules/left-pad": { "version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
          "integrity": "sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=", "dependencies": { "is-odd": "^3" } },
    "node_modules/is-odd": { "version": "3.0.1", "resolved": "https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz" },
    "node_modules/left-pad/node_modules/is-odd": { "version": "2.0.0", "dev": true },
    "node_modules/@types/node": { "version": "20.1.0", "dev": true },
    "node_modules/ui": { "resolved": "packages/ui", "link": true },
    "packages/ui": { "name": "ui", "version": "0.1.0", "dependencies": { "is-odd": "^3" } }
  }
}"#;

    #[test]
    fn installed_packages_scopes_links_and_nesting() {
        let lock = read("package-lock.json", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/is-odd@2.0.0",
                "pkg:npm/is-odd@3.0.1",
                "pkg:npm/left-pad@1.3.0",
                "pkg:npm/ui@0.1.0"
            ]
        );
        assert_eq!(lock.components[0].group.as_deref(), Some("@types"));
        assert_eq!(lock.components[0].name, "node");
        // The nested is-odd wins for left-pad, as Node resolves it.
        assert_eq!(lock.components[3].depends_on, ["pkg:npm/is-odd@2.0.0"]);
        assert_eq!(lock.components[3].hashes[0].hex, "5b8a3a7765dfe001261dde915589e782f8c94d1e");
        assert_eq!(lock.components[4].depends_on, ["pkg:npm/is-odd@3.0.1"]);
        assert_eq!(lock.components[4].origin.kind(), "path");
        assert_eq!(lock.direct, ["pkg:npm/%40types/node@20.1.0", "pkg:npm/left-pad@1.3.0", "pkg:npm/ui@0.1.0"]);
    }

    #[test]
    fn malformed_and_version_1_lockfiles_are_named_at_their_place() {
        let error =
            read("package-lock.json", "{\n  \"packages\": {\n    \"node_modules/a\": { \"version\": 1 }\n  }\n}")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(
            error.starts_with(
                "package-lock.json:3:36: not a valid package-lock.json: invalid type: integer `1`, expected a string\n"
            ),
            "{error}"
        );
        let error = read("package-lock.json", "{\n  \"name\": \"a\",\n  \"lockfileVersion\": 1\n}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("package-lock.json:3:3: lockfileVersion 1 has neither `packages` nor `dependencies`"),
            "{error}"
        );
    }

    const V1: &str = r#"{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@types/node": {
      "version": "20.1.0",
      "resolved": "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz",
      "integrity": "sha512-O+z53uwx64xY7D6roOi4+jApDGFg0qn6WHcxe5QeqjMaTezBO/mxdfFXIVAVVyNWKx84OmPB3L8kbVYOTeN34A==",
      "dev": true
    },
    "b": {
      "version": "git+https://github.com/example/b.git#0123456789abcdef0123456789abcdef01234567",
      "from": "git+https://github.com/example/b.git"
    },
    "is-number": { "version": "6.0.0", "resolved": "https://registry.npmjs.org/is-number/-/is-number-6.0.0.tgz" },
    "is-odd": {
      "version": "3.0.1",
      "resolved": "https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz",
      "requires": { "is-number": "^6.0.0" }
    },
    "left-pad": {
      "version": "1.3.0",
      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
      "integrity": "sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=",
      "requires": { "is-odd": "^2.0.0", "strip-ansi-cjs": "*" },
      "dependencies": {
        "is-odd": {
          "version": "2.0.0",
          "requires": { "is-number": "^4.0.0" },
          "dependencies": { "is-number": { "version": "4.0.0" } }
        }
      }
    },
    "local": { "version": "file:packages/local" },
    "strip-ansi-cjs": { "version": "npm:strip-ansi@6.0.1", "resolved": "https://registry.npmjs.org/strip-ansi/-/strip-ansi-6.0.1.tgz" }
  }
}"#;

    #[test]
    fn version_1_trees_resolve_requires_from_the_nearest_level_up() {
        let lock = read("package-lock.json", V1).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/b@0123456789abcdef0123456789abcdef01234567",
                "pkg:npm/is-number@4.0.0",
                "pkg:npm/is-number@6.0.0",
                "pkg:npm/is-odd@2.0.0",
                "pkg:npm/is-odd@3.0.1",
                "pkg:npm/left-pad@1.3.0",
                "pkg:npm/strip-ansi@6.0.1",
            ]
        );
        assert!(lock.components[0].development);
        assert_eq!(lock.components[1].origin.kind(), "git");
        assert_eq!(lock.components[4].depends_on, ["pkg:npm/is-number@4.0.0"]);
        assert_eq!(lock.components[5].depends_on, ["pkg:npm/is-number@6.0.0"]);
        assert_eq!(lock.components[6].depends_on, ["pkg:npm/is-odd@2.0.0", "pkg:npm/strip-ansi@6.0.1"]);
        assert_eq!(lock.components[6].hashes[0].hex, "5b8a3a7765dfe001261dde915589e782f8c94d1e");
        assert_eq!(
            lock.direct,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/b@0123456789abcdef0123456789abcdef01234567",
                "pkg:npm/is-odd@3.0.1",
                "pkg:npm/left-pad@1.3.0",
            ]
        );
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            ["package-lock.json:36: `local` is a local package (file:packages/local), the project's own"]
        );
    }
}
