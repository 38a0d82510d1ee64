//! Agents as admins and the web UI see them: the list with each agent's shown state and current
//! job, and one-time registration tokens.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_engine::agents;
use slipway_store::{AgentId, AgentState, Job, JobId, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The body of `POST /registration-tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRegistrationToken {
    /// Hours until the token stops working (1 to 8760); it never does when absent.
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

/// A new registration token, shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRegistrationToken {
    /// Its record.
    #[serde(flatten)]
    pub record: slipway_store::RegistrationToken,
    /// The token: `slipway agent --token TOKEN`.
    pub token: String,
}

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
    Ok(CreatedRegistrationToken { record: issued.item, token: issued.secret })
}

/// The job an agent runs, as the agents list shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentJob {
    /// The job's id.
    pub id: JobId,
    /// Its run.
    pub run: slipway_store::RunId,
    /// `STAGE.JOB`.
    pub key: String,
    /// When its lease runs out unless renewed.
    pub lease_expires_at: Option<Timestamp>,
}

/// An agent as listed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedAgent {
    /// Its id.
    pub id: AgentId,
    /// Its name.
    pub name: String,
    /// Its pool.
    pub pool: String,
    /// Its Slipway version.
    pub version: String,
    /// `idle`, `busy`, `draining` or `offline`.
    pub state: AgentState,
    /// Whether it runs inside the server.
    pub in_process: bool,
    /// The job it runs.
    pub current_job: Option<CurrentJob>,
    /// Its capabilities.
    pub capabilities: BTreeMap<String, String>,
    /// When it registered.
    pub created_at: Timestamp,
    /// When it was last heard from.
    pub last_seen_at: Option<Timestamp>,
}

/// Every agent with its state and current job, for a reader `caller` (the API's and the web UI's).
///
/// # Errors
/// When the caller may not read or the store fails.
pub async fn listed_agents(state: &AppState, caller: &Caller) -> Result<Vec<ListedAgent>, ServiceError> {
    caller.require(UserRole::Reader)?;
    let store = state.store();
    let running: HashMap<String, Job> = store
        .running_jobs()
        .await?
        .into_iter()
        .filter_map(|job| job.lease_holder.clone().map(|holder| (holder, job)))
        .collect();
    let agents: Vec<ListedAgent> = store
        .list_agents()
        .await?
        .into_iter()
        .map(|agent| {
            let current = running.get(&agents::holder_of(&agent.name));
            ListedAgent {
                id: agent.id,
                state: agents::shown_state(&agent, current),
                in_process: agents::holder_of(&agent.name).starts_with(agents::LOCAL_HOLDER_PREFIX),
                current_job: current.map(|job| CurrentJob {
                    id: job.id,
                    run: job.run,
                    key: job.key.clone(),
                    lease_expires_at: job.lease_expires_at,
                }),
                name: agent.name,
                pool: agent.pool,
                version: agent.version,
                capabilities: agent.capabilities,
                created_at: agent.created_at,
                last_seen_at: agent.last_seen_at,
            }
        })
        .collect();
    Ok(agents)
}
