//! NuGet's `packages.lock.json` (lock file `version` 1 and 2), read with `serde_json` (errors at
//! its line and column).
//!
//! Each package of each target framework (`net8.0`, `net8.0/linux-x64`) with a `resolved`
//! version is a component `pkg:nuget/NAME@VERSION` (the name as NuGet writes it), with its
//! `contentHash` (the SHA-512 of its `.nupkg`, base64 in the lockfile, hex in the BOM), from
//! nuget.org; the same package in several frameworks is one component. Its `dependencies` are
//! resolved by name (NuGet's names are not case-sensitive) within the framework. The packages of
//! `type` `Direct` are the project's direct dependencies (`Transitive` and `CentralTransitive` ones
//! are not); a `Project` entry (another project of the solution) is the project's own, not a
//! component, and what it depends on is direct too.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::{Component, Ecosystem, Hash, Lockfile, Origin, SbomError, hex, json_invalid, merge, purl_encode};

const NUGET: &str = "https://api.nuget.org/v3/index.json";

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, RawPackage>>,
}

#[derive(Deserialize)]
struct RawPackage {
    #[serde(rename = "type")]
    kind: Option<String>,
    resolved: Option<String>,
    #[serde(rename = "contentHash")]
    content_hash: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
}

fn purl(name: &str, version: &str) -> String {
    format!("pkg:nuget/{}@{}", purl_encode(name), purl_encode(version))
}

/// Reads a `packages.lock.json`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a JSON mistake or a field of the wrong type.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = serde_json::from_str(text).map_err(|error| {
        json_invalid(file, &error, "packages.lock.json", "regenerate it with `dotnet restore --force-evaluate`")
    })?;
    let mut lockfile = Lockfile::default();
    let mut components = BTreeMap::new();
    for packages in raw.dependencies.values() {
        let by_name: BTreeMap<String, String> = packages
            .iter()
            .filter_map(|(name, package)| Some((name.to_lowercase(), purl(name, package.resolved.as_deref()?))))
            .collect();
        let resolve = |package: &RawPackage| -> Vec<String> {
            package.dependencies.keys().filter_map(|name| by_name.get(&name.to_lowercase()).cloned()).collect()
        };
        for (name, package) in packages {
            let Some(version) = &package.resolved else {
                if package.kind.as_deref() == Some("Project") {
                    lockfile.direct.extend(resolve(package));
                }
                continue;
            };
            let hashes = package
                .content_hash
                .as_deref()
                .and_then(|hash| base64::engine::general_purpose::STANDARD.decode(hash).ok())
                .filter(|bytes| bytes.len() == 64)
                .map(|bytes| vec![Hash { algorithm: "SHA-512", hex: hex(&bytes) }])
                .unwrap_or_default();
            let component = Component {
                ecosystem: Ecosystem::Nuget,
                group: None,
                name: name.clone(),
                version: version.clone(),
                purl: purl(name, version),
                origin: Origin::Registry(NUGET.to_owned()),
                hashes,
                depends_on: resolve(package),
                development: false,
            };
            if package.kind.as_deref() == Some("Direct") {
                lockfile.direct.push(component.purl.clone());
            }
            merge(&mut components, component);
        }
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct.sort();
    lockfile.direct.dedup();
    Ok(lockfile)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.3, )",
        "resolved": "13.0.3",
        "contentHash": "HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ=="
      },
      "Serilog.Sinks.Console": {
        "type": "Direct",
        "requested": "[5.0.1, )",
        "resolved": "5.0.1",
        "contentHash": "6Jt8jl9y2ueQ9LxzOq9eJLtjYJ9tHlGQ9fFxE+9gX/6Z5g2kXqWmO1cvVw8rY4n0Xf8gD3u3lG0k6Tz3Jd6K0w==",
        "dependencies": {
          "serilog": "3.1.1"
        }
      },
      "Serilog": {
        "type": "Transitive",
        "resolved": "3.1.1",
        "contentHash": "P6G4/4Kt9bT635bhuwdXlJ2SCqqn2nhh4gqFqQueCOr9bK/e7W9ll/IoX1Ter948cV2Z/5+5v8pAfJYUISY03A=="
      },
      "Shared": {
        "type": "Project",
        "dependencies": {
          "Newtonsoft.Json": "[13.0.3, )"
        }
      }
    },
    "net8.0/linux-x64": {
      "Serilog": {
        "type": "Transitive",
        "resolved": "3.1.1",
        "contentHash": "P6G4/4Kt9bT635bhuwdXlJ2SCqqn2nhh4gqFqQueCOr9bK/e7W9ll/IoX1Ter948cV2Z/5+5v8pAfJYUISY03A=="
      }
    }
  }
}
"#;

    #[test]
    fn packages_of_every_framework_with_content_hashes_and_dependencies() {
        let lock = read("packages.lock.json", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            ["pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Serilog.Sinks.Console@5.0.1", "pkg:nuget/Serilog@3.1.1"]
        );
        assert_eq!(lock.components[0].hashes[0].algorithm, "SHA-512");
        assert_eq!(lock.components[0].hashes[0].hex.len(), 128);
        assert_eq!(lock.components[1].depends_on, ["pkg:nuget/Serilog@3.1.1"]);
        assert_eq!(lock.direct, ["pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Serilog.Sinks.Console@5.0.1"]);
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = read(
            "packages.lock.json",
            "{\n  \"dependencies\": {\n    \"net8.0\": { \"A\": { \"resolved\": 1 } }\n  }\n}",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.starts_with("packages.lock.json:3:36: not a valid packages.lock.json: invalid type"), "{error}");
        assert!(error.contains("dotnet restore"), "{error}");
    }
}
