//! How severe a vulnerability is: CVSS v3.x and v4.0 vectors scored with the `cvss` crate (base
//! score and FIRST's rating), else the database's own word (GitHub's `LOW`, `MODERATE`, `HIGH`,
//! `CRITICAL`), else unknown.

use std::str::FromStr as _;

use serde::Serialize;

use super::osv::{Affected, Record, SeverityScore};

/// FIRST's qualitative rating, and unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// No score and no word for it.
    Unknown,
    /// 0.0.
    None,
    /// 0.1-3.9.
    Low,
    /// 4.0-6.9.
    Medium,
    /// 7.0-8.9.
    High,
    /// 9.0-10.0.
    Critical,
}

impl Rating {
    /// Its name, lower-case.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The rating of a CVSS base score.
    #[must_use]
    pub fn of_score(score: f64) -> Self {
        if score >= 9.0 {
            Self::Critical
        } else if score >= 7.0 {
            Self::High
        } else if score >= 4.0 {
            Self::Medium
        } else if score > 0.0 {
            Self::Low
        } else {
            Self::None
        }
    }

    /// A database's word for it (`MODERATE` is medium).
    #[must_use]
    pub fn of_word(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Self::Critical),
            "high" | "important" => Some(Self::High),
            "moderate" | "medium" => Some(Self::Medium),
            "low" | "negligible" => Some(Self::Low),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

impl std::fmt::Display for Rating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity: a rating, with the score, method and vector it came from when it came from CVSS.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Severity {
    /// The rating.
    pub rating: Rating,
    /// The CVSS base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `CVSSv2`, `CVSSv3`, `CVSSv31`, `CVSSv4` (CycloneDX's names), or `database` for a word.
    pub method: &'static str,
    /// The vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

impl Severity {
    /// No severity known.
    #[must_use]
    pub fn unknown() -> Self {
        Self { rating: Rating::Unknown, score: None, method: "unknown", vector: None }
    }
}

/// Scores one `severity` entry; `None` for a type that is not CVSS or a vector that does not
/// read.
#[must_use]
pub fn score(entry: &SeverityScore) -> Option<Severity> {
    let vector = entry.score.trim();
    let (score, method) = match entry.kind.as_str() {
        "CVSS_V3" => {
            let parsed = cvss::v3::Vector::from_str(vector).ok()?;
            let method = if vector.starts_with("CVSS:3.0/") { "CVSSv3" } else { "CVSSv31" };
            (parsed.score().value(), method)
        }
        "CVSS_V4" => (cvss::v4::Vector::from_str(vector).ok()?.score().value(), "CVSSv4"),
        "CVSS_V2" => (cvss::v2::Vector::from_str(vector).ok()?.score().value(), "CVSSv2"),
        _ => return None,
    };
    Some(Severity { rating: Rating::of_score(score), score: Some(score), method, vector: Some(vector.to_owned()) })
}

/// Every CVSS score of a record for one of its `affected` entries (the package's own scores
/// when it has them, else the record's), v4 first, then v3, then v2.
#[must_use]
pub fn scores(record: &Record, affected: &Affected) -> Vec<Severity> {
    let entries = if affected.severity.is_empty() { &record.severity } else { &affected.severity };
    let mut scored: Vec<Severity> = entries.iter().filter_map(score).collect();
    let rank = |method: &str| match method {
        "CVSSv4" => 0,
        "CVSSv31" | "CVSSv3" => 1,
        _ => 2,
    };
    scored.sort_by_key(|severity| rank(severity.method));
    scored
}

/// The severity reports use: the first CVSS score (v4 before v3 before v2), else the database's
/// word, else unknown.
#[must_use]
pub fn of(record: &Record, affected: &Affected) -> Severity {
    if let Some(first) = scores(record, affected).into_iter().next() {
        return first;
    }
    let word = affected
        .database_specific
        .as_ref()
        .and_then(|specific| specific.get("severity"))
        .and_then(serde_json::Value::as_str)
        .or_else(|| record.database_severity());
    match word.and_then(Rating::of_word) {
        Some(rating) => Severity { rating, score: None, method: "database", vector: None },
        None => Severity::unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, score: &str) -> SeverityScore {
        SeverityScore { kind: kind.to_owned(), score: score.to_owned() }
    }

    #[test]
    fn cvss_3_1_vectors_get_their_base_scores() {
        // CVE-2021-44228 (Log4Shell): 10.0; a network, low-complexity, no-privilege read: 7.5.
        let log4shell =
            score(&entry("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")).unwrap_or_else(|| panic!());
        assert_eq!((log4shell.score, log4shell.rating, log4shell.method), (Some(10.0), Rating::Critical, "CVSSv31"));
        let read = score(&entry("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N")).unwrap_or_else(|| panic!());
        assert_eq!((read.score, read.rating), (Some(7.5), Rating::High));
        let medium =
            score(&entry("CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")).unwrap_or_else(|| panic!());
        assert_eq!((medium.score, medium.rating, medium.method), (Some(6.1), Rating::Medium, "CVSSv3"));
    }

    #[test]
    fn cvss_4_0_vectors_get_their_base_scores() {
        // FIRST's calculator: everything high over the network is 10.0; integrity high only, 8.7.
        let all = score(&entry("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"))
            .unwrap_or_else(|| panic!());
        assert_eq!((all.score, all.rating, all.method), (Some(10.0), Rating::Critical, "CVSSv4"));
        let integrity = score(&entry("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N"))
            .unwrap_or_else(|| panic!());
        assert_eq!((integrity.score, integrity.rating), (Some(8.7), Rating::High));
        let nothing = score(&entry("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"))
            .unwrap_or_else(|| panic!());
        assert_eq!((nothing.score, nothing.rating), (Some(0.0), Rating::None));
    }

    #[test]
    fn without_a_vector_the_database_word_counts() {
        let mut record = Record {
            id: "GHSA-x".into(),
            database_specific: Some(serde_json::json!({"severity": "MODERATE"})),
            ..Record::default()
        };
        let affected = Affected::default();
        assert_eq!(of(&record, &affected).rating, Rating::Medium);
        record.severity = vec![entry("CVSS_V3", "not a vector")];
        assert_eq!(of(&record, &affected).rating, Rating::Medium);
        record.database_specific = None;
        assert_eq!(of(&record, &affected), Severity::unknown());
        record.severity.push(entry("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"));
        record.severity.push(entry("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N"));
        assert_eq!(of(&record, &affected).method, "CVSSv4");
    }
}
