//! Composer's `composer.lock`, read with `serde_json` (errors at its line and column).
//!
//! Each package of `packages` and `packages-dev` (development-only) is a component
//! `pkg:composer/VENDOR/NAME@VERSION` (the vendor as purl's namespace and the component's group,
//! names in lower case as Packagist keeps them, the version as the lockfile writes it), from its
//! `dist` archive (its `shasum`, a SHA-1, kept when there is one), else its `source` (a git
//! repository at its `reference`, or a `path` beside the lockfile). Its `require` is resolved by
//! name to the packages of the lockfile, and to those that `replace` or `provide` a name;
//! platform requirements (`php`, `ext-*`, `lib-*`, `composer-*-api`) are not packages. The
//! lockfile does not record the project's own requirements: the `composer.json` beside it names
//! them when there is one, else the packages nothing requires are taken as its direct ones.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    Component, Ecosystem, Hash, Lockfile, Origin, SbomError, SkippedLine, json_invalid, line_at, merge, purl_encode,
    roots,
};

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    packages: Vec<RawPackage>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<RawPlace>,
    dist: Option<RawPlace>,
    #[serde(default)]
    require: BTreeMap<String, String>,
    #[serde(default)]
    replace: BTreeMap<String, String>,
    #[serde(default)]
    provide: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPlace {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
    reference: Option<String>,
    shasum: Option<String>,
}

/// Whether a requirement is of the platform (PHP, its extensions and libraries, Composer).
fn is_platform(name: &str) -> bool {
    name == "php"
        || name.starts_with("php-")
        || name.starts_with("ext-")
        || name.starts_with("lib-")
        || name == "composer"
        || name.starts_with("composer-") && name.ends_with("-api")
        || name == "hhvm"
}

/// Reads a `composer.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a JSON mistake or a missing or mistyped field.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = serde_json::from_str(text)
        .map_err(|error| json_invalid(file, &error, "composer.lock", "regenerate it with `composer update --lock`"))?;
    let mut lockfile = Lockfile::default();
    let all: Vec<(&RawPackage, bool)> = raw
        .packages
        .iter()
        .map(|package| (package, false))
        .chain(raw.packages_dev.iter().map(|package| (package, true)))
        .collect();
    let mut built: Vec<Option<Component>> = Vec::new();
    for (package, development) in &all {
        let name = package.name.to_lowercase();
        let Some((vendor, short)) = name.split_once('/') else {
            lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line: name_line(text, &package.name),
                reason: format!("`{}` is not `vendor/name`, so it has no purl", package.name),
            });
            built.push(None);
            continue;
        };
        let mut hashes = Vec::new();
        let origin = match (&package.dist, &package.source) {
            (Some(dist), _)
                if dist.url.as_ref().is_some_and(|url| !url.is_empty()) && dist.kind.as_deref() != Some("path") =>
            {
                if let Some(shasum) =
                    dist.shasum.as_deref().filter(|sum| sum.len() == 40 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    hashes.push(Hash { algorithm: "SHA-1", hex: shasum.to_ascii_lowercase() });
                }
                Origin::Registry(dist.url.clone().unwrap_or_default())
            }
            (Some(place), _) | (None, Some(place)) if place.kind.as_deref() == Some("path") => {
                Origin::Path(place.url.clone().unwrap_or_default())
            }
            (_, Some(source)) => {
                let url = source.url.clone().unwrap_or_default();
                match &source.reference {
                    Some(reference) if source.kind.as_deref() == Some("git") => {
                        Origin::Git(format!("git+{url}#{reference}"))
                    }
                    _ => Origin::Registry(url),
                }
            }
            (_, None) => Origin::Registry(String::new()),
        };
        built.push(Some(Component {
            ecosystem: Ecosystem::Composer,
            group: Some(vendor.to_owned()),
            name: short.to_owned(),
            version: package.version.clone(),
            purl: format!(
                "pkg:composer/{}/{}@{}",
                purl_encode(vendor),
                purl_encode(short),
                purl_encode(&package.version)
            ),
            origin,
            hashes,
            depends_on: Vec::new(),
            development: *development,
        }));
    }
    // Each name to the packages that are it, replace it or provide it.
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((package, _), component) in all.iter().zip(&built) {
        let Some(component) = component else { continue };
        for name in std::iter::once(&package.name).chain(package.replace.keys()).chain(package.provide.keys()) {
            by_name.entry(name.to_lowercase()).or_default().push(component.purl.clone());
        }
    }
    let mut components = BTreeMap::new();
    for ((package, _), component) in all.iter().zip(built) {
        let Some(mut component) = component else { continue };
        for requirement in package.require.keys().map(|name| name.to_lowercase()).filter(|name| !is_platform(name)) {
            match by_name.get(&requirement) {
                Some(purls) => {
                    component.depends_on.extend(purls.iter().filter(|purl| **purl != component.purl).cloned())
                }
                None => lockfile.skipped.push(SkippedLine {
                    file: file.to_owned(),
                    line: name_line(text, &package.name),
                    reason: format!("{}'s requirement `{requirement}` is not a package of the lockfile", package.name),
                }),
            }
        }
        merge(&mut components, component);
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct = roots(&lockfile.components);
    lockfile.inferred_direct = true;
    Ok(lockfile)
}

/// The line of a package's `"name": "NAME"` (1 when it cannot be found).
fn name_line(text: &str, name: &str) -> usize {
    let needle = format!("\"{name}\"");
    let offset = text
        .match_indices(&needle)
        .map(|(offset, _)| offset)
        .find(|&offset| text[..offset].trim_end().ends_with("\"name\":"))
        .unwrap_or(0);
    line_at(text, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
    "_readme": [
        "This file locks the dependencies of your project to a known state",
        "Read more about it at https://getcomposer.org/doc/01-basic-usage.md#installing-dependencies",
        "This file is @generated automatically"
    ],
    "content-hash": "6a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "packages": [
        {
            "name": "monolog/monolog",
            "version": "3.5.0",
            "source": {
                "type": "git",
                "url": "https://github.com/Seldaek/monolog.git",
                "reference": "c915e2634718dbc8a4a15c61b0e62e7a44e14448"
            },
            "dist": {
                "type": "zip",
                "url": "https://api.github.com/repos/Seldaek/monolog/zipball/c915e2634718dbc8a4a15c61b0e62e7a44e14448",
                "reference": "c915e2634718dbc8a4a15c61b0e62e7a44e14448",
                "shasum": ""
            },
            "require": {
                "php": ">=8.1",
                "psr/log": "^2.0 || ^3.0"
            },
            "provide": {
                "psr/log-implementation": "3.0.0"
            },
            "type": "library"
        },
        {
            "name": "psr/log",
            "version": "3.0.0",
            "source": {
                "type": "git",
                "url": "https://github.com/php-fig/log.git",
                "reference": "fe5ea303b0887d5caefd3d431c3e61ad47037001"
            },
            "dist": {
                "type": "zip",
                "url": "https://api.github.com/repos/php-fig/log/zipball/fe5ea303b0887d5caefd3d431c3e61ad47037001",
                "reference": "fe5ea303b0887d5caefd3d431c3e61ad47037001",
                "shasum": "0a5d9b7f8c4e2b1a3d6f9e8c7b5a4d3c2b1a0f9e"
            },
            "require": {
                "php": ">=8.0.0"
            },
            "type": "library"
        },
        {
            "name": "acme/tools",
            "version": "dev-main",
            "source": {
                "type": "git",
                "url": "https://github.com/acme/tools.git",
                "reference": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
            },
            "require": {
                "ext-json": "*",
                "psr/log-implementation": "^3.0"
            },
            "type": "library"
        }
    ],
    "packages-dev": [
        {
            "name": "phpunit/php-timer",
            "version": "6.0.0",
            "dist": {
                "type": "zip",
                "url": "https://api.github.com/repos/sebastianbergmann/php-timer/zipball/e2a2d67966e740530f4a3343fe2e030ffdc1161d",
                "reference": "e2a2d67966e740530f4a3343fe2e030ffdc1161d",
                "shasum": ""
            },
            "require": {
                "php": ">=8.1",
                "sebastian/missing": "^1.0"
            },
            "type": "library"
        }
    ],
    "aliases": [],
    "minimum-stability": "stable",
    "stability-flags": [],
    "prefer-stable": false,
    "prefer-lowest": false,
    "platform": {
        "php": "^8.1"
    },
    "platform-dev": [],
    "plugin-api-version": "2.6.0"
}
"#;

    #[test]
    fn packages_vendors_dists_git_sources_and_provided_names() {
        let lock = read("composer.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:composer/acme/tools@dev-main",
                "pkg:composer/monolog/monolog@3.5.0",
                "pkg:composer/phpunit/php-timer@6.0.0",
                "pkg:composer/psr/log@3.0.0",
            ]
        );
        assert_eq!(lock.components[0].origin.kind(), "git");
        assert_eq!(lock.components[0].depends_on, ["pkg:composer/monolog/monolog@3.5.0"]);
        assert_eq!(lock.components[1].group.as_deref(), Some("monolog"));
        assert_eq!(lock.components[1].depends_on, ["pkg:composer/psr/log@3.0.0"]);
        assert!(lock.components[1].hashes.is_empty());
        assert_eq!(lock.components[3].hashes[0].algorithm, "SHA-1");
        assert!(lock.components[2].development && !lock.components[1].development);
        assert_eq!(lock.direct, ["pkg:composer/acme/tools@dev-main", "pkg:composer/phpunit/php-timer@6.0.0"]);
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            ["composer.lock:68: phpunit/php-timer's requirement `sebastian/missing` is not a package of the lockfile"]
        );
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = read("composer.lock", "{\n  \"packages\": [\n    { \"name\": \"a/b\" }\n  ]\n}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("composer.lock:3:21: not a valid composer.lock: missing field `version`"), "{error}");
        assert!(error.contains("help: regenerate it with `composer update --lock`"), "{error}");
    }
}
