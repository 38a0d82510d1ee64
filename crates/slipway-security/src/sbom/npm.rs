//! npm's `package-lock.json` and `npm-shrinkwrap.json`, lockfile versions 2 and 3 (their
//! `packages` map), read with `serde_json` (errors at its line and column).
//!
//! Each installed package (a key with `node_modules/`) is a component `pkg:npm/NAME@VERSION`,
//! a scope encoded as purl's namespace (`pkg:npm/%40types/node@20.1.0`) and kept as the
//! component's group; the same name and version installed at several places is one component.
//! Dependencies (`dependencies`, `optionalDependencies`, `peerDependencies`, and
//! `devDependencies`, which only the root and workspace packages list) are resolved as
//! Node does: the nearest `node_modules` up from the dependent; links (`"link": true`) lead to
//! their target; one that is not installed (an optional dependency for another platform) is left
//! out. The root's dependencies and the workspace's own packages are the project's direct ones.
//! Version 1 lockfiles (npm 6, no `packages`) are refused with a way to upgrade them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::{Component, Ecosystem, Hash, Lockfile, Origin, SbomError, SkippedLine, invalid_at, purl_encode};

#[derive(Deserialize)]
struct RawLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde_json::Value>,
    packages: Option<BTreeMap<String, RawPackage>>,
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
/// version 1 lockfile.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = serde_json::from_str(text).map_err(|error| {
        // serde_json's message ends with its own "at line L column C", said once here instead.
        let message = error.to_string();
        let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]);
        SbomError::Invalid {
            file: file.to_owned(),
            line: error.line().max(1),
            column: error.column().max(1),
            message: format!("not a valid package-lock.json: {message}"),
            hint: Some("regenerate it with `npm install --package-lock-only`".to_owned()),
        }
    })?;
    let Some(packages) = raw.packages else {
        let version = raw.lockfile_version.map_or_else(|| "none".to_owned(), |version| version.to_string());
        return Err(invalid_at(
            file,
            text,
            text.find("\"lockfileVersion\"").unwrap_or(0),
            format!("lockfileVersion {version} has no `packages` map; Slipway reads lockfile versions 2 and 3"),
            Some("upgrade it with npm 7 or later: `npm install --package-lock-only --lockfile-version 3`".to_owned()),
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

/// A package's purl: a scope is purl's namespace, `@` encoded.
fn purl(name: &str, version: &str) -> String {
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
fn hashes(integrity: &str) -> Vec<Hash> {
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
            Some(Hash { algorithm, hex: bytes.iter().map(|byte| format!("{byte:02x}")).collect() })
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
        let error =
            read("package-lock.json", "{\n  \"name\": \"a\",\n  \"lockfileVersion\": 1,\n  \"dependencies\": {}\n}")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(error.starts_with("package-lock.json:3:3: lockfileVersion 1 has no `packages` map"), "{error}");
        assert!(error.contains("--lockfile-version 3"), "{error}");
    }
}
