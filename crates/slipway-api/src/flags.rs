//! Feature flags: an environment's flagd flag-definition document, changes to one flag, and the
//! OpenFeature Remote Evaluation Protocol's (OFREP, open-feature/protocol `service/openapi.yaml`)
//! requests and answers.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// One flag as the API lists it (read from the document).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FlagSummary {
    /// Its key.
    pub key: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// The type of its variants: `boolean`, `string`, `number` or `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its variants by name.
    #[schema(value_type = Object)]
    pub variants: serde_json::Map<String, serde_json::Value>,
    /// The variant served when targeting chooses none; none: the application's own default.
    pub default_variant: Option<String>,
    /// Whether it has a targeting rule.
    pub targeted: bool,
}

/// An environment's flags: its flagd document, revision and who changed it last.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct FlagSet {
    /// The environment's name.
    pub environment: String,
    /// The document's revision: 0 before the first change, one more with each.
    pub revision: i64,
    /// Who changed it last.
    pub updated_by: Option<String>,
    /// When (milliseconds since the Unix epoch), if ever.
    pub updated_at: Option<i64>,
    /// The flagd flag-definition document (`https://flagd.dev/schema/v0/flags.json`).
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Its flags, by key.
    pub flags: Vec<FlagSummary>,
}

/// A whole flag document to save.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutFlags {
    /// The flagd flag-definition document.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Save only over this revision (the `If-Match` header says the same); without either, over
    /// whatever is there.
    #[serde(default)]
    pub revision: Option<i64>,
}

/// A change to one flag: its state and/or default variant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetFlag {
    /// `ENABLED` or `DISABLED` (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A variant's name, or null for the application's own default; absent: unchanged.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub default_variant: Option<Option<String>>,
    /// Change only this revision (as `If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// A field that is present, null or not: `Some(None)` for null.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// An OFREP evaluation request: the evaluation context.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OfrepRequest {
    /// `targetingKey` and any attributes.
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

/// An OFREP evaluation: a success (`value` absent when the application's own default is to be
/// used: disabled, or no default variant) or, in a bulk answer, a failure (`errorCode`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfrepEvaluation {
    /// The flag's key.
    pub key: String,
    /// Its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
    /// `STATIC`, `TARGETING_MATCH`, `DEFAULT` or `DISABLED` (absent in a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The variant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `FLAG_NOT_FOUND`, `PARSE_ERROR`, `TARGETING_KEY_MISSING`, `INVALID_CONTEXT`, `GENERAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// The flag's metadata (with the flag set's).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// An OFREP bulk answer: every flag of the environment evaluated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OfrepBulk {
    /// Each flag's evaluation, by key.
    pub flags: Vec<OfrepEvaluation>,
    /// The flag set's metadata.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// An OFREP failure of a whole request (`evaluationFailure`, `flagNotFound`,
/// `bulkEvaluationFailure`, `generalErrorResponse`): `key` for one flag's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfrepFailure {
    /// The flag's key, for one flag's evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The error code (absent in a 500's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub error_details: String,
}
