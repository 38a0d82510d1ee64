//! Whether a version of a package is affected by an OSV record, by OSV's evaluation algorithm:
//! a version is affected when an `affected` entry of its package lists it in `versions` or one of
//! its ranges holds it. A range's events are sorted by the version order (`introduced: "0"`
//! first) and walked: at or after an `introduced`, affected; at or after a `fixed`, or after a
//! `last_affected`, not; a range with `limit` events only holds versions below one of them.
//! `SEMVER` ranges use SemVer and `ECOSYSTEM` ranges the ecosystem's own order; `GIT` ranges need
//! a repository's commit graph and are not evaluated (the caller is told).

use std::cmp::Ordering;

use super::osv::{Affected, Event, Range, Record};
use super::version::{Scheme, Version, base_ecosystem};

/// How an affected entry holds a version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    /// The `fixed` versions above the version in the ranges that hold it, smallest first.
    pub fixed: Vec<String>,
}

/// What evaluating a record for a package found besides hits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    /// `GIT` ranges of the package that were not evaluated.
    pub git_ranges: usize,
    /// Ranges not evaluated because a version in them does not read in the order, and why.
    pub unreadable: Vec<String>,
}

/// A package name as OSV's ecosystem compares it (PyPI's normalized per PEP 503, NuGet's and
/// Packagist's without case).
#[must_use]
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match base_ecosystem(ecosystem) {
        "PyPI" => crate::sbom::pypi::normalise(name.trim()),
        "NuGet" | "Packagist" => name.trim().to_lowercase(),
        _ => name.trim().to_owned(),
    }
}

/// Whether `version` of the package `(ecosystem, name)` is affected by `record`, and how; with
/// the `affected` entry that holds it. Withdrawn records hold nothing.
pub fn evaluate<'a>(
    record: &'a Record,
    ecosystem: &str,
    name: &str,
    version: &str,
    notes: &mut Notes,
) -> Option<(&'a Affected, Hit)> {
    if record.is_withdrawn() {
        return None;
    }
    let base = base_ecosystem(ecosystem);
    let wanted = normalize_name(base, name);
    let scheme = Scheme::of(base)?;
    let installed = scheme.parse(version).ok();
    for affected in &record.affected {
        let Some(package) = &affected.package else { continue };
        if base_ecosystem(&package.ecosystem) != base || normalize_name(base, &package.name) != wanted {
            continue;
        }
        let mut hit: Option<Hit> = None;
        let listed = affected.versions.iter().any(|listed| {
            listed == version
                || installed
                    .as_ref()
                    .is_some_and(|installed| scheme.parse(listed).is_ok_and(|listed| &listed == installed))
        });
        if listed {
            hit = Some(Hit::default());
        }
        for range in &affected.ranges {
            let range_scheme = match range.kind.as_str() {
                "SEMVER" => Scheme::Semver,
                "ECOSYSTEM" => scheme,
                _ => {
                    notes.git_ranges += 1;
                    continue;
                }
            };
            let Ok(installed) = range_scheme.parse(version) else { continue };
            match in_range(range, range_scheme, &installed) {
                Ok(Some(fixed)) => {
                    let entry = hit.get_or_insert_with(Hit::default);
                    entry.fixed.extend(fixed);
                }
                Ok(None) => {}
                Err(message) => {
                    notes.unreadable.push(format!("{}: {message}; that range was not evaluated", record.id))
                }
            }
        }
        if let Some(mut hit) = hit {
            hit.fixed.sort_by(|a, b| scheme.compare(a, b).unwrap_or(Ordering::Equal));
            hit.fixed.dedup();
            return Some((affected, hit));
        }
    }
    None
}

/// The kinds of events, in the order they sort at one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Introduced,
    LastAffected,
    Fixed,
    Limit,
}

/// Whether the range holds `version`: `Some(fixed versions above it in the range)` if so.
fn in_range(range: &Range, scheme: Scheme, version: &Version) -> Result<Option<Vec<String>>, String> {
    // (the event's version, None for "0"; its kind; its text)
    let mut events: Vec<(Option<Version>, Kind, &str)> = Vec::new();
    let mut limits: Vec<Option<Version>> = Vec::new();
    for event in &range.events {
        let (kind, text) = kind_of(event);
        if kind == Kind::Limit {
            if text.contains('*') {
                limits.push(None);
            } else {
                limits.push(Some(scheme.parse(text)?));
            }
            continue;
        }
        let parsed = if kind == Kind::Introduced && text.trim() == "0" { None } else { Some(scheme.parse(text)?) };
        events.push((parsed, kind, text));
    }
    if !limits.is_empty() && !limits.iter().any(|limit| limit.as_ref().is_none_or(|limit| version < limit)) {
        return Ok(None);
    }
    events.sort_by(|a, b| match (&a.0, &b.0) {
        (None, None) => a.1.cmp(&b.1),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y).then(a.1.cmp(&b.1)),
    });
    let mut vulnerable = false;
    for (at, kind, _) in &events {
        match kind {
            Kind::Introduced => {
                if at.as_ref().is_none_or(|at| version >= at) {
                    vulnerable = true;
                }
            }
            Kind::Fixed => {
                if at.as_ref().is_some_and(|at| version >= at) {
                    vulnerable = false;
                }
            }
            Kind::LastAffected => {
                if at.as_ref().is_some_and(|at| version > at) {
                    vulnerable = false;
                }
            }
            Kind::Limit => {}
        }
    }
    if !vulnerable {
        return Ok(None);
    }
    let fixed = events
        .iter()
        .filter(|(at, kind, _)| *kind == Kind::Fixed && at.as_ref().is_some_and(|at| at > version))
        .map(|(_, _, text)| (*text).to_owned())
        .collect();
    Ok(Some(fixed))
}

fn kind_of(event: &Event) -> (Kind, &str) {
    if let Some(text) = &event.introduced {
        (Kind::Introduced, text)
    } else if let Some(text) = &event.fixed {
        (Kind::Fixed, text)
    } else if let Some(text) = &event.last_affected {
        (Kind::LastAffected, text)
    } else {
        (Kind::Limit, event.limit.as_deref().unwrap_or("*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vulns::osv::Package;

    fn event(kind: &str, version: &str) -> Event {
        let value = Some(version.to_owned());
        match kind {
            "introduced" => Event { introduced: value, ..Event::default() },
            "fixed" => Event { fixed: value, ..Event::default() },
            "last_affected" => Event { last_affected: value, ..Event::default() },
            _ => Event { limit: value, ..Event::default() },
        }
    }

    fn record(ecosystem: &str, name: &str, kind: &str, events: &[(&str, &str)], versions: &[&str]) -> Record {
        Record {
            id: "TEST-1".into(),
            modified: "2024-01-01T00:00:00Z".into(),
            affected: vec![Affected {
                package: Some(Package { ecosystem: ecosystem.into(), name: name.into(), purl: None }),
                ranges: vec![Range {
                    kind: kind.into(),
                    repo: None,
                    events: events.iter().map(|(kind, version)| event(kind, version)).collect(),
                }],
                versions: versions.iter().map(|version| (*version).to_owned()).collect(),
                ..Affected::default()
            }],
            ..Record::default()
        }
    }

    fn affected(record: &Record, ecosystem: &str, name: &str, version: &str) -> Option<Vec<String>> {
        evaluate(record, ecosystem, name, version, &mut Notes::default()).map(|(_, hit)| hit.fixed)
    }

    #[test]
    fn introduced_zero_and_fixed() {
        let record = record("crates.io", "smallvec", "SEMVER", &[("introduced", "0"), ("fixed", "1.6.1")], &[]);
        assert_eq!(affected(&record, "crates.io", "smallvec", "0.6.9"), Some(vec!["1.6.1".to_owned()]));
        assert_eq!(affected(&record, "crates.io", "smallvec", "1.6.0"), Some(vec!["1.6.1".to_owned()]));
        assert_eq!(affected(&record, "crates.io", "smallvec", "1.6.1"), None);
        assert_eq!(affected(&record, "crates.io", "smallvec", "2.0.0-alpha.1"), None);
        assert_eq!(affected(&record, "crates.io", "other", "1.0.0"), None);
        assert_eq!(affected(&record, "npm", "smallvec", "1.0.0"), None);
    }

    #[test]
    fn several_intervals_in_one_range_unsorted() {
        let record = record(
            "npm",
            "lodash",
            "SEMVER",
            &[("introduced", "3.0.0"), ("fixed", "3.2.5"), ("introduced", "1.0.0"), ("fixed", "1.0.2")],
            &[],
        );
        assert_eq!(affected(&record, "npm", "lodash", "0.9.0"), None);
        assert_eq!(affected(&record, "npm", "lodash", "1.0.1"), Some(vec!["1.0.2".to_owned(), "3.2.5".to_owned()]));
        assert_eq!(affected(&record, "npm", "lodash", "2.0.0"), None);
        assert_eq!(affected(&record, "npm", "lodash", "3.2.4"), Some(vec!["3.2.5".to_owned()]));
        assert_eq!(affected(&record, "npm", "lodash", "3.2.5"), None);
    }

    #[test]
    fn last_affected_includes_its_version_and_has_no_fix() {
        let record = record("PyPI", "Django", "ECOSYSTEM", &[("introduced", "4.0a1"), ("last_affected", "4.2")], &[]);
        assert_eq!(affected(&record, "PyPI", "django", "4.2"), Some(vec![]));
        assert_eq!(affected(&record, "PyPI", "django", "4.2.0"), Some(vec![]));
        assert_eq!(affected(&record, "PyPI", "django", "4.2.post1"), None);
        assert_eq!(affected(&record, "PyPI", "django", "3.2"), None);
        assert_eq!(affected(&record, "PyPI", "django", "4.0rc1"), Some(vec![]));
    }

    #[test]
    fn limits_bound_the_range() {
        let record = record("Go", "example.com/m", "SEMVER", &[("introduced", "0"), ("limit", "1.5.0")], &[]);
        assert_eq!(affected(&record, "Go", "example.com/m", "v1.4.9"), Some(vec![]));
        assert_eq!(affected(&record, "Go", "example.com/m", "v1.5.0"), None);
        let star = self::record("Go", "example.com/m", "SEMVER", &[("introduced", "1.0.0"), ("limit", "*")], &[]);
        assert_eq!(affected(&star, "Go", "example.com/m", "v9.0.0"), Some(vec![]));
    }

    #[test]
    fn listed_versions_match_and_ecosystem_ranges_use_the_ecosystems_order() {
        let listed = record("RubyGems", "rack", "GIT", &[("introduced", "abc")], &["2.2.3"]);
        let mut notes = Notes::default();
        assert!(evaluate(&listed, "RubyGems", "rack", "2.2.3", &mut notes).is_some());
        assert_eq!(notes.git_ranges, 1);
        assert!(evaluate(&listed, "RubyGems", "rack", "2.2.4", &mut notes).is_none());
        let maven = record(
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            "ECOSYSTEM",
            &[("introduced", "2.0-beta9"), ("fixed", "2.15.0")],
            &[],
        );
        assert_eq!(
            affected(&maven, "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
            Some(vec!["2.15.0".to_owned()])
        );
        assert_eq!(affected(&maven, "Maven", "org.apache.logging.log4j:log4j-core", "2.0-alpha1"), None);
        assert_eq!(affected(&maven, "Maven", "org.apache.logging.log4j:log4j-core", "2.15.0"), None);
        let nuget = record("NuGet", "Newtonsoft.Json", "ECOSYSTEM", &[("introduced", "0"), ("fixed", "13.0.1")], &[]);
        assert_eq!(affected(&nuget, "NuGet", "newtonsoft.json", "12.0.3"), Some(vec!["13.0.1".to_owned()]));
    }

    #[test]
    fn withdrawn_records_match_nothing_and_bad_versions_are_said() {
        let mut withdrawn = record("npm", "a", "SEMVER", &[("introduced", "0")], &[]);
        withdrawn.withdrawn = Some("2024-02-01T00:00:00Z".into());
        assert_eq!(affected(&withdrawn, "npm", "a", "1.0.0"), None);
        let bad = record("npm", "a", "SEMVER", &[("introduced", "0"), ("fixed", "soon")], &[]);
        let mut notes = Notes::default();
        assert!(evaluate(&bad, "npm", "a", "1.0.0", &mut notes).is_none());
        assert_eq!(notes.unreadable, ["TEST-1: 'soon' is not a SemVer version; that range was not evaluated"]);
    }

    #[test]
    fn pypi_names_are_normalized() {
        assert_eq!(normalize_name("PyPI", "Zope.Interface__x"), "zope-interface-x");
        assert_eq!(normalize_name("npm", "@Scope/x"), "@Scope/x");
    }
}
