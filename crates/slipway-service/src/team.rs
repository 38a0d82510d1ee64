//! The team dashboard's figures (readers): pipeline health (pass rates, durations and their daily
//! series), flaky tests (a test that failed and passed on the same commit), queue times per pool,
//! agent use, and DORA's five metrics of every environment. The store aggregates each over the
//! window ([`store::Store::team_run_health`] and its neighbours); this module fills in the days
//! without runs, names agents and works out rates and shares; DORA's figures are
//! [`crate::insights::dora_metrics`]'s. See docs/team-dashboard.md.

use std::collections::{BTreeMap, BTreeSet};

use slipway_api::team as wire;
use slipway_engine::agents::holder_agent_name;
use slipway_insights::dora::series::format_date;
use slipway_store::{self as store, TeamWindow, Timestamp, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// The window when none is asked for, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest window, in days.
pub const MAX_DAYS: u32 = 90;
/// The most flaky tests answered.
pub const FLAKY_LIMIT: usize = 100;
const DAY: i64 = 24 * 3600 * 1000;

/// The team dashboard over the last `days` days (default 30, from 1 to 90) up to now, of one
/// pipeline's runs or all (reader).
///
/// # Errors
/// When the caller may not read, the window is out of range, there is no such pipeline, or the
/// store fails.
pub async fn dashboard(
    state: &AppState,
    caller: &Caller,
    query: &wire::TeamQuery,
) -> Result<wire::TeamDashboard, ServiceError> {
    caller.require(UserRole::Reader)?;
    let days = query.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ServiceError::bad_request(format!(
            "'days' is {days}; it must be between 1 and {MAX_DAYS} (the team dashboard's longest window)"
        )));
    }
    let pipeline = query.pipeline.clone().filter(|name| !name.is_empty());
    if let Some(name) = &pipeline
        && state.store().pipeline_by_name(name).await?.is_none()
    {
        return Err(ServiceError::NotFound(format!(
            "there is no pipeline named '{name}'; `slipway pipelines list` shows them"
        )));
    }
    let store = state.store();
    let end = store.now().millis().saturating_add(1);
    let start = end.saturating_sub(i64::from(days) * DAY);
    let window = TeamWindow { start: Timestamp(start), end: Timestamp(end), pipeline: pipeline.clone() };
    let calendar = Calendar::new(start, end);

    let health = store.team_run_health(&window, false).await?;
    let health_days = store.team_run_health(&window, true).await?;
    let queues = store.team_queue_times(&window, false).await?;
    let queue_days = store.team_queue_times(&window, true).await?;
    let busy = store.team_agent_use(&window).await?;
    let agents = store.list_agents().await?;
    let flaky = store.team_flaky_tests(&window, FLAKY_LIMIT).await?;

    let mut dora = Vec::new();
    for environment in store.list_environments().await? {
        dora.push(crate::insights::dora_metrics(state, caller, &environment.name, Some(days)).await?);
    }
    let (agents, pools) = agent_use(&busy, &agents, end - start);
    Ok(wire::TeamDashboard {
        days,
        start,
        end,
        pipeline,
        pipelines: health.iter().map(|row| pipeline_health(row, &health_days, &calendar)).collect(),
        flaky_tests: flaky.into_iter().map(flaky_test).collect(),
        queues: queues.iter().map(|row| queue(row, &queue_days, &calendar)).collect(),
        agents,
        pools,
        dora,
    })
}

/// The days of a window, the oldest first.
struct Calendar {
    first: i64,
    last: i64,
}

impl Calendar {
    fn new(start: i64, end: i64) -> Self {
        Self { first: start.div_euclid(DAY), last: (end - 1).div_euclid(DAY) }
    }

    fn days(&self) -> impl Iterator<Item = i64> {
        self.first..=self.last
    }
}

/// Succeeded over succeeded and failed.
#[expect(clippy::cast_precision_loss, reason = "counts of runs are far below 2^52")]
fn pass_rate(succeeded: i64, failed: i64) -> Option<f64> {
    let decided = succeeded + failed;
    (decided > 0).then(|| succeeded as f64 / decided as f64)
}

fn pipeline_health(row: &store::RunHealth, days: &[store::RunHealth], calendar: &Calendar) -> wire::TeamPipeline {
    let by_day: BTreeMap<i64, &store::RunHealth> = days
        .iter()
        .filter(|day| day.pipeline == row.pipeline)
        .filter_map(|day| day.day.map(|number| (number, day)))
        .collect();
    wire::TeamPipeline {
        pipeline: row.pipeline.clone(),
        runs: row.runs,
        succeeded: row.succeeded,
        failed: row.failed,
        canceled: row.canceled,
        pass_rate: pass_rate(row.succeeded, row.failed),
        median_duration_ms: row.median_ms,
        p90_duration_ms: row.p90_ms,
        daily: calendar
            .days()
            .map(|day| {
                let found = by_day.get(&day);
                wire::TeamPipelineDay {
                    date: format_date(day),
                    runs: found.map_or(0, |found| found.runs),
                    succeeded: found.map_or(0, |found| found.succeeded),
                    failed: found.map_or(0, |found| found.failed),
                    pass_rate: found.and_then(|found| pass_rate(found.succeeded, found.failed)),
                    median_duration_ms: found.and_then(|found| found.median_ms),
                }
            })
            .collect(),
    }
}

fn queue(row: &store::QueueTime, days: &[store::QueueTime], calendar: &Calendar) -> wire::TeamQueue {
    let by_day: BTreeMap<i64, &store::QueueTime> =
        days.iter().filter(|day| day.pool == row.pool).filter_map(|day| day.day.map(|number| (number, day))).collect();
    wire::TeamQueue {
        pool: row.pool.clone(),
        jobs: row.jobs,
        median_ms: row.median_ms,
        p90_ms: row.p90_ms,
        daily: calendar
            .days()
            .map(|day| {
                let found = by_day.get(&day);
                wire::TeamQueueDay {
                    date: format_date(day),
                    jobs: found.map_or(0, |found| found.jobs),
                    median_ms: found.and_then(|found| found.median_ms),
                }
            })
            .collect(),
    }
}

fn flaky_test(test: store::FlakyTest) -> wire::TeamFlakyTest {
    wire::TeamFlakyTest {
        pipeline: test.pipeline,
        commit: test.commit,
        job: test.job,
        suite: test.suite,
        name: test.name,
        failed_runs: test.failed_runs.iter().map(|run| run.0).collect(),
        passed_runs: test.passed_runs.iter().map(|run| run.0).collect(),
        count: test.failures,
        passes: test.passes,
        last_seen: test.last_seen.millis(),
    }
}

#[expect(clippy::cast_precision_loss, reason = "milliseconds of a window of at most 90 days are far below 2^52")]
fn share(busy_ms: i64, of_ms: i64) -> f64 {
    if of_ms <= 0 { 0.0 } else { busy_ms as f64 / of_ms as f64 }
}

/// Each agent's and each pool's use over a window of `window_ms`: every registered agent (idle
/// ones too) and every holder that ran jobs, by agent name; every pool with agents or jobs.
fn agent_use(
    busy: &[store::AgentBusy],
    registered: &[store::Agent],
    window_ms: i64,
) -> (Vec<wire::TeamAgent>, Vec<wire::TeamPool>) {
    let mut agents: BTreeMap<String, wire::TeamAgent> = registered
        .iter()
        .map(|agent| {
            let row = wire::TeamAgent {
                agent: agent.name.clone(),
                pool: Some(agent.pool.clone()),
                ..wire::TeamAgent::default()
            };
            (agent.name.clone(), row)
        })
        .collect();
    let mut pool_agents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for agent in registered {
        pool_agents.entry(agent.pool.clone()).or_default().insert(agent.name.clone());
    }
    let mut pools: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in busy {
        let name = holder_agent_name(&row.holder);
        let agent = agents
            .entry(name.clone())
            .or_insert_with(|| wire::TeamAgent { agent: name.clone(), ..wire::TeamAgent::default() });
        agent.jobs += row.jobs;
        agent.busy_ms += row.busy_ms;
        pool_agents.entry(row.pool.clone()).or_default().insert(name);
        let pool = pools.entry(row.pool.clone()).or_default();
        pool.0 += row.jobs;
        pool.1 += row.busy_ms;
    }
    let agents = agents
        .into_values()
        .map(|agent| wire::TeamAgent { busy_share: share(agent.busy_ms, window_ms), ..agent })
        .collect();
    let pools = pool_agents
        .into_iter()
        .map(|(pool, members)| {
            let (jobs, busy_ms) = pools.get(&pool).copied().unwrap_or_default();
            let count = i64::try_from(members.len()).unwrap_or(i64::MAX);
            wire::TeamPool {
                pool,
                agents: count,
                jobs,
                busy_ms,
                busy_share: (count > 0).then(|| share(busy_ms, window_ms.saturating_mul(count))),
            }
        })
        .collect();
    (agents, pools)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, pool: &str) -> store::Agent {
        store::Agent {
            id: store::AgentId(1),
            name: name.into(),
            pool: pool.into(),
            capabilities: BTreeMap::new(),
            version: "1".into(),
            state: store::AgentState::Idle,
            created_at: Timestamp(0),
            last_seen_at: None,
        }
    }

    #[test]
    fn agents_are_named_and_pools_share_their_agents_time() {
        let busy = [
            store::AgentBusy { holder: "local:0".into(), pool: "default".into(), jobs: 3, busy_ms: 250 },
            store::AgentBusy { holder: "agent:gone".into(), pool: "gpu".into(), jobs: 1, busy_ms: 100 },
        ];
        let registered = [agent("local-0", "default"), agent("idle", "default")];
        let (agents, pools) = agent_use(&busy, &registered, 1000);
        let agents: Vec<_> = agents
            .iter()
            .map(|agent| (agent.agent.as_str(), agent.pool.as_deref(), agent.jobs, agent.busy_share))
            .collect();
        assert_eq!(
            agents,
            [("gone", None, 1, 0.1), ("idle", Some("default"), 0, 0.0), ("local-0", Some("default"), 3, 0.25)]
        );
        let pools: Vec<_> =
            pools.iter().map(|pool| (pool.pool.as_str(), pool.agents, pool.busy_ms, pool.busy_share)).collect();
        // default: two agents, 250 ms of their 2000.
        assert_eq!(pools, [("default", 2, 250, Some(0.125)), ("gpu", 1, 100, Some(0.1))]);
    }

    #[test]
    fn a_window_has_every_day_and_a_pass_rate_leaves_canceled_runs_out() {
        let calendar = Calendar::new(DAY * 10 + 5, DAY * 12 + 1);
        assert_eq!(calendar.days().collect::<Vec<_>>(), [10, 11, 12]);
        assert_eq!(Calendar::new(DAY * 10, DAY * 11).days().collect::<Vec<_>>(), [10]);
        assert_eq!(pass_rate(3, 1), Some(0.75));
        assert_eq!(pass_rate(0, 0), None);
    }
}
