//! Scheduled triggers. Azure evaluates a branch's schedules from the pipeline file *in that
//! branch* ("Scheduled runs for a branch are added only if the branch matches the branch filters
//! for the scheduled triggers in the YAML file in that particular branch", *Configure schedules
//! for pipelines*), so each tick reads, for every branch of each pipeline, the schedules of the
//! file at the branch's head and fires those whose branch filters include the branch.
//!
//! A schedule is kept per branch under the key `CRON@BRANCH`; the store records the last time
//! each fired (with the run it started, or without one when the schedule decided not to run).
//! A schedule that never fired counts from when this process first saw it. With `always: false`
//! (the default) a fire runs only when the branch's head differs from the commit of the last
//! successful scheduled run of that branch; with `batch: true` not while a scheduled run of the
//! pipeline is in progress.
//!
//! A pipeline whose file is a GitHub Actions workflow fires its `on.schedule` only on the default
//! branch, read at that branch's head ("Scheduled workflows will only run on the default branch");
//! whether anything changed does not matter, and each fire time runs once, at least five minutes
//! after the previous one of the same schedule.

use std::collections::BTreeMap;

use slipway_events::TaskResult;
use slipway_store::{
    Pipeline, RunFilter, RunId, ScheduleDetails, Timestamp, TriggerDetails, TriggerGuard, TriggerKind,
};
use slipway_triggers::github::WorkflowSchedule;
use slipway_triggers::{Schedule, ScheduleDecision, ScheduleTick};
use time::OffsetDateTime;

use crate::Triggering;
use crate::git;
use crate::load::Loaded;
use crate::{
    Decided, Outcome, TriggerError, blocking, fetch_unless_present, mirror, run_in_progress, start, triggers_at,
    triggers_fetching,
};
use slipway_engine::checkout::Revision;
use slipway_engine::launch::LaunchRequest;

/// How many of a branch's runs are looked through for its last successful scheduled run.
const HISTORY: usize = 2000;

/// The store's key of a schedule on a branch.
#[must_use]
pub fn schedule_key(schedule: &Schedule, branch_ref: &str) -> String {
    format!("{}@{branch_ref}", schedule.cron_text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The store's key of a workflow's schedule on its default branch: the cron, with its time zone
/// when it has one (two entries may share a cron in different zones).
#[must_use]
pub fn workflow_schedule_key(schedule: &WorkflowSchedule, branch_ref: &str) -> String {
    let cron = schedule.cron_text.split_whitespace().collect::<Vec<_>>().join(" ");
    match schedule.timezone.as_ref().and_then(|zone| zone.iana_name()) {
        Some(zone) => format!("{cron} ({zone})@{branch_ref}"),
        None => format!("{cron}@{branch_ref}"),
    }
}

fn timestamp(time: OffsetDateTime) -> Timestamp {
    Timestamp(i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

fn date_time(timestamp: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(timestamp.millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Looks at every pipeline's schedules at `now` and fires those that are due.
pub async fn tick(state: &Triggering, now: OffsetDateTime) -> Vec<(String, Result<Vec<Decided>, TriggerError>)> {
    let Ok(pipelines) = state.store().list_pipelines().await else { return Vec::new() };
    let mut results = Vec::new();
    for pipeline in pipelines {
        let result = tick_pipeline(state, &pipeline, now).await;
        results.push((pipeline.name.clone(), result));
    }
    results
}

/// Fires the due schedules of one pipeline at `now`.
///
/// # Errors
/// When the repository cannot be listed or fetched, or the store fails.
pub async fn tick_pipeline(
    state: &Triggering,
    pipeline: &Pipeline,
    now: OffsetDateTime,
) -> Result<Vec<Decided>, TriggerError> {
    let _lock = state.triggers().lock(pipeline.id).await;
    let mirror = mirror(state, pipeline.id).await?;
    // A first look at the files of the heads last seen (remembered, so without the network):
    // a pipeline none of whose branches has schedules is left alone.
    let known = state.store().branch_heads(pipeline.id).await?;
    let mut scheduled = known.iter().all(|head| !head.branch.starts_with("refs/heads/"));
    for head in known.iter().filter(|head| head.branch.starts_with("refs/heads/")) {
        let loaded = triggers_fetching(state, pipeline, &mirror, &head.branch, &head.commit).await?;
        let has_schedules = match &loaded {
            Loaded::Triggers(triggers) => !triggers.schedules.is_empty(),
            Loaded::Workflow(workflow) => !workflow.schedules.is_empty(),
            Loaded::NoFile | Loaded::Invalid(_) => false,
        };
        if has_schedules {
            scheduled = true;
            break;
        }
    }
    if !scheduled {
        return Ok(Vec::new());
    }
    let repository = pipeline.repository.clone();
    let remote = blocking(move || git::ls_remote(&repository)).await?;
    let default_ref = match crate::completion::default_branch(state, pipeline).await {
        Ok(default_ref) => default_ref,
        Err(_) => remote.head.clone().unwrap_or_else(|| "refs/heads/main".to_owned()),
    };
    // A workflow (by its path) is read only on its default branch, the only one it runs on.
    let workflow_path = slipway_github::looks_like_workflow(&pipeline.yaml_path, "");
    let branches: Vec<(String, String)> = remote
        .branches()
        .filter(|(name, _)| !workflow_path || **name == default_ref)
        .map(|(name, commit)| (name.clone(), commit.clone()))
        .collect();
    if branches.is_empty() {
        return Ok(Vec::new());
    }
    fetch_unless_present(&mirror, &pipeline.repository, branches.iter().map(|(_, commit)| commit.clone()).collect())
        .await?;
    let fires: std::collections::HashMap<String, Timestamp> = state
        .store()
        .schedule_fires(pipeline.id)
        .await?
        .into_iter()
        .map(|fire| (fire.schedule, fire.last_fired_at))
        .collect();
    let mut decided = Vec::new();
    for (branch_ref, commit) in &branches {
        let triggers = match triggers_at(state, pipeline, &mirror, branch_ref, commit).await {
            Loaded::Triggers(triggers) => triggers,
            Loaded::Workflow(workflow) => {
                if *branch_ref != default_ref {
                    continue;
                }
                for schedule in &workflow.schedules {
                    let key = workflow_schedule_key(schedule, branch_ref);
                    let since = match fires.get(&key) {
                        Some(last) => date_time(*last),
                        None => date_time(state.triggers().first_seen(pipeline.id, &key, timestamp(now))),
                    };
                    let Some(fire_time) = schedule.due(since, now) else { continue };
                    let at = Scheduled { key: &key, branch_ref, commit, fire_time };
                    let outcome = match schedule.evaluate(branch_ref, &default_ref) {
                        ScheduleDecision::Start => launch(state, pipeline, &at, &schedule.cron_text, "").await,
                        ScheduleDecision::Skip(reason) => skip(state, pipeline, &at, reason).await,
                    };
                    decided.push(Decided { subject: key.clone(), commit: Some(commit.clone()), outcome });
                }
                continue;
            }
            Loaded::NoFile | Loaded::Invalid(_) => continue,
        };
        for schedule in triggers.schedules.iter().filter(|schedule| schedule.applies_to(branch_ref)) {
            let key = schedule_key(schedule, branch_ref);
            let since = match fires.get(&key) {
                Some(last) => date_time(*last),
                None => date_time(state.triggers().first_seen(pipeline.id, &key, timestamp(now))),
            };
            let Some(fire_time) = schedule.due(since, now) else { continue };
            let outcome = fire(state, pipeline, schedule, &key, branch_ref, commit, fire_time).await;
            decided.push(Decided { subject: key, commit: Some(commit.clone()), outcome });
        }
    }
    Ok(decided)
}

/// Decides one fire time of a schedule on a branch whose head is `commit`.
async fn fire(
    state: &Triggering,
    pipeline: &Pipeline,
    schedule: &Schedule,
    key: &str,
    branch_ref: &str,
    commit: &str,
    fire_time: OffsetDateTime,
) -> Outcome {
    let changed = match last_successful_scheduled_commit(state, pipeline, branch_ref).await {
        Ok(last) => last.as_deref() != Some(commit),
        Err(error) => return Outcome::error(error),
    };
    let in_progress = if schedule.batch {
        match run_in_progress(state, pipeline.id, TriggerKind::Schedule, None, |_| true).await {
            Ok(runs) => !runs.is_empty(),
            Err(error) => return Outcome::error(error),
        }
    } else {
        false
    };
    let tick = ScheduleTick {
        branch: branch_ref,
        changed_since_last_success: changed,
        scheduled_run_in_progress: in_progress,
    };
    let at = Scheduled { key, branch_ref, commit, fire_time };
    match schedule.evaluate(&tick) {
        ScheduleDecision::Start => {
            launch(state, pipeline, &at, &schedule.cron_text, schedule.display_name.as_deref().unwrap_or_default())
                .await
        }
        ScheduleDecision::Skip(reason) => skip(state, pipeline, &at, reason).await,
    }
}

/// One fire time of a schedule on a branch whose head is `commit`.
struct Scheduled<'a> {
    key: &'a str,
    branch_ref: &'a str,
    commit: &'a str,
    fire_time: OffsetDateTime,
}

/// Starts the run of a schedule's fire time, with the cron in its trigger details.
async fn launch(
    state: &Triggering,
    pipeline: &Pipeline,
    at: &Scheduled<'_>,
    cron: &str,
    display_name: &str,
) -> Outcome {
    let fire_timestamp = timestamp(at.fire_time);
    let fire_text = format!("{}Z", slipway_engine::run_number::date_time(fire_timestamp).format("yyyy-MM-ddTHH:mm:ss"));
    let mut request = LaunchRequest::new(
        pipeline.clone(),
        Revision::Commit { git_ref: at.branch_ref.to_owned(), commit: at.commit.to_owned() },
        TriggerKind::Schedule,
        TriggerDetails {
            schedule: Some(ScheduleDetails {
                cron: cron.to_owned(),
                display_name: display_name.to_owned(),
                fire_time: fire_text,
            }),
            variables: BTreeMap::from([
                ("Build.Reason".to_owned(), "Schedule".to_owned()),
                ("Build.CronSchedule.DisplayName".to_owned(), display_name.to_owned()),
                ("System.IsScheduled".to_owned(), "True".to_owned()),
            ]),
            ..TriggerDetails::reason("Schedule")
        },
    );
    request.requested_by = Some("scheduler".to_owned());
    request.guard = Some(TriggerGuard::ScheduleFire { schedule: at.key.to_owned(), fire_time: fire_timestamp });
    start(state, request, at.branch_ref, at.commit).await
}

/// Records a fire time the schedule decided not to run.
async fn skip(state: &Triggering, pipeline: &Pipeline, at: &Scheduled<'_>, reason: impl ToString) -> Outcome {
    match state.store().record_schedule_fire(pipeline.id, at.key, timestamp(at.fire_time)).await {
        Ok(true) => Outcome::skipped(reason.to_string()),
        Ok(false) => Outcome::AlreadyHandled,
        Err(error) => Outcome::error(error),
    }
}

/// The commit of the newest scheduled run of a branch that succeeded.
async fn last_successful_scheduled_commit(
    state: &Triggering,
    pipeline: &Pipeline,
    branch_ref: &str,
) -> Result<Option<String>, slipway_store::StoreError> {
    let mut before: Option<RunId> = None;
    let mut looked = 0;
    while looked < HISTORY {
        let filter = RunFilter {
            pipeline: Some(pipeline.id),
            branch: Some(branch_ref.to_owned()),
            before,
            limit: 200,
            ..RunFilter::default()
        };
        let page = state.store().list_runs(&filter).await?;
        let Some(last) = page.last() else { return Ok(None) };
        before = Some(last.id);
        looked += page.len();
        let found = page.iter().find(|run| {
            run.trigger == TriggerKind::Schedule
                && matches!(run.result, Some(TaskResult::Succeeded | TaskResult::SucceededWithIssues))
        });
        if let Some(run) = found {
            return Ok(run.commit.clone());
        }
        if page.len() < 200 {
            return Ok(None);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use slipway_triggers::{CronSchedule, RefFilter};

    use super::*;

    #[test]
    fn schedule_keys_name_the_cron_and_the_branch() {
        let schedule = Schedule {
            cron_text: "0  3 * * *".into(),
            cron: CronSchedule::parse("0 3 * * *").unwrap_or_else(|error| panic!("{error}")),
            display_name: None,
            branches: RefFilter::all_branches(),
            always: false,
            batch: false,
        };
        assert_eq!(schedule_key(&schedule, "refs/heads/main"), "0 3 * * *@refs/heads/main");
        let at = date_time(Timestamp(1_700_000_000_123));
        assert_eq!(timestamp(at), Timestamp(1_700_000_000_123));
    }
}
