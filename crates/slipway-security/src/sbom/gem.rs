//! Bundler's `Gemfile.lock`, read line by line (there is no well-kept Rust crate for it; the
//! format is a few sections of indented lines), each mistake an error at its line and column.
//!
//! The source sections (`GEM`, `GIT`, `PATH`, `PLUGIN SOURCE`) list their `specs:`, each gem at
//! four spaces (`name (version)` or `name (version-platform)`) with its dependencies at six.
//! Each gem is a component `pkg:gem/NAME@VERSION` (a platform as purl's `platform` qualifier),
//! from its section's `remote:` (a registry; a git repository at its `revision:`; a directory
//! beside the lockfile); `CHECKSUMS` (Bundler 2.5 and later) gives its SHA-256. A gem's
//! dependencies are resolved by name to every locked platform of that gem. `DEPENDENCIES` (the
//! Gemfile's own, `name!` for one from a git or path source) are the project's direct ones.
//! `PLATFORMS`, `RUBY VERSION` and `BUNDLED WITH` are not packages.

use std::collections::BTreeMap;

use super::{Component, Ecosystem, Hash, Lockfile, Origin, SbomError, SkippedLine, invalid_at, merge, purl_encode};

const HINT: &str = "regenerate it with `bundle lock`";

/// A spec read from a source section, before its dependencies are resolved.
struct Spec {
    line: usize,
    component: Component,
    dependencies: Vec<String>,
}

/// `name (inner)` → (`name`, `inner`); `name` → (`name`, None).
fn name_and_parenthesis(text: &str) -> Option<(&str, Option<&str>)> {
    match text.split_once(" (") {
        Some((name, rest)) => Some((name, Some(rest.strip_suffix(')')?))),
        None => (!text.contains(' ')).then_some((text, None)),
    }
}

/// A gem's purl: its platform, when it has one, as the `platform` qualifier.
fn purl(name: &str, version: &str, platform: Option<&str>) -> String {
    let base = format!("pkg:gem/{}@{}", purl_encode(name), purl_encode(version));
    match platform {
        Some(platform) => format!("{base}?platform={}", purl_encode(platform)),
        None => base,
    }
}

/// Splits a locked `version-platform` (a gem's version has no `-`).
fn version_and_platform(text: &str) -> (&str, Option<&str>) {
    match text.split_once('-') {
        Some((version, platform)) => (version, Some(platform)),
        None => (text, None),
    }
}

/// Reads a `Gemfile.lock`'s text; `file` names it in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at a line that is not what its section holds.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let mut lockfile = Lockfile::default();
    let mut specs: Vec<Spec> = Vec::new();
    let mut checksums: BTreeMap<String, Hash> = BTreeMap::new();
    let mut direct: Vec<(usize, String)> = Vec::new();
    let mut section = String::new();
    let mut remote = String::new();
    let mut revision = String::new();
    let mut in_specs = false;
    let mut offset = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += raw.len() + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        let wrong = |message: String| {
            invalid_at(
                file,
                text,
                line_offset + indent,
                format!("not a valid Gemfile.lock: {message}"),
                Some(HINT.to_owned()),
            )
        };
        if indent == 0 {
            content.clone_into(&mut section);
            remote.clear();
            revision.clear();
            in_specs = false;
            continue;
        }
        match section.as_str() {
            "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => match indent {
                2 => {
                    if content == "specs:" {
                        in_specs = true;
                    } else if let Some(value) = content.strip_prefix("remote:") {
                        value.trim().clone_into(&mut remote);
                    } else if let Some(value) = content.strip_prefix("revision:") {
                        value.trim().clone_into(&mut revision);
                    }
                }
                4 if in_specs => {
                    let Some((name, Some(locked))) = name_and_parenthesis(content) else {
                        return Err(wrong(format!("`{content}` is not a gem `name (version)`")));
                    };
                    let (version, platform) = version_and_platform(locked);
                    let origin = match section.as_str() {
                        "GIT" => Origin::Git(format!("git+{remote}#{revision}")),
                        "PATH" => Origin::Path(remote.clone()),
                        _ => Origin::Registry(remote.clone()),
                    };
                    specs.push(Spec {
                        line: index + 1,
                        component: Component {
                            ecosystem: Ecosystem::Gem,
                            group: None,
                            name: name.to_owned(),
                            version: version.to_owned(),
                            purl: purl(name, version, platform),
                            origin,
                            hashes: Vec::new(),
                            depends_on: Vec::new(),
                            development: false,
                        },
                        dependencies: Vec::new(),
                    });
                }
                6 if in_specs => {
                    let (Some(spec), Some((name, _))) = (specs.last_mut(), name_and_parenthesis(content)) else {
                        return Err(wrong(format!("`{content}` is not a dependency `name (requirement)` of a gem")));
                    };
                    spec.dependencies.push(name.to_owned());
                }
                _ => return Err(wrong(format!("unexpected indentation of {indent} spaces in {section}"))),
            },
            "DEPENDENCIES" => {
                let Some((name, _)) = name_and_parenthesis(content) else {
                    return Err(wrong(format!("`{content}` is not a dependency `name (requirement)`")));
                };
                direct.push((index + 1, name.trim_end_matches('!').to_owned()));
            }
            "CHECKSUMS" => {
                let (gem, digest) = content.split_once(") ").map_or((content, ""), |(gem, digest)| (gem, digest));
                let Some((name, Some(locked))) = name_and_parenthesis(&format!("{gem})"))
                    .map(|(name, locked)| (name.to_owned(), locked.map(str::to_owned)))
                else {
                    return Err(wrong(format!("`{content}` is not a checksum `name (version) sha256=HEX`")));
                };
                let (version, platform) = version_and_platform(&locked);
                for part in digest.split(',') {
                    if let Some(hash) =
                        part.strip_prefix("sha256=").and_then(|hex| super::prefixed_hash(&format!("sha256:{hex}")))
                    {
                        checksums.insert(purl(&name, version, platform), hash);
                    }
                }
            }
            _ => {}
        }
    }
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in &specs {
        by_name.entry(spec.component.name.clone()).or_default().push(spec.component.purl.clone());
    }
    let mut components = BTreeMap::new();
    for spec in specs {
        let mut component = spec.component;
        // Bundler itself is never locked as a gem.
        for dependency in spec.dependencies.iter().filter(|dependency| *dependency != "bundler") {
            match by_name.get(dependency) {
                Some(purls) => component.depends_on.extend(purls.iter().cloned()),
                None => lockfile.skipped.push(SkippedLine {
                    file: file.to_owned(),
                    line: spec.line,
                    reason: format!("{}'s dependency `{dependency}` is not a locked gem", component.name),
                }),
            }
        }
        if let Some(hash) = checksums.get(&component.purl) {
            component.hashes.push(hash.clone());
        }
        merge(&mut components, component);
    }
    for (line, name) in direct.into_iter().filter(|(_, name)| name != "bundler") {
        match by_name.get(&name) {
            Some(purls) => lockfile.direct.extend(purls.iter().cloned()),
            None => lockfile.skipped.push(SkippedLine {
                file: file.to_owned(),
                line,
                reason: format!("the dependency `{name}` is not a locked gem (for another platform?)"),
            }),
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

    const LOCK: &str = "GIT
  remote: https://github.com/rails/rails.git
  revision: 5c8f1b3c4a1a5f7e0e2d4b6a8c0e2f4a6b8d0c2e
  branch: main
  specs:
    activesupport (7.2.0.alpha)
      bundler (>= 1.15.0)
      concurrent-ruby (~> 1.0, >= 1.0.2)

PATH
  remote: .
  specs:
    mygem (0.1.0)
      nokogiri (~> 1.16)

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.3)
    nokogiri (1.16.0-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.16.0-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)
    rake (13.1.0)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  activesupport!
  mygem!
  rake (~> 13.0)

CHECKSUMS
  racc (1.7.3) sha256=b785ab8a30ec43bce073c51dbbe791fd27000f68d1c996c95da98bf685316905
  rake (13.1.0) sha256=8f1e4ab32d6e5d9a5e1c86f8c3c6a4e2b2ad46e39e7e0ab3e8f2b5b9b8d4c3a2

BUNDLED WITH
   2.5.4
";

    #[test]
    fn sources_platforms_checksums_and_dependencies() {
        let lock = read("Gemfile.lock", LOCK).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:gem/activesupport@7.2.0.alpha",
                "pkg:gem/concurrent-ruby@1.2.3",
                "pkg:gem/mygem@0.1.0",
                "pkg:gem/nokogiri@1.16.0?platform=arm64-darwin",
                "pkg:gem/nokogiri@1.16.0?platform=x86_64-linux",
                "pkg:gem/racc@1.7.3",
                "pkg:gem/rake@13.1.0",
            ]
        );
        assert_eq!(
            lock.components[0].origin,
            Origin::Git("git+https://github.com/rails/rails.git#5c8f1b3c4a1a5f7e0e2d4b6a8c0e2f4a6b8d0c2e".to_owned())
        );
        assert_eq!(lock.components[0].depends_on, ["pkg:gem/concurrent-ruby@1.2.3"]);
        assert_eq!(lock.components[2].origin, Origin::Path(".".to_owned()));
        assert_eq!(
            lock.components[2].depends_on,
            ["pkg:gem/nokogiri@1.16.0?platform=arm64-darwin", "pkg:gem/nokogiri@1.16.0?platform=x86_64-linux"]
        );
        assert_eq!(lock.components[3].version, "1.16.0");
        assert_eq!(lock.components[5].hashes[0].algorithm, "SHA-256");
        assert_eq!(lock.direct, ["pkg:gem/activesupport@7.2.0.alpha", "pkg:gem/mygem@0.1.0", "pkg:gem/rake@13.1.0"]);
        assert!(lock.skipped.is_empty(), "{:?}", lock.skipped);
    }

    #[test]
    fn malformed_lockfiles_are_named_at_their_place() {
        let error = |text: &str| read("Gemfile.lock", text).err().map(|e| e.to_string()).unwrap_or_default();
        let message = error("GEM\n  remote: https://rubygems.org/\n  specs:\n    rake 13.1.0\n");
        assert!(
            message
                .starts_with("Gemfile.lock:4:5: not a valid Gemfile.lock: `rake 13.1.0` is not a gem `name (version)`"),
            "{message}"
        );
        assert!(message.contains("help: regenerate it with `bundle lock`"), "{message}");
        let message = error("GEM\n  remote: https://rubygems.org/\n  specs:\n     rake (13.1.0)\n");
        assert!(
            message
                .starts_with("Gemfile.lock:4:6: not a valid Gemfile.lock: unexpected indentation of 5 spaces in GEM"),
            "{message}"
        );
    }
}
