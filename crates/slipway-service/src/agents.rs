//! Agents as admins and the web UI see them: the list with each agent's shown state and current
//! job, and one-time registration tokens.

use std::collections::HashMap;
use std::time::Duration;

use slipway_api::{Agent, CreateRegistrationToken, CreatedRegistrationToken, CurrentJob};
use slipway_engine::agents;
use slipway_store::{Job, UserRole};

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, wire};

/// Creates a registration token for an admin `caller` (the API's and the web UI's).
///
/// # Errors
/// When the caller is no admin, the expiry is out of range or the store fails.
pub async fn issue_registration_token(
    state: &AppState,
    caller: &Caller,
    body: &CreateRegistrationToken,
) -> Result<CreatedRegistrationToken, ServiceError> {
    caller.require(UserRole::Admin)?;
    let expires_at = match body.expires_in_hours {
        None => None,
        Some(hours) if (1..=8760).contains(&hours) => {
            Some(state.store().now().plus(Duration::from_secs(u64::from(hours) * 3600)))
        }
        Some(_) => return Err(ServiceError::bad_request("expiresInHours must be between 1 and 8760")),
    };
    let issued = state.store().create_registration_token(Some(&caller.user.name), expires_at).await?;
    Ok(CreatedRegistrationToken { record: wire::registration_token(&issued.item), token: issued.secret })
}

/// Every agent with its state and current job, for a reader `caller` (the API's and the web UI's).
///
/// # Errors
/// When the caller may not read or the store fails.
pub async fn listed_agents(state: &AppState, caller: &Caller) -> Result<Vec<Agent>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    let running: HashMap<String, Job> = store
        .running_jobs()
        .await?
        .into_iter()
        .filter_map(|job| job.lease_holder.clone().map(|holder| (holder, job)))
        .collect();
    let agents: Vec<Agent> = store
        .list_agents()
        .await?
        .into_iter()
        .map(|agent| {
            let holder = agents::LeaseHolder::of_agent(&agent.name);
            let current = running.get(&holder.to_string());
            Agent {
                id: agent.id.get(),
                state: wire::agent_state(agents::shown_state(&agent, current)),
                in_process: holder.is_local(),
                current_job: current.map(|job| CurrentJob {
                    id: job.id.get(),
                    run: job.run.get(),
                    key: job.key.clone(),
                    lease_expires_at: job.lease_expires_at.map(slipway_store::Timestamp::millis),
                }),
                name: agent.name,
                pool: agent.pool,
                version: agent.version,
                capabilities: agent.capabilities,
                created_at: agent.created_at.millis(),
                last_seen_at: agent.last_seen_at.map(slipway_store::Timestamp::millis),
            }
        })
        .collect();
    Ok(agents)
}

/// A pool's name as the store keeps it, checked: letters, digits, ' ', '.', '_' and '-'.
///
/// # Errors
/// When it is not a pool name.
pub fn checked_pool_name(pool: &str) -> Result<String, ServiceError> {
    let normalized = agents::normalize_pool(pool);
    let valid = !normalized.is_empty()
        && normalized.len() <= 100
        && normalized.chars().all(|character| character.is_ascii_alphanumeric() || "._- ".contains(character));
    if valid {
        Ok(normalized)
    } else {
        Err(ServiceError::bad_request(format!(
            "'{pool}' is not a pool name: use letters, digits, ' ', '.', '_' and '-'"
        )))
    }
}

/// Every pool with its settings and how many agents serve it, for a reader `caller` (the API's
/// and the web UI's): pools with settings, and pools agents serve.
///
/// # Errors
/// When the caller may not read or the store fails.
pub async fn pools(state: &AppState, caller: &Caller) -> Result<Vec<slipway_api::Pool>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    let mut pools: std::collections::BTreeMap<String, slipway_api::Pool> = store
        .list_pool_settings()
        .await?
        .into_iter()
        .map(|pool| {
            let settings = wire::pool_settings(&pool.settings);
            (pool.name.clone(), slipway_api::Pool { name: pool.name, settings, agents: 0 })
        })
        .collect();
    for agent in store.list_agents().await? {
        pools
            .entry(agent.pool.clone())
            .or_insert_with(|| slipway_api::Pool {
                name: agent.pool.clone(),
                settings: slipway_api::PoolSettings::default(),
                agents: 0,
            })
            .agents += 1;
    }
    Ok(pools.into_values().collect())
}

/// Sets a pool's settings for an admin `caller`: what becomes of a job whose agent is lost, and
/// the demands each `vmImage` stands for (each checked as Azure reads demands); audited.
///
/// # Errors
/// When the caller is no admin, the name or a demand is not valid, or the store fails.
pub async fn set_pool(
    state: &AppState,
    caller: &Caller,
    name: &str,
    settings: &slipway_api::PoolSettings,
) -> Result<slipway_api::Pool, ServiceError> {
    caller.require(UserRole::Admin)?;
    let name = checked_pool_name(name)?;
    for (image, demands) in &settings.vm_images {
        for demand in demands {
            slipway_store::Demand::parse(demand)
                .map_err(|error| ServiceError::bad_request(format!("vmImages '{image}': {error}")))?;
        }
    }
    let store = state.store();
    let record = store.set_pool_settings(&name, &wire::stored_pool_settings(settings)).await?;
    let details = serde_json::to_value(settings).unwrap_or_default();
    crate::audit::record(state, caller, "pool.set", record.name.clone(), details).await;
    let agents = store.list_agents().await?.iter().filter(|agent| agent.pool == record.name).count();
    Ok(slipway_api::Pool { name: record.name, settings: wire::pool_settings(&record.settings), agents })
}
