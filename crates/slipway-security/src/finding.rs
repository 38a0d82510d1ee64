//! A finding, in gitleaks' report shape, and how its secret is redacted.

use serde::{Deserialize, Serialize};

/// One secret found: gitleaks' JSON report fields, in its spelling, so its baselines and tools
/// read Slipway's reports and the other way round.
///
/// Lines and columns count from 1; columns are bytes, and `EndColumn` is the column of the last
/// byte of the match. Outside this crate a finding's secret is always redacted (see
/// [`Finding::redact`]): [`crate::scan`] redacts before it returns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Finding {
    /// What the rule finds.
    pub description: String,
    /// The first line of the match.
    pub start_line: usize,
    /// The last line of the match.
    pub end_line: usize,
    /// The column of the match's first byte.
    pub start_column: usize,
    /// The column of the match's last byte.
    pub end_column: usize,
    /// The rule's whole match (redacted).
    #[serde(rename = "Match")]
    pub matched: String,
    /// The secret (redacted).
    pub secret: String,
    /// The file, relative to what was scanned; `archive.zip!inner/file` inside an archive.
    pub file: String,
    /// The link's path when the file is a symbolic link (always empty: links are not followed).
    pub symlink_file: String,
    /// The commit that added it (history scans).
    pub commit: String,
    /// The Shannon entropy of the secret (bits per character).
    pub entropy: f32,
    /// The commit's author.
    pub author: String,
    /// The author's email address.
    pub email: String,
    /// The commit's date (ISO 8601).
    pub date: String,
    /// The commit's message.
    pub message: String,
    /// The rule's tags, and `decoded:base64`/`decode-depth:N` for a secret found decoded.
    pub tags: Vec<String>,
    /// The rule's id.
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    /// `file:rule:line`, or `commit:file:rule:line` in a history scan: what `.gitleaksignore`
    /// lists to ignore it.
    pub fingerprint: String,
}

/// The redaction used when none is asked for: 80% of a secret hidden.
pub const DEFAULT_REDACT_PERCENT: u8 = 80;

/// Hides the end of `secret`, keeping its first characters: `percent` of it hidden (as
/// gitleaks' `--redact=N`), but never less than half of it, so that no redaction shows a secret
/// whole; 100 hides it all (`REDACTED`).
#[must_use]
pub fn redact_secret(secret: &str, percent: u8) -> String {
    let percent = percent.clamp(1, 100);
    if percent >= 100 || secret.is_empty() {
        return "REDACTED".to_owned();
    }
    let characters = secret.chars().count();
    let shown = characters * usize::from(100 - percent) / 100;
    let shown = shown.min(characters / 2);
    let kept: String = secret.chars().take(shown).collect();
    format!("{kept}...")
}

impl Finding {
    /// Replaces the secret, in the secret and in the match, with its redaction.
    pub fn redact(&mut self, percent: u8) {
        if self.secret.is_empty() {
            return;
        }
        let redacted = redact_secret(&self.secret, percent);
        self.matched = self.matched.replace(&self.secret, &redacted);
        // A match the secret does not appear in as written (decoded, trimmed) is replaced too.
        if self.matched.contains(&self.secret) || !self.matched.contains(&redacted) {
            self.matched = redact_secret(&self.matched, percent.max(DEFAULT_REDACT_PERCENT));
        }
        self.secret = redacted;
    }

    /// Sets the fingerprint from the file, rule, line and commit.
    pub(crate) fn set_fingerprint(&mut self) {
        self.fingerprint = if self.commit.is_empty() {
            format!("{}:{}:{}", self.file, self.rule_id, self.start_line)
        } else {
            format!("{}:{}:{}:{}", self.commit, self.file, self.rule_id, self.start_line)
        };
    }

    /// `file:line:column`, for people.
    #[must_use]
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.start_line, self.start_column)
    }
}

/// The Shannon entropy of `text` in bits per character (its bytes counted as characters, as
/// gitleaks' counts runes over the byte length: the same for ASCII secrets).
#[must_use]
pub fn shannon_entropy(text: &[u8]) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for byte in text {
        counts[usize::from(*byte)] += 1;
    }
    #[expect(clippy::cast_precision_loss, reason = "lengths of secrets are far below 2^52")]
    let length = text.len() as f64;
    counts
        .iter()
        .filter(|count| **count > 0)
        .map(|count| {
            let frequency = f64::from(*count) / length;
            -frequency * frequency.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_shown_whole() {
        assert_eq!(redact_secret("AKIAQWERTYUIOPASDFGH", 80), "AKIA...");
        assert_eq!(redact_secret("AKIAQWERTYUIOPASDFGH", 1), "AKIAQWERTY...");
        assert_eq!(redact_secret("AKIAQWERTYUIOPASDFGH", 0), "AKIAQWERTY...");
        assert_eq!(redact_secret("AKIAQWERTYUIOPASDFGH", 100), "REDACTED");
        assert_eq!(redact_secret("ab", 50), "a...");
        assert_eq!(redact_secret("a", 10), "...");
        let mut finding = Finding {
            matched: "key = \"AKIAQWERTYUIOPASDFGH\"".into(),
            secret: "AKIAQWERTYUIOPASDFGH".into(),
            ..Finding::default()
        };
        finding.redact(80);
        assert_eq!(finding.matched, "key = \"AKIA...\"");
        assert_eq!(finding.secret, "AKIA...");
    }

    #[test]
    fn entropy_is_shannons() {
        assert!(shannon_entropy(b"").abs() < f64::EPSILON);
        assert!(shannon_entropy(b"aaaa").abs() < f64::EPSILON);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn reports_use_gitleaks_field_names() {
        let mut finding = Finding { rule_id: "r".into(), file: "a.txt".into(), start_line: 3, ..Finding::default() };
        finding.set_fingerprint();
        let json = serde_json::to_value(&finding).unwrap_or_default();
        for field in [
            "Description",
            "StartLine",
            "EndLine",
            "StartColumn",
            "EndColumn",
            "Match",
            "Secret",
            "File",
            "SymlinkFile",
            "Commit",
            "Entropy",
            "Author",
            "Email",
            "Date",
            "Message",
            "Tags",
            "RuleID",
            "Fingerprint",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
        assert_eq!(json["Fingerprint"], "a.txt:r:3");
    }
}
