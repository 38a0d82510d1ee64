//! GitHub Actions expressions as the plan keeps them: parsed, and stored as their source text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A GitHub Actions expression (the text inside `${{ }}`, or an `if` as written), parsed.
///
/// It serializes as its source alone (`{"github": "..."}`) and deserializes by parsing that
/// source again, so a stored expression is always valid.
#[derive(Clone, Debug, PartialEq)]
pub struct GithubExpression {
    /// The source text (without `${{ }}`).
    pub source: String,
    /// The syntax tree.
    pub root: slipway_github_expr::Expr,
}

impl GithubExpression {
    /// Parses `source` with GitHub's grammar and limits.
    ///
    /// # Errors
    ///
    /// GitHub's parse error, with its offset in `source`.
    pub fn parse(source: &str) -> Result<Self, slipway_github_expr::ParseError> {
        let root = slipway_github_expr::parse(source)?;
        Ok(Self { source: source.to_owned(), root })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "GithubExpression", deny_unknown_fields)]
struct Stored<S> {
    github: S,
}

impl Serialize for GithubExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored { github: self.source.as_str() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for GithubExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::<String>::deserialize(deserializer)?;
        Self::parse(&stored.github).map_err(|error| serde::de::Error::custom(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Condition, ConditionExpression};

    #[test]
    fn conditions_of_both_dialects_round_trip_through_json() {
        let github = Condition {
            source: "needs.build.result == 'success'".into(),
            expression: GithubExpression::parse("needs.build.result == 'success'").expect("parses").into(),
            span: None,
        };
        let json = serde_json::to_string(&github).expect("serializes");
        assert!(json.contains(r#""expression":{"github":"needs.build.result == 'success'"}"#), "{json}");
        assert_eq!(serde_json::from_str::<Condition>(&json).expect("reads"), github);

        let azure = Condition {
            source: "succeeded()".into(),
            expression: slipway_expr::parse("succeeded()").expect("parses").into(),
            span: None,
        };
        let json = serde_json::to_string(&azure).expect("serializes");
        assert!(json.contains(r#""expression":{"source":"succeeded()"}"#), "{json}");
        let read: Condition = serde_json::from_str(&json).expect("reads");
        assert!(matches!(read.expression, ConditionExpression::Azure(_)));
        assert_eq!(read, azure);
    }

    #[test]
    fn a_stored_expression_that_does_not_parse_is_refused() {
        let error = serde_json::from_str::<GithubExpression>(r#"{"github": "a =="}"#).expect_err("refused");
        assert!(!error.to_string().is_empty());
    }
}
