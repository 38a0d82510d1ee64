//! `Cargo.lock`, read with the `toml` crate (versions 1 to 4 of the format; errors at toml's
//! spans).
//!
//! Each `[[package]]` is a component `pkg:cargo/NAME@VERSION`; its `source` tells the registry
//! (`registry+URL`, `sparse+URL`) from git (`git+URL?branch=..#REV`) from a path (no source: a
//! workspace member or a path dependency). A registry other than crates.io is named in the purl's
//! `repository_url` qualifier, a git source in `vcs_url`. Dependencies come from each package's
//! `dependencies` list, whose entries are `NAME`, `NAME VERSION` or `NAME VERSION (SOURCE)`.
//! The packages without a source are the project's own ([`super::Lockfile::direct`]): a
//! `Cargo.lock` does not tell workspace members from path dependencies, so both are.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Component, Ecosystem, Hash, Lockfile, Origin, SbomError, invalid_at, purl_encode};

const CRATES_IO: &[&str] =
    &["registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"];

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
}

/// Reads a `Cargo.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at the place of a TOML mistake, a package without its name or
/// version, or a dependency that names no package of the file.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let raw: RawLock = toml::from_str(text).map_err(|error| {
        invalid_at(
            file,
            text,
            error.span().map_or(0, |span| span.start),
            format!("not a valid Cargo.lock: {}", error.message()),
            Some("regenerate it with `cargo generate-lockfile` (or `cargo update -w`)".to_owned()),
        )
    })?;
    let packages = raw.package;
    let purls: Vec<(String, Origin)> = packages.iter().map(purl_and_origin).collect();
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_name.entry(package.name.as_str()).or_default().push(index);
    }
    let mut lockfile = Lockfile::default();
    for (index, package) in packages.iter().enumerate() {
        let mut depends_on = Vec::new();
        for dependency in &package.dependencies {
            let target = resolve(dependency.get_ref(), &packages, &by_name).ok_or_else(|| {
                invalid_at(
                    file,
                    text,
                    dependency.span().start,
                    format!(
                        "dependency `{}` of `{} {}` names no package of this file (or more than one)",
                        dependency.get_ref(),
                        package.name,
                        package.version
                    ),
                    Some("expected `NAME`, `NAME VERSION` or `NAME VERSION (SOURCE)` of a [[package]] here; regenerate the file with `cargo generate-lockfile`".to_owned()),
                )
            })?;
            depends_on.push(purls[target].0.clone());
        }
        depends_on.sort();
        depends_on.dedup();
        let (purl, origin) = purls[index].clone();
        if matches!(origin, Origin::Path(_)) {
            lockfile.direct.push(purl.clone());
        }
        let hashes = package
            .checksum
            .iter()
            .filter(|sum| sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|sum| Hash { algorithm: "SHA-256", hex: sum.to_ascii_lowercase() })
            .collect();
        lockfile.components.push(Component {
            ecosystem: Ecosystem::Cargo,
            group: None,
            name: package.name.clone(),
            version: package.version.clone(),
            purl,
            origin,
            hashes,
            depends_on,
            development: false,
        });
    }
    lockfile.components.sort_by(|a, b| a.purl.cmp(&b.purl));
    lockfile.components.dedup_by(|a, b| a.purl == b.purl);
    lockfile.direct.sort();
    Ok(lockfile)
}

fn purl_and_origin(package: &RawPackage) -> (String, Origin) {
    let base = format!("pkg:cargo/{}@{}", purl_encode(&package.name), purl_encode(&package.version));
    match package.source.as_deref() {
        None => (base, Origin::Path(String::new())),
        Some(source) if CRATES_IO.contains(&source) => (base, Origin::Registry(source.to_owned())),
        Some(source) => {
            if let Some(url) = source.strip_prefix("git+") {
                // `URL?branch=..#REV`: the purl's vcs_url is `git+URL@REV`.
                let (address, revision) = url.split_once('#').unwrap_or((url, ""));
                let address = address.split_once('?').map_or(address, |(address, _)| address);
                let vcs =
                    if revision.is_empty() { format!("git+{address}") } else { format!("git+{address}@{revision}") };
                (format!("{base}?vcs_url={}", purl_encode(&vcs)), Origin::Git(source.to_owned()))
            } else {
                let index = source.split_once('+').map_or(source, |(_, url)| url);
                (format!("{base}?repository_url={}", purl_encode(index)), Origin::Registry(source.to_owned()))
            }
        }
    }
}

/// The package a `dependencies` entry names.
fn resolve(entry: &str, packages: &[RawPackage], by_name: &BTreeMap<&str, Vec<usize>>) -> Option<usize> {
    let mut parts = entry.splitn(3, ' ');
    let name = parts.next()?;
    let version = parts.next();
    let source = parts.next().map(|source| source.trim_start_matches('(').trim_end_matches(')'));
    let candidates: Vec<usize> = by_name
        .get(name)?
        .iter()
        .copied()
        .filter(|&index| version.is_none_or(|version| packages[index].version == version))
        .filter(|&index| source.is_none_or(|source| packages[index].source.as_deref() == Some(source)))
        .collect();
    match candidates.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "helper",
 "serde 1.0.200",
 "rand",
 "private",
]

[[package]]
name = "helper"
version = "0.2.0"

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"

[[package]]
name = "serde"
version = "0.9.15"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "rand"
version = "0.9.0"
source = "git+https://github.com/rust-random/rand?branch=master#abc123"

[[package]]
name = "private"
version = "1.0.0"
source = "sparse+https://crates.example.com/index/"
dependencies = ["serde 0.9.15 (registry+https://github.com/rust-lang/crates.io-index)"]
"#;

    #[test]
    fn packages_sources_and_dependencies() {
        let lock = read("Cargo.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:cargo/app@0.1.0",
                "pkg:cargo/helper@0.2.0",
                "pkg:cargo/private@1.0.0?repository_url=https%3A%2F%2Fcrates.example.com%2Findex%2F",
                "pkg:cargo/rand@0.9.0?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Frust-random%2Frand%40abc123",
                "pkg:cargo/serde@0.9.15",
                "pkg:cargo/serde@1.0.200",
            ]
        );
        let app = &lock.components[0];
        assert_eq!(app.origin.kind(), "path");
        assert_eq!(app.depends_on.len(), 4);
        assert!(app.depends_on.contains(&"pkg:cargo/serde@1.0.200".to_owned()));
        assert_eq!(lock.components[3].origin.kind(), "git");
        assert_eq!(lock.components[2].depends_on, ["pkg:cargo/serde@0.9.15"]);
        assert_eq!(lock.components[5].hashes.len(), 1);
        assert_eq!(lock.direct, ["pkg:cargo/app@0.1.0", "pkg:cargo/helper@0.2.0"]);
    }

    #[test]
    fn an_ambiguous_or_unknown_dependency_is_named_at_its_place() {
        let text = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"nothing\"]\n";
        let error = read("Cargo.lock", text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("Cargo.lock:4:17: dependency `nothing` of `a 1.0.0` names no package"), "{error}");
    }

    #[test]
    fn malformed_toml_and_missing_fields_have_their_place() {
        let error = read("Cargo.lock", "[[package]]\nname = \"a\"\nversion = 1\n").err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.starts_with("Cargo.lock:3:11: not a valid Cargo.lock"), "{error}");
        assert!(error.contains("help: regenerate"), "{error}");
        let error =
            read("x/Cargo.lock", "[[package]]\nname = \"a\"\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("x/Cargo.lock:1:1: not a valid Cargo.lock: missing field `version`"), "{error}");
        let error = read("Cargo.lock", "[[package]\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("Cargo.lock:1:"), "{error}");
    }
}
