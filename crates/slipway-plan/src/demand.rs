//! A job's demands (Azure's `pool.demands`): capabilities the agent that runs it must have,
//! read from Azure's text once and kept typed from then on (the queue matches them, the API
//! shows them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A requirement a job makes of the agent that runs it: a capability that must exist, or that
/// must have a value (names and values compared ignoring case, as Azure does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Demand {
    /// The capability that must exist.
    pub name: String,
    /// The value it must have (`name -equals value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// Why a demand's text cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DemandError {
    /// The text is empty.
    #[error("a demand is empty")]
    Empty,
    /// The text starts with an operator.
    #[error("the demand '{0}' names no capability")]
    NoName(String),
    /// `-equals` with nothing after it.
    #[error("the demand '{0}' has no value after -equals")]
    NoValue(String),
    /// Another operator than `-equals` or `-exists`.
    #[error("the demand '{text}' uses '{operator}': Azure demands are `name` (exists) or `name -equals value`")]
    Operator {
        /// The demand.
        text: String,
        /// The operator.
        operator: String,
    },
}

impl Demand {
    /// Reads one of Azure's demands: `name` (exists), `name -exists`, or `name -equals value`
    /// (the value may hold spaces; operators are compared ignoring case).
    ///
    /// # Errors
    /// [`DemandError`] for an empty demand, one without a name or a value, or another operator.
    pub fn parse(text: &str) -> Result<Self, DemandError> {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let Some(name) = words.next() else {
            return Err(DemandError::Empty);
        };
        if name.starts_with('-') {
            return Err(DemandError::NoName(text.to_owned()));
        }
        match words.next() {
            None => Ok(Self { name: name.to_owned(), equals: None }),
            Some(operator) if operator.eq_ignore_ascii_case("-exists") && words.next().is_none() => {
                Ok(Self { name: name.to_owned(), equals: None })
            }
            Some(operator) if operator.eq_ignore_ascii_case("-equals") => {
                let rest = text[name.len()..].trim_start();
                let value = rest[operator.len()..].trim();
                if value.is_empty() {
                    Err(DemandError::NoValue(text.to_owned()))
                } else {
                    Ok(Self { name: name.to_owned(), equals: Some(value.to_owned()) })
                }
            }
            Some(operator) => Err(DemandError::Operator { text: text.to_owned(), operator: operator.to_owned() }),
        }
    }

    /// Whether an agent with these capabilities meets the demand.
    #[must_use]
    pub fn is_met_by(&self, capabilities: &BTreeMap<String, String>) -> bool {
        capabilities.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case(&self.name)
                && self.equals.as_ref().is_none_or(|expected| expected.eq_ignore_ascii_case(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demands_are_read_as_azure_writes_them() {
        let exists = |name: &str| Ok(Demand { name: name.into(), equals: None });
        assert_eq!(Demand::parse("npm"), exists("npm"));
        assert_eq!(Demand::parse("npm -exists"), exists("npm"));
        assert_eq!(
            Demand::parse(" Agent.OS -equals Linux "),
            Ok(Demand { name: "Agent.OS".into(), equals: Some("Linux".into()) })
        );
        assert_eq!(
            Demand::parse("SpecialSoftware -EQUALS two words"),
            Ok(Demand { name: "SpecialSoftware".into(), equals: Some("two words".into()) })
        );
        assert_eq!(Demand::parse(""), Err(DemandError::Empty));
        assert_eq!(Demand::parse("-equals x"), Err(DemandError::NoName("-equals x".into())));
        assert_eq!(Demand::parse("java -equals"), Err(DemandError::NoValue("java -equals".into())));
        assert!(Demand::parse("Agent.OS -gt Linux").is_err_and(|error| error.to_string().contains("-gt")));
    }

    #[test]
    fn capabilities_meet_demands_ignoring_case() {
        let capabilities = BTreeMap::from([("Agent.OS".to_owned(), "Linux".to_owned())]);
        assert!(Demand::parse("agent.os -equals LINUX").is_ok_and(|demand| demand.is_met_by(&capabilities)));
        assert!(Demand::parse("Agent.OS -equals Darwin").is_ok_and(|demand| !demand.is_met_by(&capabilities)));
        assert!(Demand::parse("docker").is_ok_and(|demand| !demand.is_met_by(&capabilities)));
    }
}
