//! Remote agents: one-time registration tokens, registering with one, agents' credentials (stored
//! hashed), their state and capabilities.

use std::collections::BTreeMap;
use std::time::Duration;

use super::common::{DbPools, from_json, read_row, require_name, to_json};
use crate::crypto::{constant_time_equal, new_secret, secret_prefix, sha256_hex};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{Agent, AgentId, AgentState, Issued, NewAgent, RegistrationToken, RegistrationTokenId, Timestamp};
use crate::store::Context;

/// How the secret of a registration token starts.
const REGISTRATION_TOKEN_KIND: &str = "slwreg";

/// How an agent's credential starts.
const AGENT_CREDENTIAL_KIND: &str = "slwagent";

// ----- registration tokens -----

/// The columns of `registration_tokens` read into a [`RegistrationRow`], one per field.
macro_rules! registration_columns {
    () => {
        "id, prefix, created_by, created_at, expires_at, used_at, agent_id"
    };
}

/// A row of `registration_columns!()`.
#[derive(sqlx::FromRow)]
struct RegistrationRow {
    id: i64,
    prefix: String,
    created_by: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    used_at: Option<i64>,
    agent_id: Option<i64>,
}

impl RegistrationRow {
    fn into_registration(self) -> RegistrationToken {
        RegistrationToken {
            id: RegistrationTokenId(self.id),
            prefix: self.prefix,
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
            expires_at: self.expires_at.map(Timestamp),
            used_at: self.used_at.map(Timestamp),
            agent: self.agent_id.map(AgentId),
        }
    }
}

/// A row of `registration_columns!()` followed by the token's hash.
#[derive(sqlx::FromRow)]
struct HashedRegistrationRow {
    #[sqlx(flatten)]
    token: RegistrationRow,
    hash: String,
}

// ----- agents -----

/// The columns of `agents` read into an [`AgentRow`], one per field.
macro_rules! agent_columns {
    () => {
        "id, name, pool, capabilities, version, state, created_at, last_seen_at"
    };
}

/// A row of `agent_columns!()`.
#[derive(sqlx::FromRow)]
struct AgentRow {
    id: i64,
    name: String,
    pool: String,
    capabilities: String,
    version: String,
    state: String,
    created_at: i64,
    last_seen_at: Option<i64>,
}

impl AgentRow {
    fn into_agent(self) -> Result<Agent> {
        Ok(Agent {
            id: AgentId(self.id),
            name: self.name,
            pool: self.pool,
            capabilities: from_json("capabilities", &self.capabilities)?,
            version: self.version,
            state: AgentState::parse(&self.state)?,
            created_at: Timestamp(self.created_at),
            last_seen_at: self.last_seen_at.map(Timestamp),
        })
    }
}

/// A row of `agent_columns!()` followed by the agent's credential hash.
#[derive(sqlx::FromRow)]
struct CredentialRow {
    #[sqlx(flatten)]
    agent: AgentRow,
    credential_hash: String,
}

/// Implements [`crate::Store::create_registration_token`].
pub(crate) async fn create_registration_token(
    pools: &DbPools,
    context: &Context,
    created_by: Option<&str>,
    expires_at: Option<Timestamp>,
) -> Result<Issued<RegistrationToken>> {
    let (secret, prefix) = new_secret(REGISTRATION_TOKEN_KIND)?;
    let row = sqlx::query(concat!(
        "INSERT INTO registration_tokens (prefix, hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
        registration_columns!()
    ))
    .bind(&prefix)
    .bind(sha256_hex(&secret))
    .bind(created_by)
    .bind(context.now().millis())
    .bind(expires_at.map(Timestamp::millis))
    .fetch_one(&pools.writer)
        .await
        .map_err(StoreError::from)
        .and_then(|row| read_row::<RegistrationRow>(&row))?;
    Ok(Issued { item: row.into_registration(), secret })
}

/// Implements [`crate::Store::list_registration_tokens`].
pub(crate) async fn list_registration_tokens(pools: &DbPools, _context: &Context) -> Result<Vec<RegistrationToken>> {
    let rows = sqlx::query(concat!("SELECT ", registration_columns!(), " FROM registration_tokens ORDER BY id DESC"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<RegistrationRow>)
        .collect::<Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(RegistrationRow::into_registration).collect())
}

/// Implements [`crate::Store::register_agent`].
pub(crate) async fn register_agent(
    pools: &DbPools,
    context: &Context,
    registration_secret: &str,
    agent: &NewAgent,
) -> Result<Option<Issued<Agent>>> {
    require_name("agent name", &agent.name)?;
    require_name("pool", &agent.pool)?;
    let Some(prefix) = secret_prefix(REGISTRATION_TOKEN_KIND, registration_secret) else {
        return Ok(None);
    };
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let row =
        sqlx::query(concat!("SELECT ", registration_columns!(), ", hash FROM registration_tokens WHERE prefix = $1"))
            .bind(prefix)
            .fetch_optional(&mut *transaction)
            .await?
            .as_ref()
            .map(read_row::<HashedRegistrationRow>)
            .transpose()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let token = row.token.into_registration();
    let usable = constant_time_equal(&row.hash, &sha256_hex(registration_secret))
        && token.used_at.is_none()
        && token.expires_at.is_none_or(|expiry| expiry > now);
    if !usable {
        return Ok(None);
    }
    let (credential, credential_prefix) = new_secret(AGENT_CREDENTIAL_KIND)?;
    let row = sqlx::query(concat!(
        "INSERT INTO agents (name, pool, capabilities, version, credential_prefix, credential_hash, state, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'offline', $7, $7) RETURNING ",
        agent_columns!()
    ))
    .bind(&agent.name)
    .bind(&agent.pool)
    .bind(to_json("capabilities", &agent.capabilities)?)
    .bind(&agent.version)
    .bind(&credential_prefix)
    .bind(sha256_hex(&credential))
    .bind(now.millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("agent", &agent.name))?;
    let created = read_row::<AgentRow>(&row)?.into_agent()?;
    let used =
        sqlx::query("UPDATE registration_tokens SET used_at = $2, agent_id = $3 WHERE id = $1 AND used_at IS NULL")
            .bind(token.id.0)
            .bind(now.millis())
            .bind(created.id.0)
            .execute(&mut *transaction)
            .await?;
    if used.rows_affected() != 1 {
        return Ok(None);
    }
    transaction.commit().await?;
    Ok(Some(Issued { item: created, secret: credential }))
}

/// Implements [`crate::Store::authenticate_agent`].
pub(crate) async fn authenticate_agent(pools: &DbPools, _context: &Context, secret: &str) -> Result<Option<Agent>> {
    let Some(prefix) = secret_prefix(AGENT_CREDENTIAL_KIND, secret) else {
        return Ok(None);
    };
    let row =
        sqlx::query(concat!("SELECT ", agent_columns!(), ", credential_hash FROM agents WHERE credential_prefix = $1"))
            .bind(prefix)
            .fetch_optional(&pools.reader)
            .await?
            .as_ref()
            .map(read_row::<CredentialRow>)
            .transpose()?;
    let Some(row) = row else {
        return Ok(None);
    };
    if !constant_time_equal(&row.credential_hash, &sha256_hex(secret)) {
        return Ok(None);
    }
    row.agent.into_agent().map(Some)
}

/// Implements [`crate::Store::agent_seen`].
pub(crate) async fn agent_seen(pools: &DbPools, context: &Context, agent: AgentId, state: AgentState) -> Result<Agent> {
    let row = sqlx::query(concat!(
        "UPDATE agents SET state = $2, last_seen_at = $3 WHERE id = $1 RETURNING ",
        agent_columns!()
    ))
    .bind(agent.0)
    .bind(state.as_str())
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await?
    .as_ref()
    .map(read_row::<AgentRow>)
    .transpose()?;
    row.map(AgentRow::into_agent).transpose()?.ok_or_else(|| StoreError::not_found("agent", agent))
}

/// Implements [`crate::Store::update_agent`].
pub(crate) async fn update_agent(
    pools: &DbPools,
    context: &Context,
    agent: AgentId,
    capabilities: &BTreeMap<String, String>,
    version: &str,
) -> Result<Agent> {
    let row = sqlx::query(concat!(
        "UPDATE agents SET capabilities = $2, version = $3, last_seen_at = $4 WHERE id = $1 RETURNING ",
        agent_columns!()
    ))
    .bind(agent.0)
    .bind(to_json("capabilities", capabilities)?)
    .bind(version)
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await?
    .as_ref()
    .map(read_row::<AgentRow>)
    .transpose()?;
    row.map(AgentRow::into_agent).transpose()?.ok_or_else(|| StoreError::not_found("agent", agent))
}

/// Implements [`crate::Store::mark_silent_agents_offline`].
pub(crate) async fn mark_silent_agents_offline(
    pools: &DbPools,
    context: &Context,
    silence: Duration,
) -> Result<Vec<Agent>> {
    let cutoff = context.now().minus(silence);
    sqlx::query(concat!(
        "UPDATE agents SET state = 'offline' WHERE state <> 'offline' AND (last_seen_at IS NULL OR last_seen_at < $1) RETURNING ",
        agent_columns!()
    ))
    .bind(cutoff.millis())
    .fetch_all(&pools.writer)
        .await?
        .iter()
        .map(read_row::<AgentRow>)
        .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(AgentRow::into_agent)
    .collect()
}

/// Implements [`crate::Store::list_agents`].
pub(crate) async fn list_agents(pools: &DbPools, _context: &Context) -> Result<Vec<Agent>> {
    sqlx::query(concat!("SELECT ", agent_columns!(), " FROM agents ORDER BY name"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<AgentRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(AgentRow::into_agent)
        .collect()
}

/// Implements [`crate::Store::delete_agent`].
pub(crate) async fn delete_agent(pools: &DbPools, _context: &Context, agent: AgentId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM agents WHERE id = $1").bind(agent.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}
