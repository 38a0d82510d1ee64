//! OSV records (schema 1.7): the fields matching and reports use, read with serde and checked
//! beyond what serde checks (an id, a `modified` time in RFC 3339, each event with exactly one of
//! `introduced`, `fixed`, `last_affected` and `limit`, a range type OSV defines).

use serde::{Deserialize, Serialize};

/// One OSV record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The schema version it was written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Its id (`GHSA-...`, `RUSTSEC-...`, `PYSEC-...`).
    pub id: String,
    /// When it was last changed, RFC 3339.
    pub modified: String,
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When it was withdrawn; a withdrawn record matches nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability (`CVE-...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids of related vulnerabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// One line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Scores of the whole record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    /// The packages and versions it affects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// What the database adds (GitHub's `severity`: `LOW`, `MODERATE`, `HIGH`, `CRITICAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A `severity` entry: a type and a score (a CVSS vector for `CVSS_V2`/`V3`/`V4`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector or value.
    pub score: String,
}

/// An `affected` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package (absent in records that only have `GIT` ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Scores of this package only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    /// Ranges of affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Affected versions, listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// What the ecosystem adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// What the database adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package: its ecosystem (`crates.io`, `npm`, `PyPI`, ...) and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The ecosystem, maybe with a `:` suffix.
    pub ecosystem: String,
    /// The name as the ecosystem writes it.
    pub name: String,
    /// Its purl without a version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A range of versions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events, in the order written.
    pub events: Vec<Event>,
}

/// An event of a range: exactly one of its fields is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Versions from here on are affected (`"0"`: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// Versions from here on are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The last affected version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Versions from here on are outside the range (`"*"`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `PACKAGE`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// What is wrong with a record, and where (1-based; 0 when there is no place).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Record {
    /// Reads and checks one record.
    ///
    /// # Errors
    /// [`RecordError`] when `text` is not JSON, not an OSV record, or breaks one of OSV's rules.
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        let record: Self = serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]).to_owned();
            RecordError {
                line: error.line(),
                column: error.column(),
                message: format!("not an OSV record: {message} (expected OSV's schema: id, modified, affected[], ...)"),
            }
        })?;
        record.check().map_err(|message| {
            let (line, column) = place_of(text, &record.id);
            RecordError { line, column, message }
        })?;
        Ok(record)
    }

    fn check(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("its id is empty".to_owned());
        }
        if parse_time(&self.modified).is_none() {
            return Err(format!(
                "{}: modified '{}' is not an RFC 3339 time (like 2024-01-31T12:00:00Z)",
                self.id, self.modified
            ));
        }
        for (index, affected) in self.affected.iter().enumerate() {
            if let Some(package) = &affected.package
                && (package.ecosystem.trim().is_empty() || package.name.trim().is_empty())
            {
                return Err(format!("{}: affected[{index}].package needs an ecosystem and a name", self.id));
            }
            for (range_index, range) in affected.ranges.iter().enumerate() {
                let place = format!("{}: affected[{index}].ranges[{range_index}]", self.id);
                if !matches!(range.kind.as_str(), "SEMVER" | "ECOSYSTEM" | "GIT") {
                    return Err(format!("{place}: type '{}' is not SEMVER, ECOSYSTEM or GIT", range.kind));
                }
                if range.events.is_empty() {
                    return Err(format!("{place}: has no events (expected at least an introduced)"));
                }
                for (event_index, event) in range.events.iter().enumerate() {
                    let set = [&event.introduced, &event.fixed, &event.last_affected, &event.limit]
                        .iter()
                        .filter(|value| value.is_some())
                        .count();
                    if set != 1 {
                        return Err(format!(
                            "{place}.events[{event_index}]: an event has exactly one of introduced, fixed, last_affected, limit (it has {set})"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether it was withdrawn.
    #[must_use]
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.as_deref().is_some_and(|withdrawn| !withdrawn.trim().is_empty())
    }

    /// Its `modified` time.
    #[must_use]
    pub fn modified_time(&self) -> Option<jiff::Timestamp> {
        parse_time(&self.modified)
    }

    /// GitHub's severity word (`database_specific.severity`), if it has one.
    #[must_use]
    pub fn database_severity(&self) -> Option<&str> {
        self.database_specific.as_ref()?.get("severity")?.as_str()
    }
}

/// An RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.trim().parse::<jiff::Timestamp>().ok()
}

/// The line and column of the record's `"id"` in `text`, else 1:1.
fn place_of(text: &str, id: &str) -> (usize, usize) {
    let needle = format!("\"{id}\"");
    text.find(&needle).map_or((1, 1), |offset| crate::config::line_column(text, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_with_its_fields() {
        let record = Record::parse(
            r#"{"id": "RUSTSEC-2020-0001", "modified": "2021-01-01T00:00:00Z", "aliases": ["CVE-2020-1"],
                "affected": [{"package": {"ecosystem": "crates.io", "name": "x"},
                              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}],
                "database_specific": {"severity": "HIGH"}}"#,
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(record.affected[0].ranges[0].events[1].fixed.as_deref(), Some("1.0.1"));
        assert_eq!(record.database_severity(), Some("HIGH"));
        assert!(!record.is_withdrawn());
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let error = Record::parse("{\n  \"id\": 3\n}").err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!((error.line, error.column), (2, 9));
        assert!(
            error.message.starts_with("not an OSV record: invalid type: integer `3`, expected a string"),
            "{}",
            error.message
        );
        let error = Record::parse(
            "{\"id\": \"X-1\", \"modified\": \"2021-01-01T00:00:00Z\", \"affected\": [{\"package\": {\"ecosystem\": \"npm\", \"name\": \"a\"}, \"ranges\": [{\"type\": \"SEMVER\", \"events\": [{\"introduced\": \"0\", \"fixed\": \"1\"}]}]}]}",
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert!(
            error.message.contains("affected[0].ranges[0].events[0]: an event has exactly one"),
            "{}",
            error.message
        );
        let error =
            Record::parse("{\"id\": \"X-1\", \"modified\": \"yesterday\"}").err().unwrap_or_else(|| panic!("accepted"));
        assert!(error.message.contains("not an RFC 3339 time"), "{}", error.message);
        let error = Record::parse("{\"id\": \"X-1\", \"modified\": \"2021-01-01T00:00:00Z\", \"affected\": [{\"package\": {\"ecosystem\": \"npm\", \"name\": \"a\"}, \"ranges\": [{\"type\": \"RANGE\", \"events\": [{\"introduced\": \"0\"}]}]}]}").err().unwrap_or_else(|| panic!("accepted"));
        assert!(error.message.contains("type 'RANGE' is not SEMVER, ECOSYSTEM or GIT"), "{}", error.message);
    }
}
