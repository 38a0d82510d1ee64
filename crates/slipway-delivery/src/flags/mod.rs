//! Feature flags, pure: an environment's flags as a flagd flag-definition document
//! ([`FlagDocument`], read with every mistake named by its JSON pointer) and a flag evaluated for
//! an evaluation context exactly as flagd evaluates it ([`FlagDocument::evaluate`]): JsonLogic
//! targeting (`datalogic-rs`) with flagd's custom operators `fractional`, `sem_ver`,
//! `starts_with` and `ends_with` ([`operators`]), the `$flagd.flagKey` and `$flagd.timestamp`
//! properties, flagd's reasons (`STATIC`, `TARGETING_MATCH`, `DEFAULT`, `DISABLED`, `ERROR`) and
//! error codes. The semantics are flagd's, read from its source (open-feature/flagd,
//! `core/pkg/evaluator/json.go`) and held to its testbed's evaluator suite (open-feature/
//! flagd-testbed, `evaluator/`), which runs here as fixtures ([`testbed`]).
//!
//! All of it is pure (but for the clock `$flagd.timestamp` reads in [`FlagDocument::evaluate`])
//! except [`FlagCache`], which reads and saves environments' documents in the store, each
//! revision read once, changes made over the revision they were read at.

mod document;
mod evaluate;
mod operators;
mod stored;
#[cfg(test)]
mod testbed;

use std::sync::LazyLock;

use datalogic_rs::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use document::{DocumentError, DocumentErrors, Flag, FlagDocument, FlagEdit};
pub use evaluate::{ErrorCode, EvaluationContext, Reason, Resolution};
pub use stored::{ChangeError, FlagCache, StoredFlags};

/// The one JsonLogic engine, with flagd's operators (a rule is compiled by and evaluated with
/// the same engine).
static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    Engine::builder()
        .add_operator("fractional", operators::Fractional)
        .add_operator("sem_ver", operators::SemVer)
        .add_operator("starts_with", operators::StartsWith)
        .add_operator("ends_with", operators::EndsWith)
        .build()
});

/// Whether a flag is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlagState {
    /// Evaluated.
    Enabled,
    /// Answered with reason `DISABLED` and no value: the application uses its own default.
    Disabled,
}

impl FlagState {
    /// As flagd writes it: `ENABLED`, `DISABLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
        }
    }

    /// Reads `enabled`/`ENABLED`, `disabled`/`DISABLED` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "ENABLED" => Some(Self::Enabled),
            "DISABLED" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// The type of a flag's variants (flagd's schema: all of one flag's are of one type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagType {
    /// `true`/`false`.
    Boolean,
    /// Text.
    String,
    /// A number (an application may read it as an integer or a float).
    Number,
    /// A JSON object.
    Object,
}

impl FlagType {
    /// The type of a variant's value, if it may be one.
    pub fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(_) => Some(Self::Boolean),
            Value::String(_) => Some(Self::String),
            Value::Number(_) => Some(Self::Number),
            Value::Object(_) => Some(Self::Object),
            Value::Null | Value::Array(_) => None,
        }
    }

    /// Its name: `boolean`, `string`, `number`, `object`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Object => "object",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Self::Boolean => "a boolean",
            Self::String => "a string",
            Self::Number => "a number",
            Self::Object => "an object",
        }
    }
}
