//! Ignored vulnerabilities, in osv-scanner's configuration format (`osv-scanner.toml`):
//!
//! ```toml
//! [[IgnoredVulns]]
//! id = "GHSA-xxxx-xxxx-xxxx"
//! ignoreUntil = 2027-01-01   # a TOML date or date-time, or a string holding one
//! reason = "Only reachable through a feature we do not enable"
//! ```
//!
//! An ignore applies to its id and to records that have the id among their aliases (as
//! osv-scanner's does); one whose `ignoreUntil` has passed does not apply, and the report says
//! it expired. Other tables of osv-scanner's file (`PackageOverrides`, ...) are not read, and a
//! warning says so.

use std::path::Path;

use super::VulnError;

/// One `[[IgnoredVulns]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ignore {
    /// The id (or an alias) ignored.
    pub id: String,
    /// Until when, RFC 3339 (the start of the day, UTC, for a date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The file and line it is at.
    pub at: String,
}

impl Ignore {
    /// Whether it has expired at `now`.
    #[must_use]
    pub fn expired(&self, now: jiff::Timestamp) -> bool {
        self.until.as_deref().and_then(super::osv::parse_time).is_some_and(|until| until < now)
    }
}

/// The ignores of a file, and warnings about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    /// The entries.
    pub ignores: Vec<Ignore>,
    /// What was not read, or is missing.
    pub warnings: Vec<String>,
}

impl IgnoreFile {
    /// Reads `path`.
    ///
    /// # Errors
    /// [`VulnError::Ignore`] at the mistake's line:col, or [`VulnError::Read`].
    pub fn load(path: &Path) -> Result<Self, VulnError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| VulnError::Read { path: shown.clone(), source })?;
        Self::parse(&shown, &text)
    }

    /// Reads the text of the file `file`.
    ///
    /// # Errors
    /// As [`IgnoreFile::load`].
    pub fn parse(file: &str, text: &str) -> Result<Self, VulnError> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = crate::config::line_column(text, offset);
            VulnError::Ignore { file: file.to_owned(), line, column, message }
        };
        let document = toml::de::DeTable::parse(text).map_err(|error| {
            invalid(error.span().map_or(0, |span| span.start), format!("not valid TOML: {}", error.message().trim()))
        })?;
        let mut result = Self::default();
        for (key, value) in document.get_ref() {
            if key.get_ref() != "IgnoredVulns" {
                result
                    .warnings
                    .push(format!("{file}: [{}] is not read (Slipway reads only [[IgnoredVulns]])", key.get_ref()));
                continue;
            }
            let toml::de::DeValue::Array(entries) = value.get_ref() else {
                return Err(invalid(
                    value.span().start,
                    "IgnoredVulns must be an array of tables ([[IgnoredVulns]])".to_owned(),
                ));
            };
            for entry in entries {
                let toml::de::DeValue::Table(table) = entry.get_ref() else {
                    return Err(invalid(entry.span().start, "each IgnoredVulns entry must be a table".to_owned()));
                };
                let (line, _) = crate::config::line_column(text, entry.span().start);
                let mut ignore = Ignore { id: String::new(), until: None, reason: None, at: format!("{file}:{line}") };
                for (field, value) in table {
                    let offset = value.span().start;
                    match field.get_ref().as_ref() {
                        "id" => match value.get_ref() {
                            toml::de::DeValue::String(id) if !id.trim().is_empty() => ignore.id = id.trim().to_owned(),
                            _ => {
                                return Err(invalid(
                                    offset,
                                    "id must be a non-empty string (an OSV id or alias)".to_owned(),
                                ));
                            }
                        },
                        "reason" => match value.get_ref() {
                            toml::de::DeValue::String(reason) => ignore.reason = Some(reason.trim().to_owned()),
                            _ => return Err(invalid(offset, "reason must be a string".to_owned())),
                        },
                        "ignoreUntil" => {
                            let raw = match value.get_ref() {
                                toml::de::DeValue::String(raw) => raw.to_string(),
                                toml::de::DeValue::Datetime(datetime) => datetime.to_string(),
                                _ => String::new(),
                            };
                            let until = until_time(&raw).ok_or_else(|| {
                                invalid(
                                    offset,
                                    format!("ignoreUntil '{raw}' is not a date (2027-01-31) or an RFC 3339 time"),
                                )
                            })?;
                            ignore.until = Some(until);
                        }
                        other => result.warnings.push(format!("{file}:{line}: IgnoredVulns.{other} is not read")),
                    }
                }
                if ignore.id.is_empty() {
                    return Err(invalid(entry.span().start, "an IgnoredVulns entry needs an id".to_owned()));
                }
                if ignore.reason.as_deref().is_none_or(str::is_empty) {
                    result.warnings.push(format!("{}: the ignore of {} gives no reason", ignore.at, ignore.id));
                }
                if ignore.until.is_none() {
                    result
                        .warnings
                        .push(format!("{}: the ignore of {} never expires (no ignoreUntil)", ignore.at, ignore.id));
                }
                result.ignores.push(ignore);
            }
        }
        Ok(result)
    }

    /// The ignore of a finding: of its id, else of one of its aliases.
    #[must_use]
    pub fn find(&self, id: &str, aliases: &[String]) -> Option<&Ignore> {
        self.ignores
            .iter()
            .find(|ignore| ignore.id == id)
            .or_else(|| self.ignores.iter().find(|ignore| aliases.contains(&ignore.id)))
    }
}

/// A date (start of the day, UTC) or a date-time, as RFC 3339.
fn until_time(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let Ok(date) = raw.parse::<jiff::civil::Date>() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let time = super::osv::parse_time(raw)?;
    Some(time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_are_read_with_their_expiry() {
        let file = IgnoreFile::parse(
            "osv-scanner.toml",
            "[[IgnoredVulns]]\nid = \"GHSA-1\"\nignoreUntil = 2027-01-01\nreason = \"not reachable\"\n\n\
             [[IgnoredVulns]]\nid = \"CVE-2\"\nignoreUntil = \"2020-06-01T12:00:00Z\"\nreason = \"old\"\n\n\
             [[IgnoredVulns]]\nid = \"GO-3\"\n\n[[PackageOverrides]]\nname = \"x\"\n",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(file.ignores.len(), 3);
        assert_eq!(file.ignores[0].until.as_deref(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(file.ignores[0].at, "osv-scanner.toml:1");
        let now: jiff::Timestamp = "2026-12-07T08:00:00Z".parse().unwrap_or_else(|error| panic!("{error}"));
        assert!(!file.ignores[0].expired(now));
        assert!(file.ignores[1].expired(now));
        assert!(!file.ignores[2].expired(now));
        assert_eq!(file.find("GHSA-9", &["CVE-2".to_owned()]).map(|ignore| ignore.id.as_str()), Some("CVE-2"));
        assert!(
            file.warnings.iter().any(|warning| warning.contains("[PackageOverrides] is not read")),
            "{:?}",
            file.warnings
        );
        assert!(file.warnings.iter().any(|warning| warning.contains("GO-3 gives no reason")), "{:?}", file.warnings);
    }

    #[test]
    fn mistakes_are_named_at_their_place() {
        let error = IgnoreFile::parse("o.toml", "[[IgnoredVulns]]\nid = \"X\"\nignoreUntil = \"next year\"\n")
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("o.toml:3:15: ignoreUntil 'next year' is not a date"), "{error}");
        let error = IgnoreFile::parse("o.toml", "[[IgnoredVulns]]\nreason = \"x\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("o.toml:1:1: an IgnoredVulns entry needs an id"), "{error}");
        let error = IgnoreFile::parse("o.toml", "[[IgnoredVulns]\n").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("o.toml:1:"), "{error}");
    }
}
