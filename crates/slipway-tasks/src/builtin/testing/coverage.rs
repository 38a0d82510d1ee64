//! Code coverage summary files: which format a file is, and reading it into a
//! [`slipway_events::Coverage`].

use std::path::Path;

use slipway_events::{Coverage, CoverageCounter};

use super::xml::{XmlError, XmlFile};
use super::{cobertura, jacoco};

/// A coverage format (`codeCoverageTool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tool {
    /// Cobertura XML (`coverage`), as written by Cobertura, coverage.py, coverlet, Istanbul,
    /// gcovr, ReportGenerator...
    Cobertura,
    /// JaCoCo XML (`report`).
    JaCoCo,
}

impl Tool {
    /// Reads a `codeCoverageTool` value (any case).
    pub(super) fn parse(text: &str) -> Option<Self> {
        [Self::Cobertura, Self::JaCoCo].into_iter().find(|tool| tool.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The tool's name, as Azure spells it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Cobertura => "Cobertura",
            Self::JaCoCo => "JaCoCo",
        }
    }
}

/// What reading a summary file gave.
#[derive(Debug, PartialEq)]
pub(super) enum Read {
    /// A summary (possibly with no counters).
    Summary(Coverage),
    /// The root element is not of the format asked for (or of any format, when detecting).
    OtherFormat(String),
}

/// Reads a summary file as `tool`, or as whatever its root element says when `tool` is `None`
/// (`coverage` is Cobertura, `report` is JaCoCo).
///
/// # Errors
/// When the file cannot be read or is not well-formed XML.
pub(super) fn read(tool: Option<Tool>, path: &Path) -> Result<Read, XmlError> {
    let mut xml = XmlFile::open(path)?;
    let root = xml.root()?;
    let detected = if root.is("coverage") {
        Some(Tool::Cobertura)
    } else if root.is("report") {
        Some(Tool::JaCoCo)
    } else {
        None
    };
    let file = path.display().to_string();
    let read = match (detected, tool) {
        (Some(found), asked) if asked.is_none_or(|asked| asked == found) => Read::Summary(match found {
            Tool::Cobertura => cobertura::parse(&mut xml, &root, file)?,
            Tool::JaCoCo => jacoco::parse(&mut xml, file)?,
        }),
        _ => Read::OtherFormat(root.name),
    };
    while xml.next()?.is_some() {}
    Ok(read)
}

/// Every counter of a summary with its label, in the order the log shows them.
pub(super) fn counters(coverage: &Coverage) -> Vec<(String, CoverageCounter)> {
    let mut all = Vec::new();
    if let Some(lines) = coverage.lines {
        all.push(("Lines".to_owned(), lines));
    }
    if let Some(branches) = coverage.branches {
        all.push(("Branches".to_owned(), branches));
    }
    for (name, counter) in &coverage.other {
        let mut label = name.clone();
        if let Some(first) = label.get(..1) {
            label = first.to_uppercase() + &label[1..];
        }
        all.push((label, *counter));
    }
    all
}

/// A counter's percentage, for the log.
pub(super) fn percent(counter: CoverageCounter) -> String {
    if counter.total == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.2}%", counter.covered as f64 * 100.0 / counter.total as f64)
    }
}

/// A whole number attribute (`lines-covered="12"`, tolerating `12.0`).
pub(super) fn count(text: Option<&str>) -> Option<u64> {
    let text = text?.trim();
    text.parse().ok().or_else(|| {
        text.parse::<f64>().ok().filter(|value| value.is_finite() && *value >= 0.0).map(|value| value.round() as u64)
    })
}
