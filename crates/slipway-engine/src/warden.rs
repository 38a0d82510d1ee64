//! The warden: every second, it takes back expired leases (the job fails with the reason "agent
//! lost", or goes back in the queue, as the pool's `onAgentLost` says), marks agents not heard
//! from as offline, fails queued jobs that no registered agent can ever take, and shows on the
//! others why they wait while the agents that can take them are offline or busy.

use std::collections::HashMap;
use std::sync::Arc;

use slipway_store::{AgentLostAction, AgentState, PoolSettings, Reclaim, ReclaimAction, StoreError};
use tokio::sync::watch;

use crate::orchestrator::Shared;
use crate::{LogFailure as _, agents};

/// Takes back expired leases, marks silent agents offline, explains jobs no agent can take.
pub(crate) async fn run(
    shared: Arc<Shared>,
    local_agents: Vec<slipway_store::AgentId>,
    mut stop: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let mut local_seen = tokio::time::Instant::now();
    // Agents that worked while this server was down renew their leases first.
    let mut next_reclaim = tokio::time::Instant::now() + config.heartbeat_interval.min(config.lease_duration / 2) * 2;
    let mut tick: u64 = 0;
    // An idle agent asks for work at least every long poll, a busy one renews its lease every
    // heartbeat: silent for longer than both and a few heartbeats more, it is offline.
    let silence = config.agent_silence.min(config.long_poll + config.heartbeat_interval * 3);
    loop {
        tokio::select! {
            () = tokio::time::sleep(config.warden_interval) => {}
            _ = stop.changed() => return,
        }
        tick += 1;
        if tokio::time::Instant::now() >= next_reclaim {
            next_reclaim = tokio::time::Instant::now();
            reclaim_expired(&shared).await.log_failure("taking back expired leases");
        }
        // The in-process agents are heard from as long as this server runs.
        if local_seen.elapsed() >= silence / 3 {
            local_seen = tokio::time::Instant::now();
            for agent in &local_agents {
                shared
                    .store
                    .agent_seen(*agent, AgentState::Idle)
                    .await
                    .log_failure("recording that an in-process agent is alive");
            }
        }
        shared.store.mark_silent_agents_offline(silence).await.log_failure("marking silent agents offline");
        if tick.is_multiple_of(2) {
            match agents::settle_waiting_jobs(&shared.store).await {
                Ok(true) => shared.wake.notify_one(),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "settling waiting jobs failed"),
            }
        }
    }
}

/// Takes back the leases that expired, as each pool's `onAgentLost` says.
async fn reclaim_expired(shared: &Shared) -> Result<(), StoreError> {
    let store = &shared.store;
    let pools: HashMap<String, PoolSettings> =
        store.list_pool_settings().await?.into_iter().map(|pool| (pool.name, pool.settings)).collect();
    let reclaimed = store
        .reclaim_leases(&Reclaim::Expired, |job| match agents::lost_action(job, &pools) {
            AgentLostAction::Fail => {
                ReclaimAction::Fail(agents::agent_lost_reason(job.lease_holder.as_deref().unwrap_or("an agent")))
            }
            AgentLostAction::Requeue => ReclaimAction::Requeue,
        })
        .await?;
    if reclaimed.is_empty() {
        return Ok(());
    }
    for lost in &reclaimed {
        let line = match &lost.action {
            ReclaimAction::Fail(reason) => slipway_events::LogKind::Error.line(reason),
            ReclaimAction::Requeue => slipway_events::LogKind::Warning.line(&format!(
                "{}: '{}' stopped renewing the job's lease; the job goes back in the queue",
                agents::AGENT_LOST,
                agents::holder_agent_name(&lost.holder)
            )),
        };
        store.append_log_lines(lost.job.id, &[line]).await.log_failure("noting a lost agent in its job's log");
    }
    shared.hub.work.notify_waiters();
    shared.wake.notify_one();
    Ok(())
}
