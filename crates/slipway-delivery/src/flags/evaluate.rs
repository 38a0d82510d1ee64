//! A flag evaluated for an evaluation context, as flagd's `evaluateVariant` and `resolve` do
//! (open-feature/flagd, `core/pkg/evaluator/json.go`).

use datalogic_rs::DataValue;
use datalogic_rs::bumpalo::Bump;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::document::Targeting;
use super::{ENGINE, FlagDocument, FlagState, FlagType};

/// An evaluation context: `targetingKey` and any attributes (OpenFeature's), as a JSON object.
pub type EvaluationContext = Map<String, Value>;

/// Why a flag has its value (OpenFeature's resolution reasons, the ones flagd gives).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// No targeting: the default variant.
    Static,
    /// Targeting chose the variant.
    TargetingMatch,
    /// Targeting chose none (it answered null): the default variant, or the application's own
    /// default when the flag has none.
    Default,
    /// The flag is disabled: the application's own default.
    Disabled,
    /// The flag could not be evaluated (see the error code).
    Error,
}

impl Reason {
    /// As OpenFeature writes it (`TARGETING_MATCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "STATIC",
            Self::TargetingMatch => "TARGETING_MATCH",
            Self::Default => "DEFAULT",
            Self::Disabled => "DISABLED",
            Self::Error => "ERROR",
        }
    }
}

/// Why an evaluation failed (OpenFeature's error codes; flagd gives all but
/// `TARGETING_KEY_MISSING` and `INVALID_CONTEXT`, which only a server reading a request can).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No flag has the key.
    FlagNotFound,
    /// The flag's targeting could not be evaluated.
    ParseError,
    /// The value is not of the type the application asked for.
    TypeMismatch,
    /// The context lacks a targeting key a rule needs (not given by flagd's evaluator: its
    /// `fractional` answers null instead).
    TargetingKeyMissing,
    /// The context is not an object.
    InvalidContext,
    /// Anything else: targeting chose a variant the flag does not have.
    General,
}

impl ErrorCode {
    /// As OpenFeature writes it (`FLAG_NOT_FOUND`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FlagNotFound => "FLAG_NOT_FOUND",
            Self::ParseError => "PARSE_ERROR",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::General => "GENERAL",
        }
    }
}

/// A flag's evaluation: its value and variant (none when the application's own default is to be
/// used: disabled, no default variant, or an error), why, and the flag's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// The flag's key.
    pub key: String,
    /// The value, if the flag gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The variant's name, if the flag gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Why.
    pub reason: Reason,
    /// What went wrong, with reason `ERROR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// A sentence on what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// The flag set's metadata with the flag's own over it.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl Resolution {
    fn error(key: &str, code: ErrorCode, details: String, metadata: Map<String, Value>) -> Self {
        Self {
            key: key.to_owned(),
            value: None,
            variant: None,
            reason: Reason::Error,
            error_code: Some(code),
            error_details: Some(details),
            metadata,
        }
    }

    /// This evaluation read as the given type, as an OpenFeature SDK asks for one: a value of
    /// another type becomes `TYPE_MISMATCH` (flagd's typed resolvers).
    pub fn expecting(self, wanted: FlagType) -> Self {
        match &self.value {
            Some(value) if FlagType::of(value) != Some(wanted) => {
                let details = format!(
                    "flag {:?} is a {} flag, not a {} one",
                    self.key,
                    FlagType::of(value).map_or("null", FlagType::as_str),
                    wanted.as_str()
                );
                Self {
                    variant: self.variant.clone(),
                    ..Self::error(&self.key, ErrorCode::TypeMismatch, details, self.metadata)
                }
            }
            _ => self,
        }
    }
}

impl FlagDocument {
    /// Evaluates a flag for a context, with `$flagd.timestamp` the clock's now.
    pub fn evaluate(&self, key: &str, context: &EvaluationContext) -> Resolution {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
        self.evaluate_at(key, context, now)
    }

    /// Evaluates every flag for a context (flagd's bulk evaluation), in key order.
    pub fn evaluate_all(&self, context: &EvaluationContext) -> Vec<Resolution> {
        self.flags().keys().map(|key| self.evaluate(key, context)).collect()
    }

    /// Evaluates a flag for a context at a given time (Unix seconds, `$flagd.timestamp`).
    pub fn evaluate_at(&self, key: &str, context: &EvaluationContext, timestamp: i64) -> Resolution {
        let mut metadata = self.metadata().clone();
        let Some(flag) = self.flag(key) else {
            return Resolution::error(key, ErrorCode::FlagNotFound, format!("flag {key:?} does not exist"), metadata);
        };
        metadata.extend(flag.metadata.iter().map(|(name, value)| (name.clone(), value.clone())));
        let resolved = |variant: &str, reason: Reason, metadata: Map<String, Value>| Resolution {
            key: key.to_owned(),
            value: flag.variants.get(variant).cloned(),
            variant: Some(variant.to_owned()),
            reason,
            error_code: None,
            error_details: None,
            metadata,
        };
        let code_default = |reason: Reason, metadata: Map<String, Value>| Resolution {
            key: key.to_owned(),
            value: None,
            variant: None,
            reason,
            error_code: None,
            error_details: None,
            metadata,
        };
        if flag.state == FlagState::Disabled {
            return code_default(Reason::Disabled, metadata);
        }
        let logic = match &flag.targeting {
            Targeting::None => {
                return match &flag.default_variant {
                    Some(variant) => resolved(variant, Reason::Static, metadata),
                    None => code_default(Reason::Default, metadata),
                };
            }
            Targeting::Broken(error) => {
                return Resolution::error(
                    key,
                    ErrorCode::ParseError,
                    format!("flag {key:?}: {}", error.message),
                    metadata,
                );
            }
            Targeting::Compiled(logic) => logic,
        };
        let mut data = context.clone();
        data.insert("$flagd".to_owned(), serde_json::json!({ "flagKey": key, "timestamp": timestamp }));
        let data = Value::Object(data);
        let arena = Bump::new();
        let chosen = match ENGINE.evaluate(logic, &data, &arena) {
            Ok(chosen) => chosen,
            Err(cause) => {
                return Resolution::error(
                    key,
                    ErrorCode::ParseError,
                    format!("flag {key:?}: its targeting failed: {cause}"),
                    metadata,
                );
            }
        };
        let variant = match chosen {
            DataValue::Null => {
                return match &flag.default_variant {
                    Some(variant) => resolved(variant, Reason::Default, metadata),
                    None => code_default(Reason::Default, metadata),
                };
            }
            DataValue::String(name) => (*name).to_owned(),
            DataValue::Bool(flag) => flag.to_string(),
            // flagd takes the result's JSON text without its quotes.
            other => other.to_json_string().replace('"', ""),
        };
        if flag.variants.contains_key(&variant) {
            resolved(&variant, Reason::TargetingMatch, metadata)
        } else {
            Resolution::error(
                key,
                ErrorCode::General,
                format!("flag {key:?}: targeting chose {variant:?}, which is not one of its variants"),
                metadata,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(flags: Value) -> FlagDocument {
        FlagDocument::from_value(json!({ "flags": flags })).expect("a valid document")
    }

    fn context(value: Value) -> EvaluationContext {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn flagd_properties_reach_targeting() {
        let flags = document(json!({
            "keyed": {
                "state": "ENABLED", "variants": {"yes": true, "no": false}, "defaultVariant": "no",
                "targeting": {"if": [{"==": [{"var": "$flagd.flagKey"}, "keyed"]}, "yes", "no"]}
            },
            "timed": {
                "state": "ENABLED", "variants": {"before": "b", "after": "a"}, "defaultVariant": "before",
                "targeting": {"if": [{">=": [{"var": "$flagd.timestamp"}, 1_700_000_000]}, "after", "before"]}
            }
        }));
        let empty = EvaluationContext::new();
        assert_eq!(flags.evaluate_at("keyed", &empty, 0).variant.as_deref(), Some("yes"));
        assert_eq!(flags.evaluate_at("timed", &empty, 1_699_999_999).variant.as_deref(), Some("before"));
        assert_eq!(flags.evaluate_at("timed", &empty, 1_700_000_000).variant.as_deref(), Some("after"));
    }

    #[test]
    fn in_and_starts_with_target() {
        let flags = document(json!({
            "banner": {
                "state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                "targeting": {"if": [{"or": [
                    {"in": [{"var": "email"}, ["a@x.com", "b@x.com"]]},
                    {"in": ["@staff.", {"var": "email"}]},
                    {"starts_with": [{"var": "email"}, "admin@"]}
                ]}, "on", null]}
            }
        }));
        let reason = |email: &str| {
            let resolution = flags.evaluate_at("banner", &context(json!({"email": email})), 0);
            (resolution.value, resolution.reason)
        };
        assert_eq!(reason("a@x.com"), (Some(json!(true)), Reason::TargetingMatch));
        assert_eq!(reason("eve@staff.x.com"), (Some(json!(true)), Reason::TargetingMatch));
        assert_eq!(reason("admin@y.com"), (Some(json!(true)), Reason::TargetingMatch));
        assert_eq!(reason("c@x.com"), (Some(json!(false)), Reason::Default));
    }

    #[test]
    fn a_variant_targeting_does_not_know_is_a_general_error() {
        let flags = document(json!({
            "f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"if": [true, "b"]}}
        }));
        let resolution = flags.evaluate_at("f", &EvaluationContext::new(), 0);
        assert_eq!((resolution.reason, resolution.error_code), (Reason::Error, Some(ErrorCode::General)));
    }

    #[test]
    fn a_typed_read_of_another_type_is_a_mismatch() {
        let flags = document(json!({"f": {"state": "ENABLED", "variants": {"a": "x"}, "defaultVariant": "a"}}));
        let resolution = flags.evaluate_at("f", &EvaluationContext::new(), 0);
        assert_eq!(resolution.clone().expecting(FlagType::String).reason, Reason::Static);
        let mismatch = resolution.expecting(FlagType::Boolean);
        assert_eq!(mismatch.error_code, Some(ErrorCode::TypeMismatch));
        assert_eq!(mismatch.value, None);
    }

    #[test]
    fn metadata_of_the_flag_set_and_the_flag_merge() {
        let flags = FlagDocument::from_value(json!({
            "metadata": {"team": "web", "version": "1"},
            "flags": {"f": {"state": "DISABLED", "variants": {"a": 1}, "metadata": {"version": "2"}}}
        }))
        .expect("valid");
        let resolution = flags.evaluate_at("f", &EvaluationContext::new(), 0);
        assert_eq!(resolution.reason, Reason::Disabled);
        assert_eq!(Value::Object(resolution.metadata), json!({"team": "web", "version": "2"}));
    }
}
