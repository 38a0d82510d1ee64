//! Each ecosystem's own version order, as OSV's `ECOSYSTEM` ranges need it.
//!
//! [`Scheme::of`] names the order of an OSV ecosystem; [`Scheme::parse`] reads a version into a
//! [`Version`] that compares only with versions of the same scheme:
//!
//! - crates.io and npm: SemVer 2.0 precedence (the `semver` crate, build metadata ignored; a
//!   version short of three numbers, `1.2`, is read as `1.2.0`);
//! - Go: SemVer with Go's `v` prefix; pseudo-versions (`v0.0.0-20200101000000-abcdef123456`)
//!   are pre-releases and `+incompatible` is build metadata;
//! - PyPI: PEP 440 (the `pep440_rs` crate: epochs, pre-, post- and dev-releases, local versions);
//! - Maven: Maven's `ComparableVersion` (items split at `.`, `-` and digit/letter changes;
//!   `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` < release = `ga` = `final` =
//!   `release` < `sp`, other qualifiers after those in lexical order; trailing zeros and release
//!   qualifiers dropped, so `1` = `1.0` = `1.0.0-ga`);
//! - NuGet: NuGet's normalized SemVer (up to four numbers, missing ones 0; pre-release labels
//!   compared without case, numeric labels as numbers and before alphanumeric ones; metadata
//!   ignored);
//! - RubyGems: `Gem::Version` (segments of digits or letters, `-` read as `.pre.`, trailing
//!   zero segments dropped, a letter segment before any number, so `1.0.a` < `1.0`);
//! - Packagist: Composer's order, approximately (up to four numbers, then the stability `dev` <
//!   `alpha` = `a` < `beta` = `b` < `RC` < stable < `patch` = `pl` = `p`, each with an optional
//!   number).
//!
//! OSV's `SEMVER` ranges use [`Scheme::Semver`] whatever the ecosystem.

use std::cmp::Ordering;

/// A version order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// SemVer 2.0 (crates.io, npm, and every `SEMVER` range).
    Semver,
    /// Go's module versions: SemVer with a `v`.
    Go,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven's `ComparableVersion`.
    Maven,
    /// NuGet's normalized SemVer.
    Nuget,
    /// RubyGems' `Gem::Version`.
    Rubygems,
    /// Composer's order (Packagist).
    Composer,
}

impl Scheme {
    /// The order of an OSV ecosystem (its name before any `:` suffix), if Slipway has it.
    #[must_use]
    pub fn of(ecosystem: &str) -> Option<Self> {
        match base_ecosystem(ecosystem) {
            "crates.io" | "npm" => Some(Self::Semver),
            "Go" => Some(Self::Go),
            "PyPI" => Some(Self::Pep440),
            "Maven" => Some(Self::Maven),
            "NuGet" => Some(Self::Nuget),
            "RubyGems" => Some(Self::Rubygems),
            "Packagist" => Some(Self::Composer),
            _ => None,
        }
    }

    /// Its name, for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Semver => "SemVer",
            Self::Go => "Go module",
            Self::Pep440 => "PEP 440",
            Self::Maven => "Maven",
            Self::Nuget => "NuGet",
            Self::Rubygems => "RubyGems",
            Self::Composer => "Composer",
        }
    }

    /// Reads `text` as a version of this scheme.
    ///
    /// # Errors
    /// A message saying what `text` is not.
    pub fn parse(self, text: &str) -> Result<Version, String> {
        let trimmed = text.trim();
        let not = || format!("'{text}' is not a {} version", self.name());
        if trimmed.is_empty() {
            return Err(not());
        }
        Ok(match self {
            Self::Semver | Self::Go => Version::Semver(lenient_semver(trimmed).ok_or_else(not)?),
            Self::Pep440 => Version::Pep440(trimmed.parse::<pep440_rs::Version>().map_err(|_| not())?),
            Self::Maven => Version::Maven(maven::parse(trimmed)),
            Self::Nuget => Version::Nuget(nuget::parse(trimmed).ok_or_else(not)?),
            Self::Rubygems => Version::Gem(gem::parse(trimmed).ok_or_else(not)?),
            Self::Composer => Version::Composer(composer::parse(trimmed).ok_or_else(not)?),
        })
    }

    /// Compares two versions of this scheme; `None` when either is not one.
    #[must_use]
    pub fn compare(self, left: &str, right: &str) -> Option<Ordering> {
        Some(self.parse(left).ok()?.cmp(&self.parse(right).ok()?))
    }
}

/// An OSV ecosystem's name without its `:` suffix (`Maven:https://...` is `Maven`).
#[must_use]
pub fn base_ecosystem(ecosystem: &str) -> &str {
    ecosystem.split_once(':').map_or(ecosystem, |(base, _)| base).trim()
}

/// A version read with its scheme. Versions of different schemes do not compare meaningfully
/// (they order by scheme).
#[derive(Clone, Debug)]
pub enum Version {
    /// SemVer (and Go).
    Semver(semver::Version),
    /// PEP 440.
    Pep440(pep440_rs::Version),
    /// Maven.
    Maven(maven::Item),
    /// NuGet.
    Nuget(nuget::NugetVersion),
    /// RubyGems.
    Gem(Vec<gem::Segment>),
    /// Composer.
    Composer(composer::ComposerVersion),
}

impl Version {
    fn rank(&self) -> u8 {
        match self {
            Self::Semver(_) => 0,
            Self::Pep440(_) => 1,
            Self::Maven(_) => 2,
            Self::Nuget(_) => 3,
            Self::Gem(_) => 4,
            Self::Composer(_) => 5,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Semver(a), Self::Semver(b)) => a.cmp_precedence(b),
            (Self::Pep440(a), Self::Pep440(b)) => a.cmp(b),
            (Self::Maven(a), Self::Maven(b)) => maven::compare(Some(a), Some(b)),
            (Self::Nuget(a), Self::Nuget(b)) => a.cmp(b),
            (Self::Gem(a), Self::Gem(b)) => gem::compare(a, b),
            (Self::Composer(a), Self::Composer(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// SemVer, with a `v` or `=` before it allowed and missing minor and patch numbers read as 0.
fn lenient_semver(text: &str) -> Option<semver::Version> {
    let text = text.strip_prefix(['v', 'V', '=']).unwrap_or(text);
    if let Ok(version) = semver::Version::parse(text) {
        return Some(version);
    }
    let split = text.find(['-', '+']).unwrap_or(text.len());
    let (core, rest) = text.split_at(split);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|part| part.is_empty()) {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    semver::Version::parse(&format!("{padded}{rest}")).ok()
}

/// A run of ASCII digits compared as a number of any size (leading zeros dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    fn new(digits: &str) -> Self {
        let trimmed = digits.trim_start_matches('0');
        Self(trimmed.to_owned())
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Maven's `ComparableVersion`.
pub mod maven {
    use std::cmp::Ordering;

    use super::Number;

    /// An item of a Maven version.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Item {
        /// A number.
        Int(Number),
        /// A qualifier, lower-case, its aliases resolved.
        Str(String),
        /// A sub-list (after `-`, or at a change between digits and letters).
        List(Vec<Item>),
    }

    const QUALIFIERS: &[&str] = &["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
    const RELEASE: usize = 5;

    fn string_item(text: &str, followed_by_digit: bool) -> Item {
        let text = if followed_by_digit && text.len() == 1 {
            match text {
                "a" => "alpha",
                "b" => "beta",
                "m" => "milestone",
                other => other,
            }
        } else {
            text
        };
        let text = match text {
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        Item::Str(text.to_owned())
    }

    /// A qualifier's sort key: its place among the known ones, else after them, lexically.
    fn qualifier_key(text: &str) -> String {
        QUALIFIERS
            .iter()
            .position(|known| *known == text)
            .map_or_else(|| format!("{}-{text}", QUALIFIERS.len()), |index| index.to_string())
    }

    fn item(digits: bool, text: &str) -> Item {
        if digits { Item::Int(Number::new(text)) } else { string_item(text, false) }
    }

    fn is_null(item: &Item) -> bool {
        match item {
            Item::Int(number) => number.is_zero(),
            Item::Str(text) => text.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// Drops null items from the end, looking past non-null sub-lists (as Maven does).
    fn normalize(items: &mut Vec<Item>) {
        let mut index = items.len();
        while index > 0 {
            index -= 1;
            if is_null(&items[index]) {
                items.remove(index);
            } else if !matches!(items[index], Item::List(_)) {
                break;
            }
        }
    }

    /// Reads a Maven version (anything is a Maven version).
    #[must_use]
    pub fn parse(text: &str) -> Item {
        let lower = text.to_lowercase();
        let chars: Vec<char> = lower.chars().collect();
        // The stack of open lists; each is pushed into its parent when closed.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let mut digits = false;
        let mut start = 0;
        let slice = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
        for (index, &character) in chars.iter().enumerate() {
            let current = stack.len() - 1;
            if character == '.' {
                let value =
                    if index == start { Item::Int(Number::new("0")) } else { item(digits, &slice(start, index)) };
                stack[current].push(value);
                start = index + 1;
            } else if character == '-' {
                let value =
                    if index == start { Item::Int(Number::new("0")) } else { item(digits, &slice(start, index)) };
                stack[current].push(value);
                start = index + 1;
                stack.push(Vec::new());
            } else if character.is_ascii_digit() {
                if !digits && index > start {
                    stack[current].push(string_item(&slice(start, index), true));
                    start = index;
                    stack.push(Vec::new());
                }
                digits = true;
            } else {
                if digits && index > start {
                    stack[current].push(item(true, &slice(start, index)));
                    start = index;
                    stack.push(Vec::new());
                }
                digits = false;
            }
        }
        if chars.len() > start {
            let current = stack.len() - 1;
            stack[current].push(item(digits, &slice(start, chars.len())));
        }
        while stack.len() > 1 {
            let mut list = stack.pop().unwrap_or_default();
            normalize(&mut list);
            let parent = stack.len() - 1;
            stack[parent].push(Item::List(list));
        }
        let mut root = stack.pop().unwrap_or_default();
        normalize(&mut root);
        Item::List(root)
    }

    /// Maven's `compareTo`, `None` standing for a missing item.
    #[must_use]
    pub fn compare(left: Option<&Item>, right: Option<&Item>) -> Ordering {
        match (left, right) {
            (None, None) => Ordering::Equal,
            (Some(item), None) => compare_to_null(item),
            (None, Some(item)) => compare_to_null(item).reverse(),
            (Some(Item::Int(a)), Some(Item::Int(b))) => a.cmp(b),
            (Some(Item::Int(_)), Some(_)) => Ordering::Greater,
            (Some(Item::Str(_)), Some(Item::Int(_))) => Ordering::Less,
            (Some(Item::Str(a)), Some(Item::Str(b))) => qualifier_key(a).cmp(&qualifier_key(b)),
            (Some(Item::Str(_)), Some(Item::List(_))) => Ordering::Less,
            (Some(Item::List(_)), Some(Item::Int(_))) => Ordering::Less,
            (Some(Item::List(_)), Some(Item::Str(_))) => Ordering::Greater,
            (Some(Item::List(a)), Some(Item::List(b))) => {
                for index in 0..a.len().max(b.len()) {
                    let order = compare(a.get(index), b.get(index));
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                Ordering::Equal
            }
        }
    }

    fn compare_to_null(item: &Item) -> Ordering {
        match item {
            Item::Int(number) => {
                if number.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Str(text) => qualifier_key(text).cmp(&RELEASE.to_string()),
            Item::List(items) => items.first().map_or(Ordering::Equal, compare_to_null),
        }
    }
}

/// NuGet's normalized SemVer.
pub mod nuget {
    use std::cmp::Ordering;

    use super::Number;

    /// A NuGet version: four numbers and pre-release labels.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct NugetVersion {
        numbers: [Number; 4],
        labels: Vec<String>,
    }

    /// Reads a NuGet version (`1.0`, `1.0.0.1`, `1.0.0-Beta.2+meta`).
    #[must_use]
    pub fn parse(text: &str) -> Option<NugetVersion> {
        let text = text.split_once('+').map_or(text, |(version, _)| version);
        let (core, pre) = text.split_once('-').map_or((text, None), |(core, pre)| (core, Some(pre)));
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return None;
        }
        let mut numbers: [Number; 4] = std::array::from_fn(|_| Number::new("0"));
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            *slot = Number::new(part);
        }
        let labels = match pre {
            Some(pre) => {
                let labels: Vec<String> = pre.split('.').map(str::to_lowercase).collect();
                if labels.iter().any(String::is_empty) {
                    return None;
                }
                labels
            }
            None => Vec::new(),
        };
        Some(NugetVersion { numbers, labels })
    }

    fn compare_label(a: &str, b: &str) -> Ordering {
        let numeric = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
        match (numeric(a), numeric(b)) {
            (true, true) => Number::new(a).cmp(&Number::new(b)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.cmp(b),
        }
    }

    impl Ord for NugetVersion {
        fn cmp(&self, other: &Self) -> Ordering {
            self.numbers.cmp(&other.numbers).then_with(|| match (self.labels.is_empty(), other.labels.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.labels.iter().zip(&other.labels) {
                        let order = compare_label(a, b);
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.labels.len().cmp(&other.labels.len())
                }
            })
        }
    }

    impl PartialOrd for NugetVersion {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
}

/// RubyGems' `Gem::Version`.
pub mod gem {
    use std::cmp::Ordering;

    use super::Number;

    /// A segment: a number or letters.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Segment {
        /// Digits.
        Number(Number),
        /// Letters (a pre-release).
        Letters(String),
    }

    /// Reads a gem version: digits, letters, `.` and `-` (read as `.pre.`), starting with a digit.
    #[must_use]
    pub fn parse(text: &str) -> Option<Vec<Segment>> {
        if !text.starts_with(|c: char| c.is_ascii_digit())
            || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return None;
        }
        let text = text.replace('-', ".pre.");
        let mut segments = Vec::new();
        let mut current = String::new();
        let flush = |current: &mut String, segments: &mut Vec<Segment>| {
            if current.is_empty() {
                return;
            }
            if current.bytes().all(|byte| byte.is_ascii_digit()) {
                segments.push(Segment::Number(Number::new(current)));
            } else {
                segments.push(Segment::Letters(current.clone()));
            }
            current.clear();
        };
        for character in text.chars() {
            if character == '.' {
                flush(&mut current, &mut segments);
            } else {
                let switch =
                    current.chars().last().is_some_and(|last| last.is_ascii_digit() != character.is_ascii_digit());
                if switch {
                    flush(&mut current, &mut segments);
                }
                current.push(character);
            }
        }
        flush(&mut current, &mut segments);
        // Canonical segments: trailing zeros of the numeric part and of the rest dropped.
        let split =
            segments.iter().position(|segment| matches!(segment, Segment::Letters(_))).unwrap_or(segments.len());
        let rest = segments.split_off(split);
        let trim = |mut part: Vec<Segment>| {
            while matches!(part.last(), Some(Segment::Number(number)) if number.is_zero()) {
                part.pop();
            }
            part
        };
        let mut canonical = trim(segments);
        canonical.extend(trim(rest));
        Some(canonical)
    }

    /// `Gem::Version#<=>` over canonical segments.
    #[must_use]
    pub fn compare(left: &[Segment], right: &[Segment]) -> Ordering {
        let zero = Segment::Number(Number::new("0"));
        for index in 0..left.len().max(right.len()) {
            let a = left.get(index).unwrap_or(&zero);
            let b = right.get(index).unwrap_or(&zero);
            let order = match (a, b) {
                (Segment::Number(a), Segment::Number(b)) => a.cmp(b),
                (Segment::Letters(a), Segment::Letters(b)) => a.cmp(b),
                (Segment::Letters(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::Letters(_)) => Ordering::Greater,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

/// Composer's versions, approximately.
pub mod composer {
    use super::Number;

    /// Numbers, then a stability and its number.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub struct ComposerVersion {
        numbers: [Number; 4],
        stability: u8,
        stability_number: Number,
    }

    /// Reads a Composer version (`v1.2.3`, `1.2.3-beta2`, `1.2.3.4-RC1`, `1.0-p1`).
    #[must_use]
    pub fn parse(text: &str) -> Option<ComposerVersion> {
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text).to_lowercase();
        let text = text.split_once('+').map_or(text.as_str(), |(version, _)| version).to_owned();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (core, suffix) = text.split_at(split);
        let parts: Vec<&str> = core.trim_end_matches('.').split('.').collect();
        if parts.is_empty() || parts.len() > 4 || parts.iter().any(|part| part.is_empty()) {
            return None;
        }
        let mut numbers: [Number; 4] = std::array::from_fn(|_| Number::new("0"));
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            *slot = Number::new(part);
        }
        let suffix = suffix.trim_start_matches(['-', '.', '_']);
        let letters: String = suffix.chars().take_while(char::is_ascii_alphabetic).collect();
        let number: String = suffix[letters.len()..]
            .trim_start_matches(['-', '.', '_'])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let stability = match letters.as_str() {
            "dev" => 0,
            "alpha" | "a" => 1,
            "beta" | "b" => 2,
            "rc" => 3,
            "" | "stable" => 4,
            "patch" | "pl" | "p" => 5,
            _ => return None,
        };
        Some(ComposerVersion { numbers, stability, stability_number: Number::new(&number) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_order(scheme: Scheme, ordered: &[&str]) {
        for pair in ordered.windows(2) {
            assert_eq!(scheme.compare(pair[0], pair[1]), Some(Ordering::Less), "{scheme:?}: {} < {}", pair[0], pair[1]);
            assert_eq!(
                scheme.compare(pair[1], pair[0]),
                Some(Ordering::Greater),
                "{scheme:?}: {} > {}",
                pair[1],
                pair[0]
            );
        }
    }

    fn assert_equal(scheme: Scheme, a: &str, b: &str) {
        assert_eq!(scheme.compare(a, b), Some(Ordering::Equal), "{scheme:?}: {a} = {b}");
    }

    #[test]
    fn semver_follows_precedence_and_ignores_build_metadata() {
        // semver.org's example of precedence.
        assert_order(
            Scheme::Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "2.0.0",
                "2.1.0",
                "2.1.1",
            ],
        );
        assert_equal(Scheme::Semver, "1.0.0+build.1", "1.0.0");
        assert_equal(Scheme::Semver, "1.2", "1.2.0");
        assert!(Scheme::Semver.parse("one").is_err());
    }

    #[test]
    fn go_versions_have_a_v_and_pseudo_versions_are_pre_releases() {
        assert_order(Scheme::Go, &["v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", "v1.2.3-pre", "v1.2.3"]);
        assert_equal(Scheme::Go, "v2.0.0+incompatible", "2.0.0");
        // A pseudo-version after a tag sorts between it and the next patch.
        assert_order(Scheme::Go, &["v1.2.3", "v1.2.4-0.20200101000000-abcdefabcdef", "v1.2.4"]);
    }

    #[test]
    fn pep_440_orders_dev_pre_post_and_epochs() {
        assert_order(
            Scheme::Pep440,
            &["1.0.dev0", "1.0a1", "1.0a2.dev1", "1.0b1", "1.0rc1", "1.0", "1.0+local", "1.0.post1", "1.1", "1!0.1"],
        );
        assert_equal(Scheme::Pep440, "1.0", "1.0.0");
        assert_equal(Scheme::Pep440, "1.0RC1", "1.0rc1");
    }

    #[test]
    fn maven_follows_comparable_version() {
        assert_order(
            Scheme::Maven,
            &[
                "1-alpha",
                "1-beta",
                "1-milestone",
                "1-rc",
                "1-snapshot",
                "1",
                "1-sp",
                "1-abc",
                "1-1",
                "1.0.1",
                "1.1",
                "2",
            ],
        );
        for (a, b) in [
            ("1", "1.0"),
            ("1.0", "1.0.0"),
            ("1-ga", "1"),
            ("1.0-final", "1"),
            ("1-cr1", "1-rc1"),
            ("1a1", "1-alpha-1"),
            ("2.0.0.RELEASE", "2.0.0"),
        ] {
            assert_equal(Scheme::Maven, a, b);
        }
        assert_order(Scheme::Maven, &["2.12.0", "2.12.7", "2.12.7.1", "2.13.0-rc1", "2.13.0"]);
        assert_order(Scheme::Maven, &["1.0-SNAPSHOT", "1.0", "1.0.1-SNAPSHOT", "1.0.1"]);
    }

    #[test]
    fn nuget_has_four_numbers_and_labels_without_case() {
        assert_order(
            Scheme::Nuget,
            &["1.0.0-alpha", "1.0.0-alpha.2", "1.0.0-alpha.10", "1.0.0-beta", "1.0.0", "1.0.0.1", "1.0.1"],
        );
        assert_equal(Scheme::Nuget, "1.0", "1.0.0.0");
        assert_equal(Scheme::Nuget, "1.0.0-BETA", "1.0.0-beta");
        assert_equal(Scheme::Nuget, "1.0.0+abc", "1.0.0");
        assert!(Scheme::Nuget.parse("1.0.0.0.0").is_err());
    }

    #[test]
    fn rubygems_letters_are_pre_releases() {
        assert_order(Scheme::Rubygems, &["1.0.a", "1.0.b1", "1.0.rc1", "1.0", "1.0.1", "1.1", "1.10"]);
        assert_equal(Scheme::Rubygems, "1.0", "1.0.0");
        assert_equal(Scheme::Rubygems, "1.0-beta", "1.0.pre.beta");
        assert_order(Scheme::Rubygems, &["1.0-beta", "1.0"]);
    }

    #[test]
    fn composer_orders_stabilities() {
        assert_order(
            Scheme::Composer,
            &["1.0.0-dev", "1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0", "1.0.0-p1", "1.0.1", "v1.1"],
        );
        assert_equal(Scheme::Composer, "v1.2", "1.2.0.0");
        assert!(Scheme::Composer.parse("1.0-banana").is_err());
    }

    #[test]
    fn ecosystems_name_their_orders() {
        assert_eq!(Scheme::of("crates.io"), Some(Scheme::Semver));
        assert_eq!(Scheme::of("Maven:https://maven.google.com"), Some(Scheme::Maven));
        assert_eq!(Scheme::of("Debian:12"), None);
    }
}
