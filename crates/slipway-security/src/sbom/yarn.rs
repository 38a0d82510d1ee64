//! Yarn's `yarn.lock`: Yarn 1's own format ("yarn lockfile v1") read line by line, and Yarn 2 and
//! later's ("berry", a YAML document with `__metadata`) read with `yaml_serde`; mistakes are
//! errors at their line and column.
//!
//! No crate was taken for the classic format: `yarn-lock-parser`, the one there is, panics on
//! some malformed input (`expect`, `unreachable!`), names no place in its errors and brings a
//! second `nom`; the format is small (entries of `key value` lines under their descriptors).
//!
//! Each entry is a component `pkg:npm/NAME@VERSION` (a scope as purl's namespace), the name the
//! one it resolves to (an alias `alias@npm:real@^1` is the real package). Yarn 1's entries keep
//! their `resolved` address and `integrity` (or the SHA-1 in the address's fragment); Yarn 2's
//! `checksum` is that of Yarn's own cache archive, not of the package, and is not kept, and a
//! registry package's address is made from its name and version as Yarn 1 writes it. An entry's
//! `dependencies` and `optionalDependencies` are resolved through the descriptors (`name@range`)
//! that head the entries. Yarn 2's workspaces (`@workspace:`) are the project's own packages,
//! `path` components and its direct dependencies; Yarn 1 does not record the project's own
//! dependencies: the `package.json` beside the lockfile names them when there is one (and what
//! only its `devDependencies` reach is development-only), else the packages nothing depends on
//! are taken as its direct ones.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    Component, Hash, Lockfile, Origin, SbomError, SkippedLine, invalid_at, line_at, merge, npm, roots, yaml_invalid,
};

const HINT: &str = "regenerate it with `yarn install`";
const REGISTRY: &str = "https://registry.yarnpkg.com";

/// Reads a `yarn.lock`'s text, either format; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a mistake.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let berry = text.lines().any(|line| line.starts_with("__metadata:"));
    if berry { read_berry(file, text) } else { read_classic(file, text) }
}

/// One entry of either format, before it is resolved.
struct Entry {
    /// The line of its descriptors.
    line: usize,
    /// Its descriptors (`name@range`).
    descriptors: Vec<String>,
    version: Option<String>,
    /// Yarn 1's `resolved`, Yarn 2's `resolution`.
    resolved: Option<String>,
    integrity: Option<String>,
    /// Its dependencies, `(name, range)`, and whether each is optional.
    dependencies: Vec<(String, String, bool)>,
}

/// The name of a descriptor or locator (`@scope/name@range` → `@scope/name`) and the rest.
fn split_descriptor(descriptor: &str) -> Option<(&str, &str)> {
    let at = descriptor.get(1..)?.find('@')? + 1;
    Some((&descriptor[..at], &descriptor[at + 1..]))
}

/// A quoted string's content (Yarn 1 quotes as JSON does), or the text itself.
fn unquote(text: &str) -> String {
    let text = text.trim();
    match text.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        Some(inner) => serde_json::from_str::<String>(text).unwrap_or_else(|_| inner.to_owned()),
        None => text.to_owned(),
    }
}

/// Splits `a, "b, c", d` at the commas outside quotes.
fn split_list(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for character in text.chars() {
        match character {
            '"' => {
                quoted = !quoted;
                current.push(character);
            }
            ',' if !quoted => parts.push(unquote(&std::mem::take(&mut current))),
            _ => current.push(character),
        }
    }
    if !current.trim().is_empty() {
        parts.push(unquote(&current));
    }
    parts
}

/// Splits a `key value` line (either may be quoted) at the first space outside quotes.
fn split_pair(text: &str) -> (String, String) {
    let mut quoted = false;
    for (index, character) in text.char_indices() {
        match character {
            '"' => quoted = !quoted,
            ' ' if !quoted => return (unquote(&text[..index]), unquote(&text[index + 1..])),
            _ => {}
        }
    }
    (unquote(text), String::new())
}

fn read_classic(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let mut entries: Vec<Entry> = Vec::new();
    // The nested map being read (`dependencies:`, `optionalDependencies:`, another).
    let mut section: Option<String> = None;
    let mut offset = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += raw.len() + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        let wrong = |column: usize, message: String| {
            invalid_at(
                file,
                text,
                line_offset + column,
                format!("not a valid yarn.lock: {message}"),
                Some(HINT.to_owned()),
            )
        };
        match indent {
            0 => {
                let Some(header) = content.strip_suffix(':') else {
                    return Err(wrong(0, "an entry's descriptors must end with `:`".to_owned()));
                };
                // A descriptor without a range (`name:`) is the name alone.
                let descriptors = split_list(header);
                entries.push(Entry {
                    line: index + 1,
                    descriptors,
                    version: None,
                    resolved: None,
                    integrity: None,
                    dependencies: Vec::new(),
                });
                section = None;
            }
            2 => {
                let Some(entry) = entries.last_mut() else {
                    return Err(wrong(2, "a field before any entry".to_owned()));
                };
                if let Some(name) = content.strip_suffix(':') {
                    section = Some(unquote(name));
                    continue;
                }
                section = None;
                let (key, value) = split_pair(content);
                match key.as_str() {
                    "version" => entry.version = Some(value),
                    "resolved" => entry.resolved = Some(value),
                    "integrity" => entry.integrity = Some(value),
                    _ => {}
                }
            }
            4 => {
                let (Some(entry), Some(section)) = (entries.last_mut(), section.as_deref()) else {
                    return Err(wrong(4, "a nested field outside `dependencies:` or another map".to_owned()));
                };
                let (name, range) = split_pair(content);
                match section {
                    "dependencies" => entry.dependencies.push((name, range, false)),
                    "optionalDependencies" => entry.dependencies.push((name, range, true)),
                    _ => {}
                }
            }
            _ => return Err(wrong(indent, format!("unexpected indentation of {indent} spaces"))),
        }
    }
    Ok(resolve(file, &entries, false))
}

#[derive(Deserialize)]
struct BerryEntry {
    version: Option<yaml_serde::Value>,
    resolution: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, yaml_serde::Value>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, yaml_serde::Value>,
}

/// A YAML scalar as text (a version or range written without quotes may read as a number).
fn scalar(value: &yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::String(text) => Some(text.clone()),
        yaml_serde::Value::Number(number) => Some(number.to_string()),
        yaml_serde::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn read_berry(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: BTreeMap<String, yaml_serde::Value> =
        yaml_serde::from_str(text).map_err(|error| yaml_invalid(file, &error, "yarn.lock", HINT))?;
    let mut entries = Vec::new();
    for (key, value) in raw {
        if key == "__metadata" {
            continue;
        }
        let place = text
            .find(&format!("\n\"{key}\":"))
            .or_else(|| text.find(&format!("\n{key}:")))
            .map_or(0, |offset| offset + 1);
        let entry: BerryEntry = yaml_serde::from_value(value).map_err(|error| {
            invalid_at(file, text, place, format!("not a valid yarn.lock: in `{key}`: {error}"), Some(HINT.to_owned()))
        })?;
        let descriptors: Vec<String> = key.split(", ").map(str::to_owned).collect();
        if let Some(bad) = descriptors.iter().find(|descriptor| split_descriptor(descriptor).is_none()) {
            return Err(invalid_at(
                file,
                text,
                place,
                format!("not a valid yarn.lock: `{bad}` is not a `name@range` descriptor"),
                Some(HINT.to_owned()),
            ));
        }
        let pairs = |map: &BTreeMap<String, yaml_serde::Value>, optional: bool| -> Vec<(String, String, bool)> {
            map.iter().filter_map(|(name, range)| Some((name.clone(), scalar(range)?, optional))).collect()
        };
        let mut dependencies = pairs(&entry.dependencies, false);
        dependencies.extend(pairs(&entry.optional_dependencies, true));
        entries.push(Entry {
            line: line_at(text, place),
            descriptors,
            version: entry.version.as_ref().and_then(scalar),
            resolved: entry.resolution,
            integrity: None,
            dependencies,
        });
    }
    entries.sort_by_key(|entry| entry.line);
    Ok(resolve(file, &entries, true))
}

/// An entry's component (its name, version and origin), or why it has none.
fn identify(entry: &Entry, berry: bool) -> Result<Component, String> {
    let first = entry.descriptors.first().map(String::as_str).unwrap_or_default();
    let version = entry.version.clone().ok_or_else(|| format!("`{first}` has no version"))?;
    let (mut name, range) = split_descriptor(first).unwrap_or((first, ""));
    // An alias (`alias@npm:real@^1`) is the real package.
    if let Some((real, _)) = range.strip_prefix("npm:").and_then(split_descriptor) {
        name = real;
    }
    let resolved = entry.resolved.clone().unwrap_or_default();
    let (name, origin) = if berry {
        let (resolved_name, locator) = split_descriptor(&resolved).unwrap_or((name, ""));
        let origin = if locator.starts_with("workspace:") {
            Origin::Path(locator.trim_start_matches("workspace:").to_owned())
        } else if ["file:", "portal:", "link:"].iter().any(|protocol| locator.starts_with(protocol)) {
            Origin::Path(locator.to_owned())
        } else if locator.contains("git") || locator.contains("#commit=") {
            Origin::Git(locator.to_owned())
        } else if locator.starts_with("http") {
            Origin::Registry(locator.to_owned())
        } else {
            // `npm:`, and `patch:` or `virtual:` copies of an npm package.
            let short = resolved_name.rsplit('/').next().unwrap_or(resolved_name);
            Origin::Registry(format!("{REGISTRY}/{resolved_name}/-/{short}-{version}.tgz"))
        };
        (resolved_name.to_owned(), origin)
    } else if resolved.starts_with("git") || resolved.contains("codeload.github.com") {
        (name.to_owned(), Origin::Git(resolved))
    } else if resolved.starts_with("file:") || (resolved.is_empty() && range.starts_with("file:")) {
        (name.to_owned(), Origin::Path(if resolved.is_empty() { range.to_owned() } else { resolved }))
    } else {
        (name.to_owned(), Origin::Registry(resolved))
    };
    let mut hashes = entry.integrity.as_deref().map(npm::hashes).unwrap_or_default();
    if hashes.is_empty()
        && let Origin::Registry(address) = &origin
        && let Some((_, fragment)) = address.rsplit_once('#')
        && fragment.len() == 40
        && fragment.bytes().all(|byte| byte.is_ascii_hexdigit())
    {
        hashes.push(Hash { algorithm: "SHA-1", hex: fragment.to_ascii_lowercase() });
    }
    Ok(npm::component(&name, &version, origin, hashes))
}

fn resolve(file: &str, entries: &[Entry], berry: bool) -> Lockfile {
    let mut lockfile = Lockfile::default();
    let identities: Vec<Option<Component>> = entries
        .iter()
        .map(|entry| {
            identify(entry, berry)
                .map_err(|reason| {
                    lockfile.skipped.push(SkippedLine { file: file.to_owned(), line: entry.line, reason })
                })
                .ok()
        })
        .collect();
    let mut by_descriptor: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        for descriptor in &entry.descriptors {
            by_descriptor.insert(descriptor.as_str(), index);
        }
    }
    let mut components = BTreeMap::new();
    let mut workspaces = Vec::new();
    for (entry, identity) in entries.iter().zip(&identities) {
        let Some(mut component) = identity.clone() else { continue };
        for (name, range, optional) in &entry.dependencies {
            let found = by_descriptor
                .get(format!("{name}@{range}").as_str())
                .or_else(|| by_descriptor.get(format!("{name}@npm:{range}").as_str()))
                .and_then(|&index| identities.get(index).and_then(Option::as_ref));
            match found {
                Some(target) => component.depends_on.push(target.purl.clone()),
                None if *optional => {}
                None => lockfile.skipped.push(SkippedLine {
                    file: file.to_owned(),
                    line: entry.line,
                    reason: format!("{}'s dependency `{name}@{range}` has no entry", component.purl),
                }),
            }
        }
        if berry && matches!(component.origin, Origin::Path(_)) {
            workspaces.push(component.purl.clone());
        }
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    lockfile.inferred_direct = workspaces.is_empty();
    lockfile.direct = if workspaces.is_empty() { roots(&lockfile.components) } else { workspaces };
    lockfile.direct.sort();
    lockfile.direct.dedup();
    lockfile
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826beef65e75c50e21d3837d7d95798dd658"
  integrity sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==
  dependencies:
    "@babel/highlight" "^7.12.13"

"@babel/highlight@^7.12.13":
  version "7.13.10"
  resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.13.10.tgz#a8b2a66148f5b27d666b15d81774347a731d52d1"
  dependencies:
    js-tokens "^4.0.0"
  optionalDependencies:
    fsevents "~2.3.1"

js-tokens@^4.0.0:
  version "4.0.0"
  resolved "https://registry.yarnpkg.com/js-tokens/-/js-tokens-4.0.0.tgz#19203fb59991df98e3a287050d4647cdeaf32499"
  integrity sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ==

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
  integrity sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==
"#;

    #[test]
    fn classic_entries_descriptors_aliases_and_hashes() {
        let lock = read("yarn.lock", CLASSIC).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40babel/code-frame@7.12.13",
                "pkg:npm/%40babel/highlight@7.13.10",
                "pkg:npm/js-tokens@4.0.0",
                "pkg:npm/string-width@4.2.3",
            ]
        );
        assert_eq!(lock.components[0].group.as_deref(), Some("@babel"));
        assert_eq!(lock.components[0].depends_on, ["pkg:npm/%40babel/highlight@7.13.10"]);
        assert_eq!(lock.components[0].hashes[0].algorithm, "SHA-512");
        // No integrity: the SHA-1 in the address's fragment.
        assert_eq!(lock.components[1].hashes[0].hex, "a8b2a66148f5b27d666b15d81774347a731d52d1");
        assert_eq!(lock.components[1].depends_on, ["pkg:npm/js-tokens@4.0.0"]);
        assert_eq!(lock.direct, ["pkg:npm/%40babel/code-frame@7.12.13", "pkg:npm/string-width@4.2.3"]);
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/code-frame@npm:^7.0.0":
  version: 7.26.2
  resolution: "@babel/code-frame@npm:7.26.2"
  dependencies:
    js-tokens: "npm:^4.0.0"
  checksum: 10c0/7d79621a6849a2d1c9a8e6bc80b7a6c1e9b2a3d5f1c0e4b8a9d6f3e2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7
  languageName: node
  linkType: hard

"js-tokens@npm:^4.0.0":
  version: 4.0.0
  resolution: "js-tokens@npm:4.0.0"
  checksum: 10c0/e248708d377aa058eacf2037b07ded847790e6de892bbad3dac0abba2e759cb9f121b00099a65195616badcb6eca8d14d975cb3e89eb1cfda644756402c8aeed
  languageName: node
  linkType: hard

"left-pad@https://github.com/left-pad/left-pad.git#commit=5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29":
  version: 1.3.0
  resolution: "left-pad@https://github.com/left-pad/left-pad.git#commit=5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29"
  languageName: node
  linkType: hard

"web@workspace:.":
  version: 0.0.0-use.local
  resolution: "web@workspace:."
  dependencies:
    "@babel/code-frame": "npm:^7.0.0"
    left-pad: "https://github.com/left-pad/left-pad.git#commit=5f2ba6e1d4e8a6ea7d3c1f5c9a8b7e6d5c4b3a29"
  languageName: unknown
  linkType: soft
"#;

    #[test]
    fn berry_entries_resolutions_and_workspaces() {
        let lock = read("yarn.lock", BERRY).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40babel/code-frame@7.26.2",
                "pkg:npm/js-tokens@4.0.0",
                "pkg:npm/left-pad@1.3.0",
                "pkg:npm/web@0.0.0-use.local",
            ]
        );
        assert_eq!(
            lock.components[0].origin,
            Origin::Registry("https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.26.2.tgz".to_owned())
        );
        assert!(lock.components[0].hashes.is_empty(), "a cache checksum is not the package's");
        assert_eq!(lock.components[0].depends_on, ["pkg:npm/js-tokens@4.0.0"]);
        assert_eq!(lock.components[2].origin.kind(), "git");
        assert_eq!(lock.components[3].origin, Origin::Path(".".to_owned()));
        assert_eq!(lock.components[3].depends_on, ["pkg:npm/%40babel/code-frame@7.26.2", "pkg:npm/left-pad@1.3.0"]);
        assert_eq!(lock.direct, ["pkg:npm/web@0.0.0-use.local"]);
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = |text: &str| read("yarn.lock", text).err().map(|e| e.to_string()).unwrap_or_default();
        let classic = error("# yarn lockfile v1\n\nleft-pad@^1.3.0\n  version \"1.3.0\"\n");
        assert!(
            classic.starts_with("yarn.lock:3:1: not a valid yarn.lock: an entry's descriptors must end with `:`"),
            "{classic}"
        );
        assert!(classic.contains("help: regenerate it with `yarn install`"), "{classic}");
        let classic = error("left-pad@^1.3.0:\n   version \"1.3.0\"\n");
        assert!(
            classic.starts_with("yarn.lock:2:4: not a valid yarn.lock: unexpected indentation of 3 spaces"),
            "{classic}"
        );
        let bare = read("yarn.lock", "left-pad:\n  version \"1.3.0\"\n").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(bare.components[0].purl, "pkg:npm/left-pad@1.3.0");
        let berry = error("__metadata:\n  version: 8\n\n\"a@npm:1\":\n  version: [1\n");
        assert!(berry.starts_with("yarn.lock:6:1: not a valid yarn.lock:"), "{berry}");
        let berry = error("__metadata:\n  version: 8\n\n\"a@npm:1\":\n  resolution: [1]\n");
        assert!(berry.starts_with("yarn.lock:4:1: not a valid yarn.lock: in `a@npm:1`: invalid type"), "{berry}");
    }
}
