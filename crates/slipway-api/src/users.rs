//! Users, roles and personal access tokens.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user may do: each role may do what the ones below it may.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Everything, users and pipelines included.
    Admin,
    /// Runs pipelines, cancels and re-runs runs, sets variables.
    Contributor,
    /// Reads.
    #[default]
    Reader,
}

/// A user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    /// Their id.
    pub id: i64,
    /// Their unique name.
    pub name: String,
    /// Their role.
    pub role: UserRole,
    /// When they were created.
    pub created_at: i64,
}

/// The body of `POST /users`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The user's name: 1 to 100 letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// Their role.
    pub role: UserRole,
}

/// A new user with their first personal access token, shown this once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// A personal access token for them; it is stored only hashed.
    pub token: String,
}

/// A personal access token (never its secret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessToken {
    /// Its id.
    pub id: i64,
    /// Its user's id.
    pub user: i64,
    /// Its name.
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    /// When it was created.
    pub created_at: i64,
    /// When it was last used.
    pub last_used_at: Option<i64>,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// The body of `POST /users/{name}/tokens` (optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name to tell the token apart; `token` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A new personal access token, shown this once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CreatedToken {
    /// The user's name.
    pub user: String,
    /// The token's name.
    pub name: String,
    /// The token's record (never its secret).
    pub record: AccessToken,
    /// The token; it is stored only hashed.
    pub token: String,
}
