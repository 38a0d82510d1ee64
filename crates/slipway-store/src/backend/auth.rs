//! Users (local ones, and external ones keyed by their OpenID Connect issuer and subject), their
//! personal access tokens (stored hashed) and browser sessions (opened with a token, or of their
//! own for an OpenID Connect sign-in).

use std::time::Duration;

use super::common::{DbConnection, DbPools, read_row, require_name};
use crate::crypto::{constant_time_equal, new_secret, random_hex, secret_prefix, sha256_hex};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{AccessToken, AccessTokenId, ExternalIdentity, Issued, Session, Timestamp, User, UserId, UserRole};
use crate::store::Context;

/// Token use is recorded at most this often.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// How the secret of a personal access token starts.
const ACCESS_TOKEN_KIND: &str = "slw";

// ----- users -----

/// The columns of `users` read into a [`UserRow`], one per field.
macro_rules! user_columns {
    () => {
        "id, name, role, created_at, issuer, subject, disabled_at"
    };
}

/// A row of `user_columns!()`.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
    created_at: i64,
    issuer: Option<String>,
    subject: Option<String>,
    disabled_at: Option<i64>,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        let external = match (self.issuer, self.subject) {
            (Some(issuer), Some(subject)) => Some(ExternalIdentity { issuer, subject }),
            _ => None,
        };
        Ok(User {
            id: UserId(self.id),
            name: self.name,
            role: UserRole::parse(&self.role)?,
            created_at: Timestamp(self.created_at),
            external,
            disabled_at: self.disabled_at.map(Timestamp),
        })
    }
}

/// The longest user name (as `check_name` of the service layer allows).
const MAX_USER_NAME: usize = 100;

/// How many numbered names are tried for an external user before giving up.
const MAX_NAME_TRIES: u32 = 1_000;

/// A user name made of `wanted` (a provider's `preferred_username` or e-mail): letters, digits,
/// `.`, `_` and `-` kept, anything else made `-`, at most 90 characters (room for a number), or
/// `user` when nothing is left.
fn base_name(wanted: &str) -> String {
    let name: String = wanted
        .trim()
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() || "._-".contains(character) { character } else { '-' })
        .take(MAX_USER_NAME - 10)
        .collect();
    let name = name.trim_matches('-');
    if name.is_empty() { "user".to_owned() } else { name.to_owned() }
}

// ----- access tokens -----

/// The columns of `access_tokens` read into a [`TokenRow`], one per field.
macro_rules! token_columns {
    () => {
        "id, user_id, name, prefix, created_at, last_used_at, expires_at, revoked_at"
    };
}

/// A row of `token_columns!()`.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TokenRow {
    fn into_token(self) -> AccessToken {
        AccessToken {
            id: AccessTokenId(self.id),
            user: UserId(self.user_id),
            name: self.name,
            prefix: self.prefix,
            created_at: Timestamp(self.created_at),
            last_used_at: self.last_used_at.map(Timestamp),
            expires_at: self.expires_at.map(Timestamp),
            revoked_at: self.revoked_at.map(Timestamp),
        }
    }
}

/// A row of `token_columns!()` followed by the token's hash.
#[derive(sqlx::FromRow)]
struct HashedTokenRow {
    #[sqlx(flatten)]
    token: TokenRow,
    hash: String,
}

/// Implements [`crate::Store::create_user`].
pub(crate) async fn create_user(pools: &DbPools, context: &Context, name: &str, role: UserRole) -> Result<User> {
    require_name("user name", name)?;
    let row = sqlx::query(concat!(
        "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) RETURNING ",
        user_columns!()
    ))
    .bind(name)
    .bind(role.as_str())
    .bind(context.now().millis())
    .fetch_one(&pools.writer)
    .await
    .map_err(conflict_or("user", name))?;
    read_row::<UserRow>(&row)?.into_user()
}

/// Implements [`crate::Store::user`].
pub(crate) async fn user(pools: &DbPools, _context: &Context, user: UserId) -> Result<User> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
        .bind(user.0)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<UserRow>)
        .transpose()?;
    row.map(UserRow::into_user).transpose()?.ok_or_else(|| StoreError::not_found("user", user))
}

/// Implements [`crate::Store::user_by_name`].
pub(crate) async fn user_by_name(pools: &DbPools, _context: &Context, name: &str) -> Result<Option<User>> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE name = $1"))
        .bind(name)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<UserRow>)
        .transpose()?;
    row.map(UserRow::into_user).transpose()
}

/// Implements [`crate::Store::list_users`].
pub(crate) async fn list_users(pools: &DbPools, _context: &Context) -> Result<Vec<User>> {
    sqlx::query(concat!("SELECT ", user_columns!(), " FROM users ORDER BY name"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<UserRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

/// Implements [`crate::Store::set_user_role`].
pub(crate) async fn set_user_role(pools: &DbPools, _context: &Context, user: UserId, role: UserRole) -> Result<User> {
    let row = sqlx::query(concat!("UPDATE users SET role = $2 WHERE id = $1 RETURNING ", user_columns!()))
        .bind(user.0)
        .bind(role.as_str())
        .fetch_optional(&pools.writer)
        .await?
        .as_ref()
        .map(read_row::<UserRow>)
        .transpose()?;
    row.map(UserRow::into_user).transpose()?.ok_or_else(|| StoreError::not_found("user", user))
}

/// Implements [`crate::Store::delete_user`].
pub(crate) async fn delete_user(pools: &DbPools, _context: &Context, user: UserId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(user.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::external_user`].
pub(crate) async fn external_user(
    pools: &DbPools,
    _context: &Context,
    issuer: &str,
    subject: &str,
) -> Result<Option<User>> {
    let row = sqlx::query(concat!("SELECT ", user_columns!(), " FROM users WHERE issuer = $1 AND subject = $2"))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&pools.writer)
        .await?
        .as_ref()
        .map(read_row::<UserRow>)
        .transpose()?;
    row.map(UserRow::into_user).transpose()
}

/// Implements [`crate::Store::create_external_user`]: the first free name of `wanted`,
/// `wanted-2`, `wanted-3`...; when another sign-in of the same identity created the user
/// meanwhile, that user.
pub(crate) async fn create_external_user(
    pools: &DbPools,
    context: &Context,
    issuer: &str,
    subject: &str,
    wanted: &str,
    role: UserRole,
) -> Result<User> {
    if issuer.is_empty() || subject.is_empty() {
        return Err(StoreError::Invalid {
            what: "external user",
            reason: "its issuer and subject must be given".into(),
        });
    }
    let base = base_name(wanted);
    for attempt in 1..=MAX_NAME_TRIES {
        let name = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
        let inserted = sqlx::query(concat!(
            "INSERT INTO users (name, role, created_at, issuer, subject) VALUES ($1, $2, $3, $4, $5) RETURNING ",
            user_columns!()
        ))
        .bind(&name)
        .bind(role.as_str())
        .bind(context.now().millis())
        .bind(issuer)
        .bind(subject)
        .fetch_one(&pools.writer)
        .await
        .map_err(conflict_or("user", &name));
        match inserted {
            Ok(row) => return read_row::<UserRow>(&row)?.into_user(),
            Err(error) if error.is_conflict() => {
                if let Some(user) = external_user(pools, context, issuer, subject).await? {
                    return Ok(user);
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::Conflict { entity: "user", key: format!("{base} (and {MAX_NAME_TRIES} numbered names)") })
}

/// Implements [`crate::Store::set_user_disabled`]: disabling ends the user's sessions.
pub(crate) async fn set_user_disabled(
    pools: &DbPools,
    context: &Context,
    user: UserId,
    disabled: bool,
) -> Result<User> {
    let mut transaction = pools.writer.begin().await?;
    let row = sqlx::query(concat!(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, $3) ELSE NULL END WHERE id = $1 RETURNING ",
        user_columns!()
    ))
    .bind(user.0)
    .bind(disabled)
    .bind(context.now().millis())
    .fetch_optional(&mut *transaction)
    .await?
    .as_ref()
    .map(read_row::<UserRow>)
    .transpose()?;
    let changed = row.map(UserRow::into_user).transpose()?.ok_or_else(|| StoreError::not_found("user", user))?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(&mut *transaction).await?;
    }
    transaction.commit().await?;
    Ok(changed)
}

/// Implements [`crate::Store::end_user_sessions`].
pub(crate) async fn end_user_sessions(pools: &DbPools, _context: &Context, user: UserId) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected())
}

/// Implements [`crate::Store::create_access_token`].
pub(crate) async fn create_access_token(
    pools: &DbPools,
    context: &Context,
    user: UserId,
    name: &str,
    expires_at: Option<Timestamp>,
) -> Result<Issued<AccessToken>> {
    let (secret, prefix) = new_secret(ACCESS_TOKEN_KIND)?;
    let mut transaction = pools.writer.begin().await?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user.0).fetch_optional(&mut *transaction).await?;
    owner.ok_or_else(|| StoreError::not_found("user", user))?;
    let row = sqlx::query(concat!(
        "INSERT INTO access_tokens (user_id, name, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        token_columns!()
    ))
    .bind(user.0)
    .bind(name)
    .bind(&prefix)
    .bind(sha256_hex(&secret))
    .bind(context.now().millis())
    .bind(expires_at.map(Timestamp::millis))
    .fetch_one(&mut *transaction)
        .await
        .map_err(StoreError::from)
        .and_then(|row| read_row::<TokenRow>(&row))?;
    transaction.commit().await?;
    let token = row.into_token();
    Ok(Issued { item: token, secret })
}

/// Implements [`crate::Store::list_access_tokens`].
pub(crate) async fn list_access_tokens(pools: &DbPools, _context: &Context, user: UserId) -> Result<Vec<AccessToken>> {
    let rows = sqlx::query(concat!("SELECT ", token_columns!(), " FROM access_tokens WHERE user_id = $1 ORDER BY id"))
        .bind(user.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<TokenRow>)
        .collect::<Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(TokenRow::into_token).collect())
}

/// Implements [`crate::Store::revoke_access_token`].
pub(crate) async fn revoke_access_token(pools: &DbPools, context: &Context, token: AccessTokenId) -> Result<bool> {
    let mut transaction = pools.writer.begin().await?;
    let changed = sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(token.0)
        .bind(context.now().millis())
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE access_token_id = $1").bind(token.0).execute(&mut *transaction).await?;
    transaction.commit().await?;
    Ok(changed.rows_affected() > 0)
}

/// Implements [`crate::Store::authenticate_token`].
pub(crate) async fn authenticate_token(
    pools: &DbPools,
    context: &Context,
    secret: &str,
) -> Result<Option<(User, AccessToken)>> {
    let Some(prefix) = secret_prefix(ACCESS_TOKEN_KIND, secret) else {
        return Ok(None);
    };
    let row = sqlx::query(concat!("SELECT ", token_columns!(), ", hash FROM access_tokens WHERE prefix = $1"))
        .bind(prefix)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<HashedTokenRow>)
        .transpose()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut token = row.token.into_token();
    let now = context.now();
    let valid = constant_time_equal(&row.hash, &sha256_hex(secret))
        && token.revoked_at.is_none()
        && token.expires_at.is_none_or(|expiry| expiry > now);
    if !valid {
        return Ok(None);
    }
    if token.last_used_at.is_none_or(|used| now.millis() - used.millis() >= LAST_USED_RESOLUTION_MS) {
        sqlx::query("UPDATE access_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token.id.0)
            .bind(now.millis())
            .execute(&pools.writer)
            .await?;
        token.last_used_at = Some(now);
    }
    let owner = user(pools, context, token.user).await?;
    if owner.disabled_at.is_some() {
        return Ok(None);
    }
    Ok(Some((owner, token)))
}

// ----- sessions -----

/// A row of a session joined with its user.
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    session_created_at: i64,
    expires_at: i64,
    access_token_id: Option<i64>,
}

/// Implements [`crate::Store::create_session`].
pub(crate) async fn create_session(
    pools: &DbPools,
    context: &Context,
    token: AccessTokenId,
    duration: Duration,
) -> Result<Issued<Session>> {
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let (user, token_expiry, revoked): (i64, Option<i64>, Option<i64>) =
        sqlx::query("SELECT user_id, expires_at, revoked_at FROM access_tokens WHERE id = $1")
            .bind(token.0)
            .fetch_optional(&mut *transaction)
            .await?
            .as_ref()
            .map(read_row)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("access token", token))?;
    let user = UserId(user);
    if revoked.is_some() || token_expiry.is_some_and(|expiry| expiry <= now.millis()) {
        return Err(StoreError::Invalid { what: "access token", reason: "it is revoked or expired".into() });
    }
    let mut expires_at = now.plus(duration);
    if let Some(expiry) = token_expiry {
        expires_at = Timestamp(expires_at.millis().min(expiry));
    }
    let session = Session { user, token: Some(token), created_at: now, expires_at };
    let secret = insert_session(&mut transaction, &session).await?;
    transaction.commit().await?;
    Ok(Issued { item: session, secret })
}

/// Opens `session` for its user, who must exist and not be disabled; gives its secret.
async fn insert_session(connection: &mut DbConnection, session: &Session) -> Result<String> {
    let found: Option<Option<i64>> = sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = $1")
        .bind(session.user.0)
        .fetch_optional(&mut *connection)
        .await?;
    match found {
        None => return Err(StoreError::not_found("user", session.user)),
        Some(Some(_)) => return Err(StoreError::Invalid { what: "user", reason: "it is disabled".into() }),
        Some(None) => {}
    }
    let secret = random_hex(32)?;
    sqlx::query(
        "INSERT INTO sessions (hash, user_id, access_token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&secret))
    .bind(session.user.0)
    .bind(session.token.map(|token| token.0))
    .bind(session.created_at.millis())
    .bind(session.expires_at.millis())
    .execute(&mut *connection)
    .await?;
    Ok(secret)
}

/// Implements [`crate::Store::create_user_session`].
pub(crate) async fn create_user_session(
    pools: &DbPools,
    context: &Context,
    user: UserId,
    duration: Duration,
) -> Result<Issued<Session>> {
    let now = context.now();
    let session = Session { user, token: None, created_at: now, expires_at: now.plus(duration) };
    let mut transaction = pools.writer.begin().await?;
    let secret = insert_session(&mut transaction, &session).await?;
    transaction.commit().await?;
    Ok(Issued { item: session, secret })
}

/// Implements [`crate::Store::session`]: the session's token, when it has one, must still be
/// valid, whatever the session's own expiry says, and its user must not be disabled.
pub(crate) async fn session(pools: &DbPools, context: &Context, secret: &str) -> Result<Option<(User, Session)>> {
    let now = context.now().millis();
    let row = sqlx::query(
        "SELECT users.id, users.name, users.role, users.created_at, users.issuer, users.subject, users.disabled_at, \
         sessions.created_at AS session_created_at, sessions.expires_at, sessions.access_token_id FROM sessions \
         JOIN users ON users.id = sessions.user_id \
         LEFT JOIN access_tokens ON access_tokens.id = sessions.access_token_id \
         WHERE sessions.hash = $1 AND sessions.expires_at > $2 AND users.disabled_at IS NULL \
         AND (sessions.access_token_id IS NULL OR (access_tokens.id IS NOT NULL AND access_tokens.revoked_at IS NULL \
         AND (access_tokens.expires_at IS NULL OR access_tokens.expires_at > $2)))",
    )
    .bind(sha256_hex(secret))
    .bind(now)
    .fetch_optional(&pools.reader)
    .await?
    .as_ref()
    .map(read_row::<SessionRow>)
    .transpose()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner = row.user.into_user()?;
    let session = Session {
        user: owner.id,
        token: row.access_token_id.map(AccessTokenId),
        created_at: Timestamp(row.session_created_at),
        expires_at: Timestamp(row.expires_at),
    };
    Ok(Some((owner, session)))
}

/// Implements [`crate::Store::delete_session`].
pub(crate) async fn delete_session(pools: &DbPools, _context: &Context, secret: &str) -> Result<bool> {
    let deleted =
        sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(sha256_hex(secret)).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::delete_expired_sessions`].
pub(crate) async fn delete_expired_sessions(pools: &DbPools, context: &Context) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(context.now().millis())
        .execute(&pools.writer)
        .await?;
    Ok(deleted.rows_affected())
}
