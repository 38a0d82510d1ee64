//! Rules in gitleaks' TOML format, read with the `toml` crate into typed structs and compiled.
//!
//! The format is gitleaks' (v8): `[[rules]]` with `id`, `description`, `regex`, `secretGroup`,
//! `entropy`, `keywords`, `path`, `tags` and `[[rules.allowlists]]` (or the older
//! `[rules.allowlist]`); the global `[[allowlists]]` (or the older `[allowlist]`), with
//! `targetRules` to give one allowlist to several rules; each allowlist with `description`,
//! `condition` (`OR`, the default, or `AND`), `regexTarget` (`secret`, the default, `match` or
//! `line`), `regexes`, `paths`, `commits` and `stopwords`; `[extend]` with `useDefault` (Slipway's
//! own default rules, [`crate::rules`]), `path` (another file, at most two levels deep) and
//! `disabledRules`; `title`, `description` and `minVersion` are read and ignored. Keys are matched
//! without regard to case, as gitleaks (viper) does, so `secretgroup` is `secretGroup`.
//!
//! Every mistake is named with `file:line:col` from toml's spans and says what was expected.
//! Differences from gitleaks, each an error rather than a silent change: composite rules
//! (`[[rules.required]]`, `skipReport`) and `[extend] url` are not supported; an unknown key is an
//! error (gitleaks ignores it, hiding typos); `[extend] path` is read relative to the file that
//! names it (gitleaks: relative to where it was started).
//!
//! # Regular expressions
//!
//! Gitleaks' regexes are Go's RE2 syntax; Slipway compiles them with the `regex` crate, whose
//! syntax is RE2's with these differences, which matter little for secret rules:
//! - Patterns run over bytes with Unicode off (`(?-u)`), so `\w`, `\d`, `\s` and `\b` are ASCII
//!   only as in Go; but `.` and negated classes match one byte, where Go matches one UTF-8
//!   character, and `(?i)` folds ASCII letters only.
//! - `\Q...\E` quoting and `\C` are not supported (an error names the pattern).
//! - Repetitions are bounded by the `regex` crate's size limit rather than RE2's 1,000.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

/// How deep `[extend] path` may chain (as gitleaks: a file, its base, and the base's base).
const MAX_EXTEND_DEPTH: usize = 2;

/// A mistake in a rules file, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file says something wrong, at a place in it.
    #[error("{file}:{line}:{column}: {message}{}", hint.as_ref().map(|hint| format!("\n  help: {hint}")).unwrap_or_default())]
    Invalid {
        /// The file (as it was named).
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column (in characters), from 1.
        column: usize,
        /// What is wrong and what was expected.
        message: String,
        /// How to fix it, when there is something to say.
        hint: Option<String>,
    },
}

/// Whether an allowlist needs any or all of its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Any check allows a finding (the default).
    Or,
    /// Every check given must allow it.
    And,
}

/// What an allowlist's `regexes` are matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret (the rule's secret group); the default.
    Secret,
    /// The rule's whole match.
    Match,
    /// The whole line of the match.
    Line,
}

/// An allowlist, compiled.
#[derive(Clone, Debug)]
pub struct Allowlist {
    /// What it is for.
    pub description: String,
    /// OR or AND.
    pub condition: Condition,
    /// Commits allowed (lower case).
    pub commits: Vec<String>,
    /// Paths allowed: the `paths` regexes as one.
    pub paths: Option<Regex>,
    /// What `regexes` match against.
    pub regex_target: RegexTarget,
    /// The `regexes` as one.
    pub regexes: Option<Regex>,
    /// Words that allow a secret containing them (lower case).
    pub stopwords: Vec<String>,
    stopword_matcher: Option<AhoCorasick>,
}

impl Allowlist {
    /// Whether `commit` is one of this allowlist's commits (full or abbreviated ids).
    pub(crate) fn commit_allowed(&self, commit: Option<&str>) -> bool {
        let Some(commit) = commit.filter(|commit| !commit.is_empty()) else { return false };
        let commit = commit.to_ascii_lowercase();
        self.commits
            .iter()
            .any(|allowed| allowed == &commit || (allowed.len() >= 7 && (commit.starts_with(allowed.as_str()))))
    }

    /// Whether `path` matches one of this allowlist's paths.
    pub(crate) fn path_allowed(&self, path: &str) -> bool {
        !path.is_empty() && self.paths.as_ref().is_some_and(|paths| paths.is_match(path.as_bytes()))
    }

    /// Whether `text` matches one of this allowlist's regexes.
    pub(crate) fn regex_allowed(&self, text: &[u8]) -> bool {
        !text.is_empty() && self.regexes.as_ref().is_some_and(|regexes| regexes.is_match(text))
    }

    /// Whether `secret` contains one of this allowlist's stop words (any case).
    pub(crate) fn has_stopword(&self, secret: &[u8]) -> bool {
        self.stopword_matcher.as_ref().is_some_and(|matcher| matcher.is_match(secret))
    }
}

/// A rule, compiled.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its unique id (`aws-access-key-id`).
    pub id: String,
    /// What it finds, for people.
    pub description: String,
    /// What it matches in content; `None` for a rule on paths only.
    pub regex: Option<Regex>,
    /// The group of `regex` holding the secret; 0 for the first non-empty group (or the match).
    pub secret_group: usize,
    /// The Shannon entropy the secret must exceed; 0 for none.
    pub entropy: f64,
    /// Only files whose path matches this are searched (or, without `regex`, reported).
    pub path: Option<Regex>,
    /// Words one of which must be in the content for the rule to run (lower case).
    pub keywords: Vec<String>,
    /// Tags for reports.
    pub tags: Vec<String>,
    /// The rule's allowlists, with the global ones that target it.
    pub allowlists: Vec<Allowlist>,
}

/// A set of rules and global allowlists, ready to scan with.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from (`None` for the embedded defaults).
    pub path: Option<PathBuf>,
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// The global allowlists.
    pub allowlists: Vec<Allowlist>,
}

impl Config {
    /// Slipway's default rules ([`crate::rules::DEFAULT_RULES`]).
    ///
    /// # Errors
    /// Never for the embedded file (its tests prove it); the type is shared with [`Config::load`].
    pub fn default_rules() -> Result<Self, ConfigError> {
        Self::parse(crate::rules::DEFAULT_RULES, "slipway-default-rules.toml", None)
    }

    /// Reads a rules file (and what it extends).
    ///
    /// # Errors
    /// [`ConfigError`] when it cannot be read or has a mistake.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config = Self::load_at_depth(path, 0)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    fn load_at_depth(path: &Path, depth: usize) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let name = path.display().to_string();
        let base = path.parent().map(Path::to_path_buf);
        let raw = RawFile::read(&text, &name)?;
        assemble(raw, &text, &name, base.as_deref(), depth)
    }

    /// Reads rules from `text`, named `name` in errors; `[extend] path` is read from `directory`.
    ///
    /// # Errors
    /// [`ConfigError`] for a mistake.
    pub fn parse(text: &str, name: &str, directory: Option<&Path>) -> Result<Self, ConfigError> {
        let raw = RawFile::read(text, name)?;
        assemble(raw, text, name, directory, 0)
    }

    /// The rule with `id`.
    #[must_use]
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

// ---------------------------------------------------------------------------------------------
// The file as written: keys in lower case (see `lowercase_keys`), values with their spans.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    minversion: Option<String>,
    #[serde(default)]
    extend: Option<Spanned<RawExtend>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    allowlist: Option<Spanned<RawAllowlist>>,
    #[serde(default)]
    allowlists: Vec<Spanned<RawAllowlist>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtend {
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
    #[serde(default)]
    usedefault: Option<Spanned<bool>>,
    #[serde(default)]
    disabledrules: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    id: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<Spanned<String>>,
    #[serde(default)]
    secretgroup: Option<Spanned<i64>>,
    #[serde(default)]
    entropy: Option<Spanned<f64>>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    allowlist: Option<Spanned<RawAllowlist>>,
    #[serde(default)]
    allowlists: Vec<Spanned<RawAllowlist>>,
    #[serde(default)]
    required: Option<Spanned<toml::Value>>,
    #[serde(default)]
    skipreport: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowlist {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    condition: Option<Spanned<String>>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    regextarget: Option<Spanned<String>>,
    #[serde(default)]
    regexes: Vec<Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    targetrules: Vec<Spanned<String>>,
}

/// The keys Slipway knows, by table, to suggest a spelling for an unknown one.
const KNOWN_KEYS: &[&str] = &[
    "title",
    "description",
    "minVersion",
    "extend",
    "rules",
    "allowlist",
    "allowlists",
    "path",
    "url",
    "useDefault",
    "disabledRules",
    "id",
    "regex",
    "secretGroup",
    "entropy",
    "keywords",
    "tags",
    "condition",
    "commits",
    "paths",
    "regexTarget",
    "regexes",
    "stopwords",
    "targetRules",
];

impl RawFile {
    fn read(text: &str, name: &str) -> Result<Self, ConfigError> {
        let mut table = toml::de::DeTable::parse(text).map_err(|error| toml_error(&error, text, name))?;
        let span = table.span();
        lowercase_keys(table.get_mut(), text, name)?;
        let deserializer = toml::de::Deserializer::from(Spanned::new(span, table.into_inner()));
        Self::deserialize(deserializer).map_err(|error| toml_error(&error, text, name))
    }
}

/// Lower-cases every key, as gitleaks' configuration reader (viper) does; a key given twice in
/// different cases is an error.
fn lowercase_keys(table: &mut toml::de::DeTable<'_>, text: &str, name: &str) -> Result<(), ConfigError> {
    let old = std::mem::take(table);
    for (key, mut value) in old {
        lower_value(value.get_mut(), text, name)?;
        let span = key.span();
        let lower = key.get_ref().to_lowercase();
        let new_key = Spanned::new(span.clone(), std::borrow::Cow::Owned(lower.clone()));
        if table.insert(new_key, value).is_some() {
            return Err(invalid(
                text,
                name,
                span,
                format!("'{}' is given twice (keys are read without regard to case)", key.get_ref()),
                Some("keep one of them".to_owned()),
            ));
        }
    }
    Ok(())
}

fn lower_value(value: &mut toml::de::DeValue<'_>, text: &str, name: &str) -> Result<(), ConfigError> {
    match value {
        toml::de::DeValue::Table(table) => lowercase_keys(table, text, name),
        toml::de::DeValue::Array(array) => {
            for item in array.iter_mut() {
                lower_value(item.get_mut(), text, name)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before.get(line_start..).map_or(1, |part| part.chars().count() + 1);
    (line, column)
}

fn invalid(text: &str, name: &str, span: Range<usize>, message: String, hint: Option<String>) -> ConfigError {
    let (line, column) = line_column(text, span.start);
    ConfigError::Invalid { file: name.to_owned(), line, column, message, hint }
}

fn toml_error(error: &toml::de::Error, text: &str, name: &str) -> ConfigError {
    let message = error.message().trim().to_owned();
    let span = error.span().unwrap_or(0..0);
    let hint = message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next()).map(|field| {
        let suggestion = did_you_mean(field, KNOWN_KEYS);
        match suggestion {
            Some(known) => format!("did you mean '{known}'? (gitleaks' keys: see its README's configuration)"),
            None => "remove it; see gitleaks' README for the keys a rules file has".to_owned(),
        }
    });
    invalid(text, name, span, format!("invalid rules file: {message}"), hint)
}

/// The known word closest to `word` (at most 2 edits, any case), if one is.
fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .iter()
        .map(|candidate| (edit_distance(&word, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, _)| *distance <= 2 && *distance < word.chars().count())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, a) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(a != *b);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Compiling.

/// Compiles a pattern as gitleaks' rules expect (see the module's documentation).
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).size_limit(64 << 20).dfa_size_limit(64 << 20).build()
}

/// Where a string value's text starts in the file (after its quotes), for errors inside it.
fn string_content_start(text: &str, span: &Range<usize>) -> (usize, bool) {
    let raw = text.get(span.clone()).unwrap_or("");
    let (skip, literal) = if raw.starts_with("'''") {
        (3, true)
    } else if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with('\'') {
        (1, true)
    } else {
        (1, false)
    };
    // A multi-line string's first newline is not part of its value.
    let mut start = span.start + skip;
    if skip == 3 && text.get(start..).is_some_and(|rest| rest.starts_with('\n')) {
        start += 1;
    }
    (start, literal)
}

fn regex_value(value: &Spanned<String>, what: &str, text: &str, name: &str) -> Result<Regex, ConfigError> {
    compile_regex(value.get_ref()).map_err(|error| {
        let (start, literal) = string_content_start(text, &value.span());
        // In a literal string the pattern is the file's text, so the error can point into it.
        let offset = match (&error, literal) {
            (regex::Error::Syntax(_), true) => syntax_error_offset(value.get_ref()).unwrap_or(0),
            _ => 0,
        };
        let detail = match &error {
            regex::Error::Syntax(message) => message.lines().last().unwrap_or("").trim().to_owned(),
            other => other.to_string(),
        };
        invalid(
            text,
            name,
            start + offset..start + offset,
            format!("{what} is not a valid regular expression: {detail}"),
            Some(
                "rules use RE2 syntax (Go's regexp), compiled with the regex crate: no look-around, \
                 no backreferences, no \\Q...\\E"
                    .to_owned(),
            ),
        )
    })
}

/// The byte offset in `pattern` where the regex crate's parser found a mistake.
fn syntax_error_offset(pattern: &str) -> Option<usize> {
    let error = regex_syntax::ast::parse::Parser::new().parse(pattern).err()?;
    Some(error.span().start.offset)
}

fn compile_allowlist(
    raw: &RawAllowlist,
    text: &str,
    name: &str,
    span: Range<usize>,
    global: bool,
) -> Result<Allowlist, ConfigError> {
    let condition = match raw.condition.as_ref().map(|value| value.get_ref().to_uppercase()).as_deref() {
        None | Some("" | "OR" | "||") => Condition::Or,
        Some("AND" | "&&") => Condition::And,
        Some(other) => {
            let span = raw.condition.as_ref().map_or(span.clone(), Spanned::span);
            return Err(invalid(
                text,
                name,
                span,
                format!("unknown allowlist condition '{other}'"),
                Some("expected \"OR\" (any check allows a finding, the default) or \"AND\" (all must)".to_owned()),
            ));
        }
    };
    let regex_target = match raw.regextarget.as_ref().map(|value| value.get_ref().as_str()) {
        None | Some("" | "secret") => RegexTarget::Secret,
        Some("match") => RegexTarget::Match,
        Some("line") => RegexTarget::Line,
        Some(other) => {
            let span = raw.regextarget.as_ref().map_or(span.clone(), Spanned::span);
            return Err(invalid(
                text,
                name,
                span,
                format!("unknown allowlist regexTarget '{other}'"),
                Some("expected \"secret\" (the default), \"match\" or \"line\"".to_owned()),
            ));
        }
    };
    if !global && !raw.targetrules.is_empty() {
        return Err(invalid(
            text,
            name,
            raw.targetrules[0].span(),
            "targetRules belongs in a global [[allowlists]], not in a rule's".to_owned(),
            Some("move this allowlist to [[allowlists]], or remove targetRules".to_owned()),
        ));
    }
    if raw.commits.is_empty() && raw.paths.is_empty() && raw.regexes.is_empty() && raw.stopwords.is_empty() {
        return Err(invalid(
            text,
            name,
            span,
            "an allowlist must have at least one of commits, paths, regexes or stopwords".to_owned(),
            Some("add what it allows, or remove it".to_owned()),
        ));
    }
    let join = |patterns: &[Spanned<String>], what: &str| -> Result<Option<Regex>, ConfigError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        for pattern in patterns {
            regex_value(pattern, what, text, name)?;
        }
        let joined = patterns.iter().map(|pattern| format!("(?:{})", pattern.get_ref())).collect::<Vec<_>>();
        let combined = joined.join("|");
        compile_regex(&combined).map(Some).map_err(|error| {
            invalid(text, name, patterns[0].span(), format!("{what} cannot be combined: {error}"), None)
        })
    };
    let stopwords: Vec<String> =
        raw.stopwords.iter().map(|word| word.to_lowercase()).collect::<BTreeSet<_>>().into_iter().collect();
    let stopword_matcher = if stopwords.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&stopwords)
                .map_err(|error| invalid(text, name, span.clone(), format!("stopwords: {error}"), None))?,
        )
    };
    Ok(Allowlist {
        description: raw.description.clone().unwrap_or_default(),
        condition,
        commits: raw.commits.iter().map(|commit| commit.trim().to_lowercase()).collect(),
        paths: join(&raw.paths, "an allowlist path")?,
        regex_target,
        regexes: join(&raw.regexes, "an allowlist regex")?,
        stopwords,
        stopword_matcher,
    })
}

/// A rule as written, before `[extend]` merges it with its base.
struct PartialRule {
    id: String,
    span: Range<usize>,
    description: Option<String>,
    regex: Option<(Regex, Range<usize>)>,
    secret_group: Option<(usize, Range<usize>)>,
    entropy: Option<f64>,
    path: Option<Regex>,
    keywords: Vec<String>,
    tags: Vec<String>,
    allowlists: Vec<Allowlist>,
}

fn compile_rule(raw: &Spanned<RawRule>, text: &str, name: &str) -> Result<PartialRule, ConfigError> {
    let span = raw.span();
    let raw = raw.get_ref();
    let id = raw.id.as_ref().map(|id| id.get_ref().trim().to_owned()).unwrap_or_default();
    if id.is_empty() {
        return Err(invalid(
            text,
            name,
            raw.id.as_ref().map_or(span.clone(), Spanned::span),
            "a rule needs an id".to_owned(),
            Some("add id = \"a-unique-name\" to this [[rules]]".to_owned()),
        ));
    }
    if let Some(required) = &raw.required {
        return Err(invalid(
            text,
            name,
            required.span(),
            format!("rule '{id}': composite rules ([[rules.required]]) are not supported by Slipway yet"),
            Some("remove [[rules.required]]; the primary rule then reports on its own".to_owned()),
        ));
    }
    if let Some(skip) = raw.skipreport.as_ref().filter(|skip| *skip.get_ref()) {
        return Err(invalid(
            text,
            name,
            skip.span(),
            format!("rule '{id}': skipReport (for composite rules) is not supported by Slipway yet"),
            None,
        ));
    }
    let regex = match &raw.regex {
        Some(pattern) if !pattern.get_ref().is_empty() => {
            Some((regex_value(pattern, &format!("rule '{id}': regex"), text, name)?, pattern.span()))
        }
        _ => None,
    };
    let path = match &raw.path {
        Some(pattern) if !pattern.get_ref().is_empty() => {
            Some(regex_value(pattern, &format!("rule '{id}': path"), text, name)?)
        }
        _ => None,
    };
    let secret_group = match &raw.secretgroup {
        None => None,
        Some(group) => match usize::try_from(*group.get_ref()) {
            Ok(value) => Some((value, group.span())),
            Err(_) => {
                return Err(invalid(
                    text,
                    name,
                    group.span(),
                    format!("rule '{id}': secretGroup must be 0 or more"),
                    Some("the number of the regex's capture group that holds the secret (1 for the first)".to_owned()),
                ));
            }
        },
    };
    let entropy = match &raw.entropy {
        Some(value) if !value.get_ref().is_finite() || *value.get_ref() < 0.0 => {
            return Err(invalid(
                text,
                name,
                value.span(),
                format!("rule '{id}': entropy must be a number of bits per character, 0 or more"),
                Some("Shannon entropy of random base64 is about 6, of hex about 4; 3.5 is usual".to_owned()),
            ));
        }
        Some(value) => Some(*value.get_ref()),
        None => None,
    };
    if raw.allowlist.is_some() && !raw.allowlists.is_empty() {
        let at = raw.allowlist.as_ref().map_or(span.clone(), Spanned::span);
        return Err(invalid(
            text,
            name,
            at,
            format!("rule '{id}': [rules.allowlist] (the older form) cannot be used with [[rules.allowlists]]"),
            Some("write every allowlist as [[rules.allowlists]]".to_owned()),
        ));
    }
    let mut allowlists = Vec::new();
    for allowlist in raw.allowlist.iter().chain(&raw.allowlists) {
        allowlists.push(compile_allowlist(allowlist.get_ref(), text, name, allowlist.span(), false)?);
    }
    Ok(PartialRule {
        id,
        span,
        description: raw.description.clone().filter(|text| !text.is_empty()),
        regex,
        secret_group,
        entropy: entropy.filter(|value| *value != 0.0),
        path,
        keywords: raw.keywords.iter().map(|keyword| keyword.to_lowercase()).filter(|k| !k.is_empty()).collect(),
        tags: raw.tags.clone(),
        allowlists,
    })
}

fn assemble(
    raw: RawFile,
    text: &str,
    name: &str,
    directory: Option<&Path>,
    depth: usize,
) -> Result<Config, ConfigError> {
    let _ = (&raw.title, &raw.description, &raw.minversion);
    let mut rules: Vec<PartialRule> = Vec::new();
    let mut seen = BTreeMap::new();
    for rule in &raw.rules {
        let compiled = compile_rule(rule, text, name)?;
        if let Some(first) = seen.insert(compiled.id.clone(), compiled.span.start) {
            let (line, _) = line_column(text, first);
            return Err(invalid(
                text,
                name,
                compiled.span.clone(),
                format!("rule '{}' is defined twice (first at line {line})", compiled.id),
                Some("give each rule a unique id".to_owned()),
            ));
        }
        rules.push(compiled);
    }
    if raw.allowlist.is_some() && !raw.allowlists.is_empty() {
        let at = raw.allowlist.as_ref().map_or(0..0, Spanned::span);
        return Err(invalid(
            text,
            name,
            at,
            "[allowlist] (the older form) cannot be used with [[allowlists]]".to_owned(),
            Some("write every global allowlist as [[allowlists]]".to_owned()),
        ));
    }
    let mut global = Vec::new();
    let mut targeted: Vec<(Spanned<String>, Allowlist)> = Vec::new();
    for allowlist in raw.allowlist.iter().chain(&raw.allowlists) {
        let compiled = compile_allowlist(allowlist.get_ref(), text, name, allowlist.span(), true)?;
        if allowlist.get_ref().targetrules.is_empty() {
            global.push(compiled);
        } else {
            for target in &allowlist.get_ref().targetrules {
                targeted.push((target.clone(), compiled.clone()));
            }
        }
    }

    // [extend]: the base's rules, with this file's changes merged in.
    let mut base: Option<Config> = None;
    let mut disabled: Vec<Spanned<String>> = Vec::new();
    if let Some(extend) = &raw.extend {
        let extend_span = extend.span();
        let extend = extend.get_ref();
        if let Some(url) = &extend.url {
            return Err(invalid(
                text,
                name,
                url.span(),
                "[extend] url is not supported (Slipway scans offline)".to_owned(),
                Some("download the file and give it as [extend] path".to_owned()),
            ));
        }
        let use_default = extend.usedefault.as_ref().is_some_and(|value| *value.get_ref());
        if use_default && extend.path.is_some() {
            return Err(invalid(
                text,
                name,
                extend_span,
                "[extend] cannot have both useDefault and path".to_owned(),
                Some("choose one: useDefault = true for Slipway's default rules, or path = \"base.toml\"".to_owned()),
            ));
        }
        if depth < MAX_EXTEND_DEPTH {
            if use_default {
                base = Some(Config::default_rules()?);
            } else if let Some(path) = &extend.path {
                let file = directory.map_or_else(|| PathBuf::from(path.get_ref()), |dir| dir.join(path.get_ref()));
                let loaded = Config::load_at_depth(&file, depth + 1).map_err(|error| match error {
                    ConfigError::Read { source, .. } => invalid(
                        text,
                        name,
                        path.span(),
                        format!("[extend] path '{}' cannot be read: {source}", file.display()),
                        Some("the path is relative to this file".to_owned()),
                    ),
                    other => other,
                })?;
                base = Some(loaded);
            }
        }
        disabled = extend.disabledrules.clone();
    }

    let mut config = Config { path: None, rules: Vec::new(), allowlists: global };
    let mut own: BTreeMap<String, PartialRule> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for rule in rules {
        order.push(rule.id.clone());
        own.insert(rule.id.clone(), rule);
    }
    if let Some(base) = base {
        let disabled_ids: BTreeSet<&str> = disabled.iter().map(|id| id.get_ref().as_str()).collect();
        for id in &disabled {
            if base.rule(id.get_ref()).is_none() {
                tracing::warn!(rule = id.get_ref().as_str(), "a disabled rule is not in the extended rules");
            }
        }
        for mut rule in base.rules {
            if disabled_ids.contains(rule.id.as_str()) {
                continue;
            }
            if let Some(mine) = own.remove(&rule.id) {
                order.retain(|id| id != &rule.id);
                if let Some(description) = mine.description {
                    rule.description = description;
                }
                if let Some(entropy) = mine.entropy {
                    rule.entropy = entropy;
                }
                if let Some((group, _)) = mine.secret_group.clone().filter(|(group, _)| *group != 0) {
                    rule.secret_group = group;
                }
                if let Some((regex, _)) = mine.regex {
                    rule.regex = Some(regex);
                }
                if let Some(path) = mine.path {
                    rule.path = Some(path);
                }
                rule.tags.extend(mine.tags);
                rule.keywords.extend(mine.keywords);
                rule.allowlists.extend(mine.allowlists);
                check_rule(&rule, text, name, mine.span, mine.secret_group.map(|(_, span)| span))?;
            }
            config.rules.push(rule);
        }
        config.allowlists.extend(base.allowlists);
    }
    for id in order {
        let Some(rule) = own.remove(&id) else { continue };
        let (span, group_span) = (rule.span.clone(), rule.secret_group.as_ref().map(|(_, span)| span.clone()));
        let finished = Rule {
            id: rule.id,
            description: rule.description.unwrap_or_default(),
            regex: rule.regex.map(|(regex, _)| regex),
            secret_group: rule.secret_group.map_or(0, |(group, _)| group),
            entropy: rule.entropy.unwrap_or(0.0),
            path: rule.path,
            keywords: rule.keywords,
            tags: rule.tags,
            allowlists: rule.allowlists,
        };
        check_rule(&finished, text, name, span, group_span)?;
        config.rules.push(finished);
    }
    for (target, allowlist) in targeted {
        match config.rules.iter_mut().find(|rule| &rule.id == target.get_ref()) {
            Some(rule) => rule.allowlists.push(allowlist),
            None => {
                let known: Vec<&str> = config.rules.iter().map(|rule| rule.id.as_str()).collect();
                let hint = did_you_mean(target.get_ref(), &known).map(|id| format!("did you mean '{id}'?"));
                return Err(invalid(
                    text,
                    name,
                    target.span(),
                    format!("[[allowlists]] targetRules names '{}', which is not a rule", target.get_ref()),
                    hint,
                ));
            }
        }
    }
    Ok(config)
}

fn check_rule(
    rule: &Rule,
    text: &str,
    name: &str,
    span: Range<usize>,
    group_span: Option<Range<usize>>,
) -> Result<(), ConfigError> {
    if rule.regex.is_none() && rule.path.is_none() {
        return Err(invalid(
            text,
            name,
            span,
            format!("rule '{}' has neither regex nor path, so it would find nothing", rule.id),
            Some("add regex = '''...''' (what to find in files) or path = '''...''' (files to report)".to_owned()),
        ));
    }
    if let Some(regex) = &rule.regex {
        let groups = regex.captures_len() - 1;
        if rule.secret_group > groups {
            return Err(invalid(
                text,
                name,
                group_span.unwrap_or(span),
                format!(
                    "rule '{}': secretGroup {} but its regex has {groups} capture group(s)",
                    rule.id, rule.secret_group
                ),
                Some(format!("use a group from 1 to {groups}, or 0 for the first group that matched")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Config::parse(text, "rules.toml", None) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_gitleaks_file_is_read_into_rules_and_allowlists() {
        let text = r#"
title = "custom"
minVersion = "v8.25.0"

[[rules]]
id = "awesome-rule-1"
description = "awesome rule 1"
regex = '''(?i)awesome_key\s*=\s*"([a-z0-9]{16})"'''
secretGroup = 1
entropy = 3.5
keywords = ["AWESOME_key"]
tags = ["tag", "another"]

    [[rules.allowlists]]
    condition = "AND"
    regexTarget = "match"
    regexes = ['''(?i)parseur[il]''']
    paths = ['''package-lock\.json''']

[[allowlists]]
description = "global"
commits = ["ABCDEF1234567"]
stopwords = ["Client"]

[[allowlists]]
targetRules = ["awesome-rule-1"]
paths = ['''tests/expected/.*\.json$''']
"#;
        let config = Config::parse(text, "rules.toml", None).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.rules.len(), 1);
        let rule = &config.rules[0];
        assert_eq!((rule.id.as_str(), rule.secret_group, rule.entropy), ("awesome-rule-1", 1, 3.5));
        assert_eq!(rule.keywords, ["awesome_key"]);
        assert_eq!(rule.allowlists.len(), 2);
        assert_eq!(rule.allowlists[0].condition, Condition::And);
        assert_eq!(rule.allowlists[0].regex_target, RegexTarget::Match);
        assert!(rule.allowlists[1].path_allowed("tests/expected/a.json"));
        assert_eq!(config.allowlists.len(), 1);
        assert!(config.allowlists[0].commit_allowed(Some("abcdef1234567")));
        assert!(config.allowlists[0].has_stopword(b"myCLIENTid"));
    }

    #[test]
    fn keys_are_read_without_regard_to_case_as_gitleaks_does() {
        let config = Config::parse(
            "[[rules]]\nid = \"x\"\nREGEX = 'a(b)'\nsecretgroup = 1\n[rules.allowlist]\nStopWords = ['q']\n",
            "r.toml",
            None,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.rules[0].secret_group, 1);
        assert_eq!(config.rules[0].allowlists[0].stopwords, ["q"]);
    }

    #[test]
    fn every_mistake_is_named_with_its_place() {
        insta::assert_snapshot!(error("[[rules]]\nid = \"a\"\nregex = '''ab(c'''\n"), @r"
        rules.toml:3:14: rule 'a': regex is not a valid regular expression: error: unclosed group
          help: rules use RE2 syntax (Go's regexp), compiled with the regex crate: no look-around, no backreferences, no \Q...\E
        ");
        insta::assert_snapshot!(error("[[rules]]\nid = \"a\"\nregex = 'a'\nsecretGrop = 1\n"), @r"
        rules.toml:4:1: invalid rules file: unknown field `secretgrop`, expected one of `id`, `description`, `regex`, `secretgroup`, `entropy`, `path`, `keywords`, `tags`, `allowlist`, `allowlists`, `required`, `skipreport`
          help: did you mean 'secretGroup'? (gitleaks' keys: see its README's configuration)
        ");
        insta::assert_snapshot!(error("[[rules]]\nregex = 'a'\n"), @r#"
        rules.toml:1:1: a rule needs an id
          help: add id = "a-unique-name" to this [[rules]]
        "#);
        insta::assert_snapshot!(error("[[rules]]\nid = 'a'\n"), @r"
        rules.toml:1:1: rule 'a' has neither regex nor path, so it would find nothing
          help: add regex = '''...''' (what to find in files) or path = '''...''' (files to report)
        ");
        insta::assert_snapshot!(error("[[rules]]\nid = 'a'\nregex = 'a(b)'\nsecretGroup = 2\n"), @r"
        rules.toml:4:15: rule 'a': secretGroup 2 but its regex has 1 capture group(s)
          help: use a group from 1 to 1, or 0 for the first group that matched
        ");
        insta::assert_snapshot!(error("[[rules]]\nid = 'a'\nregex = 'a'\n[[rules.allowlists]]\ndescription = 'x'\n"), @r"
        rules.toml:4:1: an allowlist must have at least one of commits, paths, regexes or stopwords
          help: add what it allows, or remove it
        ");
        insta::assert_snapshot!(error("[[allowlists]]\nregexTarget = 'lines'\nregexes = ['a']\n"), @r#"
        rules.toml:2:15: unknown allowlist regexTarget 'lines'
          help: expected "secret" (the default), "match" or "line"
        "#);
        insta::assert_snapshot!(error("[[allowlists]]\ncondition = 'XOR'\nregexes = ['a']\n"), @r#"
        rules.toml:2:13: unknown allowlist condition 'XOR'
          help: expected "OR" (any check allows a finding, the default) or "AND" (all must)
        "#);
        insta::assert_snapshot!(error("[[rules]]\nid='a'\nregex='a'\n[[allowlists]]\ntargetRules = ['b']\nregexes=['x']\n"), @"rules.toml:5:16: [[allowlists]] targetRules names 'b', which is not a rule");
        insta::assert_snapshot!(error("[extend]\nuseDefault = true\npath = 'x.toml'\n"), @r#"
        rules.toml:1:1: [extend] cannot have both useDefault and path
          help: choose one: useDefault = true for Slipway's default rules, or path = "base.toml"
        "#);
        insta::assert_snapshot!(error("[[rules]]\nid = 'a'\nregex = 'a'\n[[rules]]\nid = 'a'\nregex = 'b'\n"), @r"
        rules.toml:4:1: rule 'a' is defined twice (first at line 1)
          help: give each rule a unique id
        ");
        insta::assert_snapshot!(error("[[rules]\nid = 'a'\n"), @"rules.toml:1:9: invalid rules file: unclosed array table, expected `]`");
    }

    #[test]
    fn extending_the_defaults_merges_rules_and_disables_some() {
        let config = Config::parse(
            "[extend]\nuseDefault = true\ndisabledRules = ['jwt']\n[[rules]]\nid = 'github-pat'\nentropy = 1.0\ntags = ['mine']\n",
            "r.toml",
            None,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(config.rule("jwt").is_none());
        let github = config.rule("github-pat").unwrap_or_else(|| panic!("github-pat"));
        assert!((github.entropy - 1.0).abs() < f64::EPSILON);
        assert!(github.regex.is_some(), "the base rule's regex is kept");
        assert!(github.tags.iter().any(|tag| tag == "mine"));
        assert!(config.rule("aws-access-key-id").is_some());
    }

    #[test]
    fn extending_a_path_reads_it_beside_the_file() {
        let Ok(directory) = tempfile::tempdir() else { return };
        let write = |name: &str, text: &str| std::fs::write(directory.path().join(name), text);
        assert!(write("base.toml", "[[rules]]\nid = 'base'\nregex = 'base[0-9]+'\n").is_ok());
        assert!(write("mine.toml", "[extend]\npath = 'base.toml'\n[[rules]]\nid = 'mine'\nregex = 'x'\n").is_ok());
        assert!(write("broken.toml", "[extend]\npath = 'nowhere.toml'\n").is_ok());
        let config = Config::load(&directory.path().join("mine.toml")).unwrap_or_else(|error| panic!("{error}"));
        let ids: Vec<&str> = config.rules.iter().map(|rule| rule.id.as_str()).collect();
        assert_eq!(ids, ["base", "mine"]);
        let error =
            Config::load(&directory.path().join("broken.toml")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("broken.toml:2:8: [extend] path"), "{error}");
    }

    #[test]
    fn gitleaks_testdata_configs_are_read_or_refused_as_gitleaks_does() {
        // Shapes of gitleaks' own testdata/config files (MIT, github.com/gitleaks/gitleaks).
        let valid = [
            "[[rules]]\nid='rule-path-only'\npath='''(?:^|/)@.*\\.tf$'''\n",
            "[[rules]]\nid='escaped-character-group'\nregex='''pypi-AgEIcHlwaS5vcmc[\\w\\-]{50,1000}'''\ntags=['key','pypi']\n",
            "[[rules]]\nid='discord-api-key'\nregex='''(?i)(discord[a-z0-9_ .\\-,]{0,25})(=|>|:=|\\|\\|:|<=|=>|:).{0,5}['\\\"]([a-h0-9]{64})['\\\"]'''\nsecretGroup=3\n",
            "[allowlist]\nregexTarget='match'\nregexes=['''AKIALALEM.L33243OLIA''']\n",
        ];
        for text in valid {
            assert!(Config::parse(text, "t.toml", None).is_ok(), "{text}");
        }
        let invalid = [
            (
                "[[rules]]\nid='x'\nregex='a'\n[rules.allowlist]\nregexes=['a']\n[[rules.allowlists]]\nregexes=['b']\n",
                "cannot be used with",
            ),
            (
                "[[rules]]\nid='x'\nregex='a'\n[[rules.allowlists]]\nregexTarget='mtach'\nregexes=['b']\n",
                "regexTarget 'mtach'",
            ),
            ("[[allowlists]]\n", "at least one of"),
        ];
        for (text, expected) in invalid {
            let message = error(text);
            assert!(message.contains(expected), "{message}");
        }
    }
}
