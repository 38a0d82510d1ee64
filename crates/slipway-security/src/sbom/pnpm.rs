//! pnpm's `pnpm-lock.yaml`, lockfile versions 6 and 9 (and 5's keys), read with `yaml_serde`
//! (errors at their line and column).
//!
//! Each package of `packages` is a component `pkg:npm/NAME@VERSION` (a scope as purl's
//! namespace), its key read as pnpm writes it: `/name@1.0.0` (version 6), `name@1.0.0`
//! (version 9), `/name/1.0.0` (version 5), with peer suffixes (`(react@18.2.0)`, `_react@18.2.0`)
//! cut off, so that the copies of one package for different peers are one component. Its
//! `resolution` gives its hash (`integrity`), or its address (`tarball`), git repository and
//! commit, or directory. Its dependencies are those of its `snapshots` entries (version 9) or of
//! the package itself (versions 5 and 6), each a version, an alias (`name@1.0.0`, `/name@1.0.0`)
//! or a link to a workspace project (`link:`, which is the project's own and not a component).
//! The importers' (`importers`, or the top level of a version 5 or 6 lockfile of one project)
//! `dependencies`, `optionalDependencies` and `devDependencies` are the project's direct
//! dependencies; a package reached only through `devDependencies` is development-only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Component, Lockfile, Origin, SbomError, SkippedLine, line_at, merge, npm, yaml_invalid};

const HINT: &str = "regenerate it with `pnpm install --lockfile-only`";

#[derive(Deserialize)]
struct RawLock {
    #[serde(default, deserialize_with = "nullable")]
    importers: BTreeMap<String, RawImporter>,
    #[serde(flatten)]
    top: RawImporter,
    #[serde(default, deserialize_with = "nullable")]
    packages: BTreeMap<String, RawPackage>,
    #[serde(default, deserialize_with = "nullable")]
    snapshots: BTreeMap<String, RawSnapshot>,
}

#[derive(Deserialize, Default)]
struct RawImporter {
    #[serde(default, deserialize_with = "nullable")]
    dependencies: BTreeMap<String, yaml_serde::Value>,
    #[serde(default, deserialize_with = "nullable", rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, yaml_serde::Value>,
    #[serde(default, deserialize_with = "nullable", rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, yaml_serde::Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(default, deserialize_with = "nullable")]
    resolution: BTreeMap<String, yaml_serde::Value>,
    name: Option<String>,
    version: Option<yaml_serde::Value>,
    #[serde(default, deserialize_with = "nullable")]
    dependencies: BTreeMap<String, yaml_serde::Value>,
    #[serde(default, deserialize_with = "nullable", rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, yaml_serde::Value>,
}

#[derive(Deserialize, Default)]
struct RawSnapshot {
    #[serde(default, deserialize_with = "nullable")]
    dependencies: BTreeMap<String, yaml_serde::Value>,
    #[serde(default, deserialize_with = "nullable", rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, yaml_serde::Value>,
}

/// A map or list that pnpm may write empty as `key:` (null): empty.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// A YAML scalar as text (a version written without quotes may read as a number).
fn scalar(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::String(text) => Some(text.clone()),
        yaml_serde::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The version an importer's dependency is locked at: `{specifier, version}` (versions 6 and 9)
/// or the version alone (version 5).
fn importer_version(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::Mapping(mapping) => mapping.get("version").and_then(scalar),
        other => scalar(other),
    }
}

/// A package key's name and version, peer suffixes cut off.
fn identity(key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    let at = key.get(1..).and_then(|rest| rest.find('@')).map(|index| index + 1);
    // A name has one `/` at most, after its scope: else this is version 5's `name/1.0.0_peer@1`.
    let named = at.filter(|&at| {
        let name = &key[..at];
        match name.matches('/').count() {
            0 => true,
            1 => name.starts_with('@'),
            _ => false,
        }
    });
    match named {
        Some(at) => Some((key[..at].to_owned(), key[at + 1..].to_owned())),
        None => {
            // Version 5: `name/1.0.0` or `@scope/name/1.0.0_peer@1.0.0`.
            let (name, version) = key.rsplit_once('/')?;
            let version = version.split('_').next().unwrap_or(version);
            (!name.is_empty() && !version.is_empty()).then(|| (name.to_owned(), version.to_owned()))
        }
    }
}

/// A key or reference as the lockfile's keys are found by: no leading `/`, no peer suffix.
fn plain_key(key: &str) -> &str {
    let key = key.strip_prefix('/').unwrap_or(key);
    key.split('(').next().unwrap_or(key)
}

/// The package a dependency `name: reference` leads to, as the key [`identity`] makes; `None`
/// for a link to a workspace project.
fn target(name: &str, reference: &str) -> Option<(String, String)> {
    if reference.starts_with("link:") {
        return None;
    }
    let plain = reference.split('(').next().unwrap_or(reference);
    // A version (`1.0.0`, version 5's `1.0.0_peer@2.0.0`), else a key: `/name@1.0.0` (6),
    // `name@1.0.0` (9), `/name/1.0.0` (5).
    let version = plain.starts_with(|first: char| first.is_ascii_digit()) || !plain.contains('@');
    if !plain.starts_with('/') && version {
        Some((name.to_owned(), plain.split('_').next().unwrap_or(plain).to_owned()))
    } else {
        identity(plain)
    }
}

/// Reads a `pnpm-lock.yaml`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a YAML mistake or a field of the wrong type.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock =
        yaml_serde::from_str(text).map_err(|error| yaml_invalid(file, &error, "pnpm-lock.yaml", HINT))?;
    let mut lockfile = Lockfile::default();
    let mut built: BTreeMap<(String, String), Component> = BTreeMap::new();
    // Each package's purl by its key (a git or tarball package's key is no `name@version`).
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for (key, package) in &raw.packages {
        let explicit = package.name.clone().zip(package.version.as_ref().and_then(scalar));
        let Some((name, version)) = explicit.or_else(|| identity(key)) else {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: key_line(text, key),
                reason: format!("`{key}` names no package and version"),
            });
            continue;
        };
        let resolution = |field: &str| package.resolution.get(field).and_then(scalar);
        let short = name.rsplit('/').next().unwrap_or(&name);
        let origin = if let (Some(repo), Some(commit)) = (resolution("repo"), resolution("commit")) {
            Origin::Git(format!("git+{repo}#{commit}"))
        } else if let Some(tarball) = resolution("tarball") {
            if tarball.contains("codeload.github.com") { Origin::Git(tarball) } else { Origin::Registry(tarball) }
        } else if let Some(directory) = resolution("directory") {
            Origin::Path(directory)
        } else {
            Origin::Registry(format!("https://registry.npmjs.org/{name}/-/{short}-{version}.tgz"))
        };
        let hashes = resolution("integrity").as_deref().map(npm::hashes).unwrap_or_default();
        let component = npm::component(&name, &version, origin, hashes);
        by_key.insert(plain_key(key).to_owned(), component.purl.clone());
        built.insert((name, version), component);
    }
    let purl_of = |name: &str, reference: &str| {
        by_key
            .get(plain_key(reference))
            .cloned()
            .or_else(|| target(name, reference).and_then(|found| built.get(&found)).map(|c| c.purl.clone()))
    };
    // Each component's dependencies, from its snapshots (9) or its package entry (5, 6).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unresolved = Vec::new();
    let lists = raw
        .snapshots
        .iter()
        .map(|(key, snapshot)| (key, &snapshot.dependencies, &snapshot.optional_dependencies))
        .chain(raw.packages.iter().map(|(key, package)| (key, &package.dependencies, &package.optional_dependencies)));
    for (key, dependencies, optional) in lists {
        let Some(from) = by_key.get(plain_key(key)).cloned() else { continue };
        let entry = edges.entry(from).or_default();
        for (name, reference) in dependencies.iter().chain(optional) {
            let Some(reference) = scalar(reference) else { continue };
            match purl_of(name, &reference) {
                Some(purl) => {
                    entry.insert(purl);
                }
                None if reference.starts_with("link:") || optional.contains_key(name) => {}
                None => unresolved.push((
                    key.clone(),
                    format!("`{key}`'s dependency `{name}: {reference}` is not a package of the lockfile"),
                )),
            }
        }
    }
    for (key, reason) in unresolved {
        lockfile.skipped.push(SkippedLine { file: file.to_owned(), line: key_line(text, &key), reason });
    }
    // The importers' dependencies: direct, and the roots of what is not development-only.
    let importers: Vec<&RawImporter> =
        if raw.importers.is_empty() { vec![&raw.top] } else { raw.importers.values().collect() };
    let mut runtime_roots = Vec::new();
    for importer in &importers {
        for (name, value) in importer.dependencies.iter().chain(&importer.optional_dependencies) {
            runtime_roots.extend(importer_version(value).and_then(|reference| purl_of(name, &reference)));
        }
        for (name, value) in &importer.dev_dependencies {
            lockfile.direct.extend(importer_version(value).and_then(|reference| purl_of(name, &reference)));
        }
    }
    lockfile.direct.extend(runtime_roots.iter().cloned());
    let mut runtime: BTreeSet<String> = BTreeSet::new();
    let mut stack = runtime_roots;
    while let Some(purl) = stack.pop() {
        if runtime.insert(purl.clone()) {
            stack.extend(edges.get(&purl).into_iter().flatten().cloned());
        }
    }
    let mut components = BTreeMap::new();
    for mut component in built.into_values() {
        component.depends_on = edges.get(&component.purl).into_iter().flatten().cloned().collect();
        component.development = !runtime.contains(&component.purl);
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct.sort();
    lockfile.direct.dedup();
    Ok(lockfile)
}

/// The line of a `packages` or `snapshots` key (1 when it cannot be found).
fn key_line(text: &str, key: &str) -> usize {
    let offset = [format!("\n  {key}:"), format!("\n  '{key}':"), format!("\n  \"{key}\":")]
        .iter()
        .find_map(|needle| text.find(needle.as_str()))
        .map_or(0, |offset| offset + 1);
    line_at(text, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
      string-width-cjs:
        specifier: npm:string-width@^4.2.0
        version: string-width@4.2.3
      ui:
        specifier: workspace:*
        version: link:packages/ui
    devDependencies:
      '@types/node':
        specifier: ^20.0.0
        version: 20.1.0

  packages/ui:
    dependencies:
      react:
        specifier: ^18.2.0
        version: 18.2.0

packages:

  '@types/node@20.1.0':
    resolution: {integrity: sha512-O+z53uwx64xY7D6roOi4+jApDGFg0qn6WHcxe5QeqjMaTezBO/mxdfFXIVAVVyNWKx84OmPB3L8kbVYOTeN34A==}

  js-tokens@4.0.0:
    resolution: {integrity: sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ==}

  loose-envify@1.4.0:
    resolution: {integrity: sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q==}
    hasBin: true

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}
    engines: {node: '>=0.10.0'}

  string-width@4.2.3:
    resolution: {integrity: sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==}
    engines: {node: '>=8'}

snapshots:

  '@types/node@20.1.0': {}

  js-tokens@4.0.0: {}

  loose-envify@1.4.0:
    dependencies:
      js-tokens: 4.0.0

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0

  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0

  string-width@4.2.3: {}
"#;

    #[test]
    fn version_9_packages_snapshots_peers_aliases_and_links() {
        let lock = read("pnpm-lock.yaml", V9).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/js-tokens@4.0.0",
                "pkg:npm/loose-envify@1.4.0",
                "pkg:npm/react-dom@18.2.0",
                "pkg:npm/react@18.2.0",
                "pkg:npm/string-width@4.2.3",
            ]
        );
        assert_eq!(lock.components[3].depends_on, ["pkg:npm/loose-envify@1.4.0", "pkg:npm/react@18.2.0"]);
        assert_eq!(lock.components[0].hashes[0].algorithm, "SHA-512");
        assert_eq!(
            lock.components[1].origin,
            Origin::Registry("https://registry.npmjs.org/js-tokens/-/js-tokens-4.0.0.tgz".to_owned())
        );
        let development: Vec<&str> =
            lock.components.iter().filter(|c| c.development).map(|c| c.name.as_str()).collect();
        assert_eq!(development, ["node"]);
        assert_eq!(
            lock.direct,
            [
                "pkg:npm/%40types/node@20.1.0",
                "pkg:npm/react-dom@18.2.0",
                "pkg:npm/react@18.2.0",
                "pkg:npm/string-width@4.2.3"
            ]
        );
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    const V6: &str = r#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  react-dom:
    specifier: ^18.2.0
    version: 18.2.0(react@18.2.0)

devDependencies:
  left-pad:
    specifier: github:left-pad/left-pad#5f2ba6e
    version: github.com/left-pad/left-pad/5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29

packages:

  /js-tokens@4.0.0:
    resolution: {integrity: sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ==}
    dev: false

  /loose-envify@1.4.0:
    resolution: {integrity: sha512-lyuxPGr/Wfhrlem2CL/UcnUc1zcqKAImBDzukY7Y5F/yQiNdko6+fRLevlw1HgMySw7f611UIY408EtxRSoK3Q==}
    hasBin: true
    dependencies:
      js-tokens: 4.0.0
    dev: false

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
    dev: false

  /react@18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}
    engines: {node: '>=0.10.0'}
    dependencies:
      loose-envify: 1.4.0
    dev: false

  github.com/left-pad/left-pad/5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29:
    resolution: {tarball: https://codeload.github.com/left-pad/left-pad/tar.gz/5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29}
    name: left-pad
    version: 1.3.0
    dev: true
"#;

    #[test]
    fn version_6_keys_git_packages_and_top_level_importer() {
        let lock = read("pnpm-lock.yaml", V6).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/js-tokens@4.0.0",
                "pkg:npm/left-pad@1.3.0",
                "pkg:npm/loose-envify@1.4.0",
                "pkg:npm/react-dom@18.2.0",
                "pkg:npm/react@18.2.0",
            ]
        );
        assert_eq!(lock.components[1].origin.kind(), "git");
        assert!(lock.components[1].development && !lock.components[0].development);
        assert_eq!(lock.components[3].depends_on, ["pkg:npm/loose-envify@1.4.0", "pkg:npm/react@18.2.0"]);
        assert_eq!(lock.direct, ["pkg:npm/left-pad@1.3.0", "pkg:npm/react-dom@18.2.0"]);
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    #[test]
    fn version_5_keys_and_malformed_lockfiles() {
        assert_eq!(
            target("@typescript-eslint/parser", "5.13.0_eslint@8.10.0+typescript@4.6.2"),
            Some(("@typescript-eslint/parser".to_owned(), "5.13.0".to_owned()))
        );
        assert_eq!(target("a", "/b/1.0.0"), Some(("b".to_owned(), "1.0.0".to_owned())));
        assert_eq!(target("a", "b@1.0.0(c@2.0.0)"), Some(("b".to_owned(), "1.0.0".to_owned())));
        assert_eq!(target("a", "link:../a"), None);
        let empty = read("pnpm-lock.yaml", "lockfileVersion: 5.3\n\nspecifiers:\n\ndependencies:\n\npackages:\n")
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(empty.components.is_empty());
        assert_eq!(
            identity("/@babel/core/7.0.0_supports-color@8.0.0"),
            Some(("@babel/core".to_owned(), "7.0.0".to_owned()))
        );
        assert_eq!(
            identity("/@babel/core@7.0.0(supports-color@8.0.0)"),
            Some(("@babel/core".to_owned(), "7.0.0".to_owned()))
        );
        let error = |text: &str| read("pnpm-lock.yaml", text).err().map(|e| e.to_string()).unwrap_or_default();
        let message = error("lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {integrity: 'x\n");
        assert!(
            message.starts_with("pnpm-lock.yaml:5:1: not a valid pnpm-lock.yaml: found unexpected end of stream"),
            "{message}"
        );
        assert!(message.contains("help: regenerate it with `pnpm install --lockfile-only`"), "{message}");
        let message = error("lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: 1\n");
        assert!(
            message.starts_with(
                "pnpm-lock.yaml:4:17: not a valid pnpm-lock.yaml: packages.a@1.0.0.resolution: invalid type"
            ),
            "{message}"
        );
    }
}
