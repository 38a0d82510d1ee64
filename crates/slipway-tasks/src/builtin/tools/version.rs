//! Versions and version ranges as the tool installers match them: the tool library's
//! `evaluateVersions` uses node-semver's `satisfies`, so `3.x`, `3.11`, `>= 3.8`, `^1.2`, `~1.2.3`,
//! `1.2 - 1.4` and `a || b` mean here what they mean there, prerelease versions included only
//! when a comparator of the same `major.minor.patch` names a prerelease.

use std::cmp::Ordering;

/// One prerelease identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identifier {
    Numeric(u64),
    Alphanumeric(String),
}

impl Identifier {
    fn parse(text: &str) -> Self {
        if !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(number) = text.parse()
        {
            return Self::Numeric(number);
        }
        Self::Alphanumeric(text.to_owned())
    }
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Numeric(a), Self::Numeric(b)) => a.cmp(b),
            (Self::Numeric(_), Self::Alphanumeric(_)) => Ordering::Less,
            (Self::Alphanumeric(_), Self::Numeric(_)) => Ordering::Greater,
            (Self::Alphanumeric(a), Self::Alphanumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A semantic version (`1.2.3`, `1.2.3-rc.1`; build metadata is ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    pre: Vec<Identifier>,
}

impl Version {
    /// A version without a prerelease.
    #[must_use]
    pub(crate) const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self { major, minor, patch, pre: Vec::new() }
    }

    /// Reads a full version (`semver.clean`'s leniency: surrounding spaces, a leading `v` or `=`).
    #[must_use]
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (major, minor, patch, pre) = partial(text)?;
        Some(Self { major: major?, minor: minor?, patch: patch?, pre })
    }

    /// Whether this is a prerelease.
    #[must_use]
    pub(crate) fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }

    fn with_pre(mut self, pre: Vec<Identifier>) -> Self {
        self.pre = pre;
        self
    }

    /// The version with prerelease `0`: the lowest version of that `major.minor.patch`.
    fn floor(major: u64, minor: u64, patch: u64) -> Self {
        Self::new(major, minor, patch).with_pre(vec![Identifier::Numeric(0)])
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.triple().cmp(&other.triple()).then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (index, identifier) in self.pre.iter().enumerate() {
            formatter.write_str(if index == 0 { "-" } else { "." })?;
            match identifier {
                Identifier::Numeric(number) => write!(formatter, "{number}")?,
                Identifier::Alphanumeric(text) => formatter.write_str(text)?,
            }
        }
        Ok(())
    }
}

type Partial = (Option<u64>, Option<u64>, Option<u64>, Vec<Identifier>);

/// Reads a possibly partial version: `1`, `1.2`, `1.x`, `*`, `1.2.3-rc.1+build`. Missing or
/// wildcard parts are `None`.
fn partial(text: &str) -> Option<Partial> {
    let text = text.trim();
    let text = text.strip_prefix('=').unwrap_or(text).trim_start();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let text = text.split('+').next().unwrap_or_default();
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    if core.is_empty() {
        return if pre.is_none() { Some((None, None, None, Vec::new())) } else { None };
    }
    let mut numbers = [None; 3];
    let mut parts = core.split('.');
    for slot in &mut numbers {
        match parts.next() {
            None => break,
            Some("x" | "X" | "*") => break,
            Some(part) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => {
                *slot = Some(part.parse().ok()?);
            }
            Some(_) => return None,
        }
    }
    // After a wildcard only wildcards may follow; nothing may follow the patch.
    if parts.any(|part| !matches!(part, "x" | "X" | "*")) {
        return None;
    }
    let pre = match pre {
        Some(pre) => {
            if numbers[2].is_none() || pre.is_empty() || pre.split('.').any(str::is_empty) {
                return None;
            }
            pre.split('.').map(Identifier::parse).collect()
        }
        None => Vec::new(),
    };
    Some((numbers[0], numbers[1], numbers[2], pre))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: Version,
}

impl Comparator {
    fn new(op: Op, version: Version) -> Self {
        Self { op, version }
    }

    fn any() -> Self {
        Self::new(Op::GreaterOrEqual, Version::new(0, 0, 0))
    }

    fn none() -> Self {
        Self::new(Op::Less, Version::floor(0, 0, 0))
    }

    fn test(&self, version: &Version) -> bool {
        let ordering = version.cmp(&self.version);
        match self.op {
            Op::Less => ordering == Ordering::Less,
            Op::LessOrEqual => ordering != Ordering::Greater,
            Op::Greater => ordering == Ordering::Greater,
            Op::GreaterOrEqual => ordering != Ordering::Less,
            Op::Equal => ordering == Ordering::Equal,
        }
    }
}

/// A version range: alternatives (`||`) of comparator sets that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    sets: Vec<Vec<Comparator>>,
}

impl Range {
    /// Reads a range; `None` when it is not one node-semver would accept.
    #[must_use]
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let sets = text.split("||").map(parse_set).collect::<Option<Vec<_>>>()?;
        Some(Self { sets })
    }

    /// Whether `version` is in the range. Prereleases match only a comparator set that names a
    /// prerelease of the same `major.minor.patch`, unless `include_prerelease`.
    #[must_use]
    pub(crate) fn satisfies(&self, version: &Version, include_prerelease: bool) -> bool {
        self.sets.iter().any(|set| {
            set.iter().all(|comparator| comparator.test(version))
                && (include_prerelease
                    || !version.is_prerelease()
                    || set.iter().any(|comparator| {
                        comparator.version.is_prerelease() && comparator.version.triple() == version.triple()
                    }))
        })
    }

    /// The highest of `versions` in the range (`evaluateVersions`).
    #[must_use]
    pub(crate) fn best<'a, T>(&self, versions: &'a [T], version_of: impl Fn(&T) -> &Version) -> Option<&'a T> {
        versions
            .iter()
            .filter(|candidate| self.satisfies(version_of(candidate), false))
            .max_by(|a, b| version_of(a).cmp(version_of(b)))
    }
}

/// One comparator set: whitespace-separated comparators, or a hyphen range `a - b`.
fn parse_set(text: &str) -> Option<Vec<Comparator>> {
    let mut tokens: Vec<String> = Vec::new();
    let mut pending_operator: Option<String> = None;
    for word in text.split_whitespace() {
        let is_operator = !word.is_empty() && word.chars().all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'));
        if is_operator {
            pending_operator = Some(pending_operator.unwrap_or_default() + word);
        } else {
            tokens.push(pending_operator.take().unwrap_or_default() + word);
        }
    }
    if pending_operator.is_some() {
        return None;
    }
    if tokens.is_empty() {
        return Some(vec![Comparator::any()]);
    }
    if tokens.len() == 3 && tokens[1] == "-" {
        return hyphen(&tokens[0], &tokens[2]);
    }
    let mut set = Vec::new();
    for token in &tokens {
        set.extend(comparator(token)?);
    }
    Some(set)
}

fn hyphen(low: &str, high: &str) -> Option<Vec<Comparator>> {
    let (major, minor, patch, pre) = partial(low)?;
    let lower = match major {
        None => Comparator::any(),
        Some(major) => Comparator::new(
            Op::GreaterOrEqual,
            Version::new(major, minor.unwrap_or(0), patch.unwrap_or(0)).with_pre(pre),
        ),
    };
    let (major, minor, patch, pre) = partial(high)?;
    let upper = match (major, minor, patch) {
        (None, _, _) => Comparator::any(),
        (Some(major), None, _) => Comparator::new(Op::Less, Version::floor(major + 1, 0, 0)),
        (Some(major), Some(minor), None) => Comparator::new(Op::Less, Version::floor(major, minor + 1, 0)),
        (Some(major), Some(minor), Some(patch)) => {
            Comparator::new(Op::LessOrEqual, Version::new(major, minor, patch).with_pre(pre))
        }
    };
    Some(vec![lower, upper])
}

/// Desugars one comparator (`>=1.2`, `~1.2.3`, `^0.2`, `1.x`) into primitive comparisons.
fn comparator(token: &str) -> Option<Vec<Comparator>> {
    let operator_length = token.find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^')).unwrap_or(token.len());
    let (operator, rest) = token.split_at(operator_length);
    let (major, minor, patch, pre) = partial(rest)?;
    let full = |major, minor, patch| Version::new(major, minor, patch).with_pre(pre.clone());
    let out = match operator {
        "" | "=" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::any()],
            (Some(major), None, _) => caret_like(major, 0, 0, Version::floor(major + 1, 0, 0)),
            (Some(major), Some(minor), None) => caret_like(major, minor, 0, Version::floor(major, minor + 1, 0)),
            (Some(major), Some(minor), Some(patch)) => vec![Comparator::new(Op::Equal, full(major, minor, patch))],
        },
        "~" | "~>" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::any()],
            (Some(major), None, _) => caret_like(major, 0, 0, Version::floor(major + 1, 0, 0)),
            (Some(major), Some(minor), None) => caret_like(major, minor, 0, Version::floor(major, minor + 1, 0)),
            (Some(major), Some(minor), Some(patch)) => vec![
                Comparator::new(Op::GreaterOrEqual, full(major, minor, patch)),
                Comparator::new(Op::Less, Version::floor(major, minor + 1, 0)),
            ],
        },
        "^" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::any()],
            (Some(major), None, _) => caret_like(major, 0, 0, Version::floor(major + 1, 0, 0)),
            (Some(0), Some(minor), None) => caret_like(0, minor, 0, Version::floor(0, minor + 1, 0)),
            (Some(major), Some(minor), None) => caret_like(major, minor, 0, Version::floor(major + 1, 0, 0)),
            (Some(major), Some(minor), Some(patch)) => {
                let upper = if major != 0 {
                    Version::floor(major + 1, 0, 0)
                } else if minor != 0 {
                    Version::floor(0, minor + 1, 0)
                } else {
                    Version::floor(0, 0, patch + 1)
                };
                vec![Comparator::new(Op::GreaterOrEqual, full(major, minor, patch)), Comparator::new(Op::Less, upper)]
            }
        },
        ">" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::none()],
            (Some(major), None, _) => vec![Comparator::new(Op::GreaterOrEqual, Version::new(major + 1, 0, 0))],
            (Some(major), Some(minor), None) => {
                vec![Comparator::new(Op::GreaterOrEqual, Version::new(major, minor + 1, 0))]
            }
            (Some(major), Some(minor), Some(patch)) => vec![Comparator::new(Op::Greater, full(major, minor, patch))],
        },
        ">=" => match major {
            None => vec![Comparator::any()],
            Some(major) => {
                vec![Comparator::new(Op::GreaterOrEqual, full(major, minor.unwrap_or(0), patch.unwrap_or(0)))]
            }
        },
        "<" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::none()],
            (Some(major), None, _) => vec![Comparator::new(Op::Less, Version::floor(major, 0, 0))],
            (Some(major), Some(minor), None) => vec![Comparator::new(Op::Less, Version::floor(major, minor, 0))],
            (Some(major), Some(minor), Some(patch)) => vec![Comparator::new(Op::Less, full(major, minor, patch))],
        },
        "<=" => match (major, minor, patch) {
            (None, _, _) => vec![Comparator::any()],
            (Some(major), None, _) => vec![Comparator::new(Op::Less, Version::floor(major + 1, 0, 0))],
            (Some(major), Some(minor), None) => vec![Comparator::new(Op::Less, Version::floor(major, minor + 1, 0))],
            (Some(major), Some(minor), Some(patch)) => {
                vec![Comparator::new(Op::LessOrEqual, full(major, minor, patch))]
            }
        },
        _ => return None,
    };
    Some(out)
}

fn caret_like(major: u64, minor: u64, patch: u64, upper: Version) -> Vec<Comparator> {
    vec![Comparator::new(Op::GreaterOrEqual, Version::new(major, minor, patch)), Comparator::new(Op::Less, upper)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(range: &str, version: &str) -> bool {
        let range = Range::parse(range).unwrap_or_else(|| panic!("range {range}"));
        range.satisfies(&Version::parse(version).unwrap_or_else(|| panic!("version {version}")), false)
    }

    #[test]
    fn parses_and_orders_versions() {
        assert_eq!(Version::parse(" v1.2.3 ").map(|v| v.to_string()), Some("1.2.3".to_owned()));
        assert_eq!(Version::parse("1.2.3-rc.1+build.5").map(|v| v.to_string()), Some("1.2.3-rc.1".to_owned()));
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert_eq!(Version::parse("1.2.x"), None);
        let mut versions: Vec<Version> =
            ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "0.9.9"]
                .iter()
                .filter_map(|v| Version::parse(v))
                .collect();
        versions.sort();
        let sorted: Vec<String> = versions.iter().map(ToString::to_string).collect();
        assert_eq!(
            sorted,
            ["0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
        );
    }

    #[test]
    fn ranges_match_like_node_semver() {
        assert!(satisfies("3.x", "3.12.1"));
        assert!(!satisfies("3.x", "2.7.18"));
        assert!(satisfies("3.11", "3.11.9"));
        assert!(!satisfies("3.11", "3.12.0"));
        assert!(satisfies(">= 3.8", "3.12.0"));
        assert!(!satisfies(">= 3.8", "3.7.9"));
        assert!(satisfies(">=4.9", "6.4.0"));
        assert!(satisfies("16.x", "16.20.2"));
        assert!(satisfies("1.21.x", "1.21.5"));
        assert!(!satisfies("1.21.x", "1.22.0"));
        assert!(satisfies("8", "8.0.392"));
        assert!(satisfies("3.11.4", "3.11.4"));
        assert!(!satisfies("3.11.4", "3.11.5"));
        assert!(satisfies("^1.2.3", "1.9.0"));
        assert!(!satisfies("^0.2.3", "0.3.0"));
        assert!(satisfies("~1.2.3", "1.2.9"));
        assert!(!satisfies("~1.2.3", "1.3.0"));
        assert!(satisfies("1.2 - 1.4", "1.4.7"));
        assert!(!satisfies("1.2 - 1.4.0", "1.4.7"));
        assert!(satisfies("<3 || >=5.1", "5.1.0"));
        assert!(!satisfies("<3 || >=5.1", "4.0.0"));
        assert!(!satisfies(">1", "1.9.9"));
        assert!(satisfies("*", "0.0.1"));
        assert!(satisfies("", "7.0.0"));
        assert!(Range::parse("not a version").is_none());
        assert!(Range::parse(">=").is_none());
    }

    #[test]
    fn prereleases_need_a_comparator_that_names_them() {
        assert!(!satisfies("3.x", "3.13.0-rc.2"));
        assert!(satisfies(">= 3.13.0-a0", "3.13.0-rc.2"));
        assert!(!satisfies(">= 3.13.0-a0", "3.14.0-a.1"));
        let range = Range::parse("3.x").expect("range");
        assert!(range.satisfies(&Version::parse("3.13.0-rc.2").expect("version"), true));
    }

    #[test]
    fn best_is_the_highest_match() {
        let versions: Vec<Version> =
            ["3.9.1", "3.11.2", "3.11.10", "3.12.0-rc.1"].iter().filter_map(|v| Version::parse(v)).collect();
        let range = Range::parse("3.x").expect("range");
        assert_eq!(range.best(&versions, |v| v).map(ToString::to_string), Some("3.11.10".to_owned()));
        assert_eq!(Range::parse("4").expect("range").best(&versions, |v| v), None);
    }
}
