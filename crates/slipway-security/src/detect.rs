//! Finding secrets in one piece of content (a file, or the lines a commit added to a file), pure:
//! a keyword prefilter (Aho-Corasick) chooses the rules to run, each rule's regex finds
//! matches, the secret group is taken and its entropy checked, allowlists and `gitleaks:allow`
//! are applied, and encoded text is decoded and searched again.

use std::ops::Range;

use aho_corasick::AhoCorasick;

use crate::config::{Allowlist, Condition, Config, RegexTarget, Rule};
use crate::decode;
use crate::finding::{Finding, shannon_entropy};

/// A comment that keeps a line out of every report.
pub const INLINE_ALLOW: &str = "gitleaks:allow";

/// The commit a piece of content comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// Its id.
    pub sha: String,
    /// Its author's name.
    pub author: String,
    /// Its author's email address.
    pub email: String,
    /// Its author date, ISO 8601.
    pub date: String,
    /// Its message.
    pub message: String,
}

/// What is searched: content and where it comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fragment<'a> {
    pub(crate) content: &'a [u8],
    pub(crate) path: &'a str,
    pub(crate) commit: Option<&'a CommitInfo>,
    /// The file's line number of each line of `content` (a diff's added lines); `None` when the
    /// content is the whole file.
    pub(crate) line_numbers: Option<&'a [usize]>,
}

/// The rules, ready to run.
#[derive(Debug)]
pub(crate) struct Detector {
    config: Config,
    /// Every rule's keywords, for the prefilter.
    prefilter: Option<AhoCorasick>,
    /// For each keyword of the prefilter, the rules that have it.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they always run.
    always: Vec<usize>,
    max_decode_depth: u32,
}

impl Detector {
    pub(crate) fn new(config: Config, max_decode_depth: u32) -> Self {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (index, rule) in config.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(index);
            }
            for keyword in &rule.keywords {
                match keywords.iter().position(|known| known == keyword) {
                    Some(position) => keyword_rules[position].push(index),
                    None => {
                        keywords.push(keyword.clone());
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let prefilter = if keywords.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(&keywords)
                .ok()
        };
        Self { config, prefilter, keyword_rules, always, max_decode_depth }
    }

    /// The rules whose keywords appear in `text` (or that have none), in the config's order.
    fn rules_for(&self, text: &[u8]) -> Vec<usize> {
        let mut chosen = vec![false; self.config.rules.len()];
        for index in &self.always {
            chosen[*index] = true;
        }
        if let Some(prefilter) = &self.prefilter {
            for found in prefilter.find_overlapping_iter(text) {
                for rule in &self.keyword_rules[found.pattern().as_usize()] {
                    chosen[*rule] = true;
                }
            }
        }
        chosen.iter().enumerate().filter(|(_, chosen)| **chosen).map(|(index, _)| index).collect()
    }

    /// Every finding in `fragment`, secrets whole (the caller redacts).
    pub(crate) fn detect(&self, fragment: &Fragment<'_>) -> Vec<Finding> {
        let mut findings = Vec::new();
        if fragment_allowed(&self.config.allowlists, fragment) {
            return findings;
        }
        let lines = LineIndex::new(fragment.content);
        let rules = self.rules_for(fragment.content);
        for index in &rules {
            let rule = &self.config.rules[*index];
            self.detect_rule(rule, fragment, &lines, &mut findings);
        }
        if self.max_decode_depth > 0 {
            self.detect_decoded(fragment, &lines, &mut findings);
        }
        drop_generic_duplicates(findings)
    }

    fn detect_rule(&self, rule: &Rule, fragment: &Fragment<'_>, lines: &LineIndex, findings: &mut Vec<Finding>) {
        if fragment_allowed(&rule.allowlists, fragment) {
            return;
        }
        if let Some(path) = &rule.path {
            if !path.is_match(fragment.path.as_bytes()) {
                return;
            }
            if rule.regex.is_none() {
                let mut finding = self.finding(rule, fragment);
                finding.matched = format!("file detected: {}", fragment.path);
                findings.push(finding);
                return;
            }
        }
        let Some(regex) = &rule.regex else { return };
        for captures in regex.captures_iter(fragment.content) {
            let Some(whole) = captures.get(0) else { continue };
            let range = trim_newlines(fragment.content, whole.range());
            if range.is_empty() {
                continue;
            }
            let secret = secret_of(rule, &captures).unwrap_or(&fragment.content[range.clone()]);
            let line = lines.line_text(fragment.content, &range);
            let candidate = Candidate { matched: &fragment.content[range.clone()], secret, line };
            if let Some(mut finding) = self.check(rule, fragment, &candidate) {
                lines.place(&mut finding, &range, fragment.line_numbers);
                findings.push(finding);
            }
        }
    }

    fn detect_decoded(&self, fragment: &Fragment<'_>, lines: &LineIndex, findings: &mut Vec<Finding>) {
        for (line_index, line_range) in lines.lines(fragment.content.len()).enumerate() {
            let line = &fragment.content[line_range.clone()];
            if !decode::might_decode(line) {
                continue;
            }
            for pass in decode::decode_line(line, self.max_decode_depth) {
                for index in self.rules_for(&pass.text) {
                    let rule = &self.config.rules[index];
                    if fragment_allowed(&rule.allowlists, fragment)
                        || rule.path.as_ref().is_some_and(|path| !path.is_match(fragment.path.as_bytes()))
                    {
                        continue;
                    }
                    let Some(regex) = &rule.regex else { continue };
                    for captures in regex.captures_iter(&pass.text) {
                        let Some(whole) = captures.get(0) else { continue };
                        let range = trim_newlines(&pass.text, whole.range());
                        let Some(piece) = pass.new_pieces(&range).next() else { continue };
                        let tags = decode::tags(piece.encodings, piece.depth);
                        let secret = secret_of(rule, &captures).unwrap_or(&pass.text[range.clone()]);
                        let candidate = Candidate { matched: &pass.text[range.clone()], secret, line: &pass.text };
                        // gitleaks:allow on the encoded line counts too.
                        if contains(line, INLINE_ALLOW.as_bytes()) {
                            continue;
                        }
                        let Some(mut finding) = self.check(rule, fragment, &candidate) else { continue };
                        let original = pass.original(&range);
                        let absolute = line_range.start + original.start..line_range.start + original.end;
                        lines.place(&mut finding, &absolute, fragment.line_numbers);
                        debug_assert_eq!(finding.start_line, lines.number(line_index, fragment.line_numbers));
                        finding.tags.extend(tags);
                        findings.push(finding);
                    }
                }
            }
        }
    }

    /// The finding for a match when no allowlist, entropy threshold or inline comment stops it.
    fn check(&self, rule: &Rule, fragment: &Fragment<'_>, candidate: &Candidate<'_>) -> Option<Finding> {
        if contains(candidate.line, INLINE_ALLOW.as_bytes()) {
            return None;
        }
        let entropy = shannon_entropy(candidate.secret);
        if rule.entropy != 0.0 && entropy <= rule.entropy {
            return None;
        }
        if finding_allowed(&self.config.allowlists, fragment, candidate)
            || finding_allowed(&rule.allowlists, fragment, candidate)
        {
            return None;
        }
        let mut finding = self.finding(rule, fragment);
        finding.matched = String::from_utf8_lossy(candidate.matched).into_owned();
        finding.secret = String::from_utf8_lossy(candidate.secret).into_owned();
        #[expect(clippy::cast_possible_truncation, reason = "entropy is at most 8 bits per byte")]
        let entropy = entropy as f32;
        finding.entropy = entropy;
        Some(finding)
    }

    fn finding(&self, rule: &Rule, fragment: &Fragment<'_>) -> Finding {
        let _ = self;
        let commit = fragment.commit.cloned().unwrap_or_default();
        Finding {
            description: rule.description.clone(),
            file: fragment.path.to_owned(),
            commit: commit.sha,
            author: commit.author,
            email: commit.email,
            date: commit.date,
            message: commit.message,
            tags: rule.tags.clone(),
            rule_id: rule.id.clone(),
            ..Finding::default()
        }
    }
}

/// A match being judged.
struct Candidate<'a> {
    matched: &'a [u8],
    secret: &'a [u8],
    line: &'a [u8],
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The secret of a match: the rule's secret group, or the first group that matched something.
fn secret_of<'a>(rule: &Rule, captures: &regex::bytes::Captures<'a>) -> Option<&'a [u8]> {
    if captures.len() < 2 {
        return None;
    }
    let secret = if rule.secret_group > 0 {
        captures.get(rule.secret_group).map(|group| group.as_bytes())
    } else {
        captures.iter().skip(1).flatten().map(|group| group.as_bytes()).find(|group| !group.is_empty())
    };
    secret.filter(|secret| !secret.is_empty())
}

/// `range` without the line ends a rule's `\s` may have taken at its end.
fn trim_newlines(content: &[u8], range: Range<usize>) -> Range<usize> {
    let mut end = range.end;
    while end > range.start && matches!(content[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    range.start..end
}

/// Whether a fragment (its path, its commit) is allowed whole by one of `allowlists`: with OR,
/// when its commit or path is; with AND, when every check given is about commits and paths and
/// all hold (regexes and stop words are judged on each finding).
fn fragment_allowed(allowlists: &[Allowlist], fragment: &Fragment<'_>) -> bool {
    let commit = fragment.commit.map(|commit| commit.sha.as_str());
    if fragment.path.is_empty() && commit.is_none() {
        return false;
    }
    allowlists.iter().any(|allowlist| {
        let commit_allowed = allowlist.commit_allowed(commit);
        let path_allowed = allowlist.path_allowed(fragment.path);
        match allowlist.condition {
            Condition::Or => commit_allowed || path_allowed,
            Condition::And => {
                if allowlist.regexes.is_some() || !allowlist.stopwords.is_empty() {
                    return false;
                }
                (allowlist.commits.is_empty() || commit_allowed) && (allowlist.paths.is_none() || path_allowed)
            }
        }
    })
}

/// Whether a finding is allowed by one of `allowlists`: with OR, by its regexes (on the secret,
/// the match or the line, as `regexTarget` says) or stop words (in the secret); with AND, when
/// every check given holds, commits and paths included.
fn finding_allowed(allowlists: &[Allowlist], fragment: &Fragment<'_>, candidate: &Candidate<'_>) -> bool {
    allowlists.iter().any(|allowlist| {
        let target = match allowlist.regex_target {
            RegexTarget::Secret => candidate.secret,
            RegexTarget::Match => candidate.matched,
            RegexTarget::Line => candidate.line,
        };
        let regex_allowed = allowlist.regex_allowed(target);
        let stopword = allowlist.has_stopword(candidate.secret);
        match allowlist.condition {
            Condition::Or => regex_allowed || stopword,
            Condition::And => {
                (allowlist.commits.is_empty() || allowlist.commit_allowed(fragment.commit.map(|c| c.sha.as_str())))
                    && (allowlist.paths.is_none() || allowlist.path_allowed(fragment.path))
                    && (allowlist.regexes.is_none() || regex_allowed)
                    && (allowlist.stopwords.is_empty() || stopword)
            }
        }
    })
}

/// Drops a generic rule's finding when a specific rule found the same secret on the same line
/// (as gitleaks does), and exact repeats of one finding.
fn drop_generic_duplicates(findings: Vec<Finding>) -> Vec<Finding> {
    let generic = |finding: &Finding| finding.rule_id.to_lowercase().contains("generic");
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for (index, finding) in findings.iter().enumerate() {
        let shadowed = generic(finding)
            && findings.iter().any(|other| {
                other.start_line == finding.start_line
                    && other.commit == finding.commit
                    && other.rule_id != finding.rule_id
                    && !generic(other)
                    && (other.secret.contains(&finding.secret) || finding.secret.contains(&other.secret))
            });
        let repeated = findings[..index].iter().any(|earlier| {
            earlier.rule_id == finding.rule_id
                && earlier.start_line == finding.start_line
                && earlier.start_column == finding.start_column
                && earlier.secret == finding.secret
        });
        if !shadowed && !repeated {
            kept.push(finding.clone());
        }
    }
    kept
}

/// Where the lines of a content are.
struct LineIndex {
    /// The offset of each `\n`.
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(content: &[u8]) -> Self {
        Self { newlines: memchr_all(content) }
    }

    /// The 0-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|newline| *newline < offset)
    }

    fn line_start(&self, line: usize) -> usize {
        if line == 0 { 0 } else { self.newlines[line - 1] + 1 }
    }

    fn line_end(&self, line: usize, length: usize) -> usize {
        self.newlines.get(line).copied().unwrap_or(length)
    }

    /// The byte ranges of every line.
    fn lines(&self, length: usize) -> impl Iterator<Item = Range<usize>> + '_ {
        (0..=self.newlines.len()).map(move |line| self.line_start(line)..self.line_end(line, length))
    }

    /// The file's line number (from 1) of the content's line `line` (from 0).
    fn number(&self, line: usize, numbers: Option<&[usize]>) -> usize {
        numbers.and_then(|numbers| numbers.get(line).copied()).unwrap_or(line + 1)
    }

    /// The whole lines `range` is on.
    fn line_text<'a>(&self, content: &'a [u8], range: &Range<usize>) -> &'a [u8] {
        let first = self.line_of(range.start);
        let last = self.line_of(range.end.saturating_sub(1).max(range.start));
        &content[self.line_start(first)..self.line_end(last, content.len())]
    }

    /// Sets a finding's lines and columns from its byte range.
    fn place(&self, finding: &mut Finding, range: &Range<usize>, numbers: Option<&[usize]>) {
        let first = self.line_of(range.start);
        let last_byte = range.end.saturating_sub(1).max(range.start);
        let last = self.line_of(last_byte);
        finding.start_line = self.number(first, numbers);
        finding.end_line = self.number(last, numbers);
        finding.start_column = range.start - self.line_start(first) + 1;
        finding.end_column = last_byte - self.line_start(last) + 1;
    }
}

fn memchr_all(content: &[u8]) -> Vec<usize> {
    content.iter().enumerate().filter(|(_, byte)| **byte == b'\n').map(|(index, _)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(rules: &str) -> Detector {
        Detector::new(Config::parse(rules, "r.toml", None).unwrap_or_else(|error| panic!("{error}")), 3)
    }

    fn scan(detector: &Detector, path: &str, content: &str) -> Vec<Finding> {
        detector.detect(&Fragment { content: content.as_bytes(), path, commit: None, line_numbers: None })
    }

    const RULE: &str = r#"
[[rules]]
id = "test-key"
description = "A test key"
regex = '''key_([a-z0-9]{16})'''
keywords = ["key_"]
entropy = 2.0
"#;

    #[test]
    fn a_secret_is_found_with_its_place_and_group() {
        let detector = detector(RULE);
        let found = scan(&detector, "a.txt", "first line\n  x = key_a1b2c3d4e5f6g7h8 # here\n");
        assert_eq!(found.len(), 1, "{found:?}");
        let finding = &found[0];
        assert_eq!((finding.start_line, finding.start_column, finding.end_line, finding.end_column), (2, 7, 2, 26));
        assert_eq!(finding.secret, "a1b2c3d4e5f6g7h8");
        assert_eq!(finding.matched, "key_a1b2c3d4e5f6g7h8");
        assert!(finding.entropy > 3.9);
    }

    #[test]
    fn keywords_entropy_and_inline_allow_keep_findings_out() {
        let detector = detector(RULE);
        assert!(scan(&detector, "a", "KEY_aaaaaaaaaaaaaaaa").is_empty(), "keyword in another case, low entropy");
        assert_eq!(scan(&detector, "a", "KEY_a1b2c3d4e5f6g7h8").len(), 0, "the regex is case-sensitive");
        assert!(scan(&detector, "a", "key_a1b2c3d4e5f6g7h8 // gitleaks:allow").is_empty());
    }

    #[test]
    fn allowlists_by_target_condition_and_stopword() {
        let base = RULE.to_owned();
        let with = |extra: &str| detector(&format!("{base}\n{extra}"));
        let line = "token key_a1b2c3d4e5f6g7h8 in test/fixture.txt";
        let found = |detector: &Detector, path: &str| scan(detector, path, line).len();
        let by_line = with("[[rules.allowlists]]\nregexTarget = 'line'\nregexes = ['^token']\n");
        assert_eq!(found(&by_line, "x"), 0);
        let by_secret = with("[[rules.allowlists]]\nregexes = ['^token']\n");
        assert_eq!(found(&by_secret, "x"), 1, "the secret does not start with token");
        let and = with("[[rules.allowlists]]\ncondition = 'AND'\npaths = ['^test/']\nstopwords = ['c3d4']\n");
        assert_eq!(found(&and, "src/a"), 1, "the path does not match");
        assert_eq!(found(&and, "test/a"), 0);
        let global_path = with("[[allowlists]]\npaths = ['^vendor/']\n");
        assert_eq!(found(&global_path, "vendor/x"), 0);
        assert_eq!(found(&global_path, "src/x"), 1);
        let targeted = with("[[allowlists]]\ntargetRules = ['test-key']\nstopwords = ['E5F6']\n");
        assert_eq!(found(&targeted, "x"), 0);
    }

    #[test]
    fn path_only_rules_report_files() {
        let detector = detector("[[rules]]\nid = 'pkcs12'\npath = '''\\.p12$'''\n");
        let found = scan(&detector, "certs/client.p12", "binary");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].matched, "file detected: certs/client.p12");
        assert!(scan(&detector, "certs/client.pem", "binary").is_empty());
    }

    #[test]
    fn encoded_secrets_are_found_where_the_encoded_text_is() {
        let detector = detector(RULE);
        let encoded = "a2V5X2ExYjJjM2Q0ZTVmNmc3aDg="; // base64 of key_a1b2c3d4e5f6g7h8
        let found = scan(&detector, "a", &format!("\nvalue: {encoded}\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        let finding = &found[0];
        assert_eq!(finding.secret, "a1b2c3d4e5f6g7h8");
        assert_eq!((finding.start_line, finding.start_column, finding.end_column), (2, 8, 7 + encoded.len()));
        assert!(finding.tags.contains(&"decoded:base64".to_owned()), "{:?}", finding.tags);
    }

    #[test]
    fn diff_lines_keep_the_files_line_numbers() {
        let detector = detector(RULE);
        let numbers = [10, 42];
        let content = b"nothing\nkey_a1b2c3d4e5f6g7h8";
        let found = detector.detect(&Fragment { content, path: "a", commit: None, line_numbers: Some(&numbers) });
        assert_eq!(found.first().map(|finding| finding.start_line), Some(42));
    }

    #[test]
    fn a_generic_finding_gives_way_to_a_specific_one() {
        let rules = format!(
            "{RULE}\n[[rules]]\nid = 'generic-secret'\nregex = '''secret\\s*=\\s*(\\S+)'''\nkeywords = ['secret']\n"
        );
        let found = scan(&detector(&rules), "a", "secret = key_a1b2c3d4e5f6g7h8");
        let ids: Vec<&str> = found.iter().map(|finding| finding.rule_id.as_str()).collect();
        assert_eq!(ids, ["test-key"]);
    }
}
