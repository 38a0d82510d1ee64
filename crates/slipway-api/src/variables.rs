//! A pipeline's variables and the variable groups (Azure's Library). Secret values are never
//! shown: they read as `null`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A variable as the API shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value; `null` for a secret.
    pub value: Option<String>,
    /// Whether it is secret: encrypted at rest, never shown, masked in logs.
    pub secret: bool,
}

/// A variable group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct VariableGroup {
    /// Its unique name (`- group: NAME` in YAML).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Its variables.
    pub variables: Vec<Variable>,
}

/// The body of `PUT .../variables/{var}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    /// The value.
    pub value: String,
    /// Whether it is secret.
    #[serde(default)]
    pub secret: bool,
}

/// The body of `POST /variable-groups`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// Its name: letters, digits, `.`, `_`, `-` and spaces.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}
