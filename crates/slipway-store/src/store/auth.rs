//! [`Store`]'s users, their personal access tokens and browser sessions.

use std::time::Duration;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{AccessToken, AccessTokenId, Issued, Session, Timestamp, User, UserId, UserRole};

impl Store {
    // ----- users -----

    /// Creates a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_user(&self, name: &str, role: UserRole) -> Result<User> {
        dispatch!(self, auth::create_user(name, role))
    }

    /// A user by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn user(&self, user: UserId) -> Result<User> {
        dispatch!(self, auth::user(user))
    }

    /// A user by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self, auth::user_by_name(name))
    }

    /// Every user, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        dispatch!(self, auth::list_users())
    }

    /// Changes a user's role.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn set_user_role(&self, user: UserId, role: UserRole) -> Result<User> {
        dispatch!(self, auth::set_user_role(user, role))
    }

    /// Deletes a user with their tokens and sessions; whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_user(&self, user: UserId) -> Result<bool> {
        dispatch!(self, auth::delete_user(user))
    }

    /// The user of an identity at an OpenID Connect provider (its issuer and subject), if one
    /// signed in before.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn external_user(&self, issuer: &str, subject: &str) -> Result<Option<User>> {
        dispatch!(self, auth::external_user(issuer, subject))
    }

    /// Creates the user of an identity at an OpenID Connect provider, named after `wanted` (the
    /// provider's user name: characters other than letters, digits, `.`, `_` and `-` become `-`)
    /// made unique with `-2`, `-3`...: a provider account named like a local user (`admin`)
    /// never becomes that user. When the identity has a user already (a sign-in at the same
    /// time), that user.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty issuer or subject.
    pub async fn create_external_user(
        &self,
        issuer: &str,
        subject: &str,
        wanted: &str,
        role: UserRole,
    ) -> Result<User> {
        dispatch!(self, auth::create_external_user(issuer, subject, wanted, role))
    }

    /// Disables a user (its tokens and sessions stop working, its sessions are ended) or enables
    /// it again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn set_user_disabled(&self, user: UserId, disabled: bool) -> Result<User> {
        dispatch!(self, auth::set_user_disabled(user, disabled))
    }

    /// Ends every session of a user (its tokens stay); how many.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn end_user_sessions(&self, user: UserId) -> Result<u64> {
        dispatch!(self, auth::end_user_sessions(user))
    }

    // ----- access tokens -----

    /// Creates a personal access token; its secret is returned this once and stored only hashed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn create_access_token(
        &self,
        user: UserId,
        name: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<Issued<AccessToken>> {
        dispatch!(self, auth::create_access_token(user, name, expires_at))
    }

    /// A user's tokens (never their secrets).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_access_tokens(&self, user: UserId) -> Result<Vec<AccessToken>> {
        dispatch!(self, auth::list_access_tokens(user))
    }

    /// Revokes a token, ending the browser sessions opened with it; whether it was active.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn revoke_access_token(&self, token: AccessTokenId) -> Result<bool> {
        dispatch!(self, auth::revoke_access_token(token))
    }

    /// The user and token a token secret belongs to, if it is valid (known, not revoked, not
    /// expired) and its user is not disabled; records its use.
    ///
    /// # Errors
    /// When the database cannot be used.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<(User, AccessToken)>> {
        dispatch!(self, auth::authenticate_token(secret))
    }

    // ----- sessions -----

    /// Starts a browser session of the user who signed in with `token`, lasting `duration` but
    /// never longer than the token: it ends when the token is revoked or expires. Its id is
    /// returned this once and stored hashed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown token; [`StoreError::Invalid`] for one that is
    /// revoked or expired.
    pub async fn create_session(&self, token: AccessTokenId, duration: Duration) -> Result<Issued<Session>> {
        dispatch!(self, auth::create_session(token, duration))
    }

    /// Starts a browser session of its own for `user` (signed in with OpenID Connect), lasting
    /// `duration`; it ends then, at sign-out, or when the user is disabled or deleted. Its id is
    /// returned this once and stored hashed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user; [`StoreError::Invalid`] for a disabled one.
    pub async fn create_user_session(&self, user: UserId, duration: Duration) -> Result<Issued<Session>> {
        dispatch!(self, auth::create_user_session(user, duration))
    }

    /// The user and session a session id belongs to, if it has not expired, its token (when it
    /// was opened with one) is still valid and its user is not disabled.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn session(&self, secret: &str) -> Result<Option<(User, Session)>> {
        dispatch!(self, auth::session(secret))
    }

    /// Ends a session (sign-out); whether there was one.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_session(&self, secret: &str) -> Result<bool> {
        dispatch!(self, auth::delete_session(secret))
    }

    /// Deletes expired sessions; how many.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        dispatch!(self, auth::delete_expired_sessions())
    }
}
