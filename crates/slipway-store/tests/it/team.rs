//! The team dashboard's queries on a generated history whose figures were worked out by hand:
//! pass rates, medians and 90th percentiles of run durations and queue waits, agents' busy time,
//! and flaky tests (one that failed and passed on the same commit; one that failed and passed on
//! different commits is not).

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_events::{TaskResult, TestCase, TestOutcome, TestRun};
use slipway_store::{
    AgentBusy, LeaseRequest, NewRun, Pipeline, QueueTime, RunHealth, RunId, TeamWindow, Timestamp, TriggerKind,
};

use crate::support::{TestStore, conformance, job};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const DAY: i64 = 24 * 60 * MINUTE;

/// Test results with one case per `(name, passed)`.
fn results(cases: &[(&str, bool)]) -> TestRun {
    let failed = cases.iter().filter(|(_, passed)| !passed).count() as u64;
    TestRun {
        title: "unit".into(),
        format: "JUnit".into(),
        files: Vec::new(),
        total: cases.len() as u64,
        passed: cases.len() as u64 - failed,
        failed,
        skipped: 0,
        duration_ms: 1,
        tests: cases
            .iter()
            .map(|(name, passed)| TestCase {
                name: (*name).to_owned(),
                suite: Some("app.tests".into()),
                outcome: if *passed { TestOutcome::Passed } else { TestOutcome::Failed },
                duration_ms: 1,
                message: None,
                stack_trace: None,
            })
            .collect(),
    }
}

/// One attempt of a job: it waits `wait` ms in the queue of `pool`, is taken by `holder`,
/// publishes `tests` and runs `took` ms more before ending with `result`.
struct Attempt<'a> {
    pool: &'a str,
    holder: &'a str,
    wait: i64,
    took: i64,
    result: TaskResult,
    tests: Option<TestRun>,
}

async fn attempt(test: &TestStore, attempt: Attempt<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    test.advance(attempt.wait);
    let request = LeaseRequest {
        holder: attempt.holder.to_owned(),
        pool: attempt.pool.to_owned(),
        capabilities: BTreeMap::new(),
        duration: Duration::from_secs(3600),
    };
    let lease = test.store.lease_job(&request).await?.ok_or("no job to lease")?;
    if let Some(tests) = &attempt.tests {
        test.store.add_test_run(lease.job.run, &lease.job.key, 1, tests).await?;
    }
    test.advance(attempt.took);
    test.store.complete_job(&lease.token, attempt.result, None).await?;
    test.store.finish_run(lease.job.run, attempt.result).await?;
    Ok(())
}

/// A run of `pipeline` on `commit` with one job, run once.
async fn ran(
    test: &TestStore,
    pipeline: &Pipeline,
    commit: &str,
    once: Attempt<'_>,
) -> Result<RunId, Box<dyn std::error::Error + Send + Sync>> {
    let mut new = NewRun::new(pipeline.id, "1", TriggerKind::Manual);
    new.branch = Some("main".into());
    new.commit = Some(commit.into());
    let run = test.store.create_run(&new).await?;
    let mut build = job("build", true);
    build.pool = once.pool.to_owned();
    test.store.add_jobs(run.id, &[build]).await?;
    attempt(test, once).await?;
    Ok(run.id)
}

fn app(wait: i64, took: i64, result: TaskResult, tests: Option<TestRun>) -> Attempt<'static> {
    Attempt { pool: "default", holder: "agent:a", wait, took, result, tests }
}

fn lib(wait: i64, took: i64, result: TaskResult) -> Attempt<'static> {
    Attempt { pool: "gpu", holder: "agent:b", wait, took, result, tests: None }
}

conformance! {
    /// Pass rates, durations, queue waits, agents' busy time and flaky tests of a generated
    /// history, against the figures worked out by hand in the comments.
    async fn the_team_figures_match_the_hand_computed_ones(test: TestStore) {
        use TaskResult::{Canceled, Failed, Succeeded};
        let app_pipeline = test.pipeline("app").await?;
        let lib_pipeline = test.pipeline("lib").await?;
        // Forty days before the window: left out of everything.
        ran(&test, &app_pipeline, "c0", app(SECOND, 7 * MINUTE, Failed, Some(results(&[("login", false)])))).await?;
        test.advance(40 * DAY);
        let t0 = test.store.now();

        // app, pool default, agent a. Waits 10 s, 20 s, 30 s, 40 s and (re-run) 50 s; runs of 1,
        // 2, 3, 10 and 5 minutes (the re-run's first attempt of 4 minutes is not the run's).
        let r1 = ran(&test, &app_pipeline, "c1", app(10 * SECOND, MINUTE, Failed, Some(results(&[("login", false), ("logout", true)])))).await?;
        let r2 = ran(&test, &app_pipeline, "c1", app(20 * SECOND, 2 * MINUTE, Succeeded, Some(results(&[("login", true), ("logout", true)])))).await?;
        // export fails on c2 and passes on c3: different commits, not flaky.
        ran(&test, &app_pipeline, "c2", app(30 * SECOND, 3 * MINUTE, Failed, Some(results(&[("export", false), ("login", true)])))).await?;
        ran(&test, &app_pipeline, "c3", app(40 * SECOND, 10 * MINUTE, Succeeded, Some(results(&[("export", true), ("login", true)])))).await?;
        // A run canceled before any job: counted, without a duration.
        let canceled = test.store.create_run(&NewRun::new(app_pipeline.id, "1", TriggerKind::Manual)).await?;
        test.store.finish_run(canceled.id, Canceled).await?;
        // upload fails, and passes when the failed job is run again in the same run (c4).
        let r6 = ran(&test, &app_pipeline, "c4", app(10 * SECOND, 4 * MINUTE, Failed, Some(results(&[("upload", false)])))).await?;
        let jobs = test.store.jobs_of_run(r6).await?;
        test.store.rerun_jobs(r6, &[jobs[0].id]).await?;
        test.store.queue_job(jobs[0].id).await?;
        attempt(&test, app(50 * SECOND, 5 * MINUTE, Succeeded, Some(results(&[("upload", true)])))).await?;

        // lib, pool gpu, agent b: waits 5, 1 and 3 minutes; runs of 30, 90 and 60 seconds.
        ran(&test, &lib_pipeline, "c9", lib(5 * MINUTE, 30 * SECOND, Succeeded)).await?;
        ran(&test, &lib_pipeline, "c9", lib(MINUTE, 90 * SECOND, Failed)).await?;
        ran(&test, &lib_pipeline, "c9", lib(3 * MINUTE, 60 * SECOND, Succeeded)).await?;

        let end = Timestamp(test.store.now().millis() + 1);
        let window = TeamWindow { start: Timestamp(end.millis() - 30 * DAY), end, pipeline: None };
        let day = t0.millis() / DAY;

        // app: 6 runs, 3 succeeded, 2 failed, 1 canceled (a pass rate of 3 in 5). Durations 1, 2,
        // 3, 5, 10 minutes: the median is the third, the 90th percentile the ceil(4.5) = 5th.
        // lib: 3 runs, 2 succeeded; 30, 60, 90 s: median 60 s, 90th percentile the 3rd.
        let health = test.store.team_run_health(&window, false).await?;
        let expected = vec![
            RunHealth { pipeline: "app".into(), day: None, runs: 6, succeeded: 3, failed: 2, canceled: 1, median_ms: Some(3 * MINUTE), p90_ms: Some(10 * MINUTE) },
            RunHealth { pipeline: "lib".into(), day: None, runs: 3, succeeded: 2, failed: 1, canceled: 0, median_ms: Some(60 * SECOND), p90_ms: Some(90 * SECOND) },
        ];
        assert_eq!(health, expected);
        // Everything happened on one day.
        let daily = test.store.team_run_health(&window, true).await?;
        let expected_daily: Vec<RunHealth> = expected.iter().map(|row| RunHealth { day: Some(day), ..row.clone() }).collect();
        assert_eq!(daily, expected_daily);

        // Queue waits. default: 10, 20, 30, 40, 50 s (the re-run's counts from its requeueing):
        // median 30 s, 90th percentile the 5th. gpu: 1, 3, 5 minutes.
        let queues = test.store.team_queue_times(&window, false).await?;
        assert_eq!(queues, vec![
            QueueTime { pool: "default".into(), day: None, jobs: 5, median_ms: Some(30 * SECOND), p90_ms: Some(50 * SECOND) },
            QueueTime { pool: "gpu".into(), day: None, jobs: 3, median_ms: Some(3 * MINUTE), p90_ms: Some(5 * MINUTE) },
        ]);
        let daily = test.store.team_queue_times(&window, true).await?;
        assert_eq!(daily.iter().map(|row| (row.pool.as_str(), row.day, row.jobs, row.median_ms)).collect::<Vec<_>>(), vec![
            ("default", Some(day), 5, Some(30 * SECOND)),
            ("gpu", Some(day), 3, Some(3 * MINUTE)),
        ]);

        // Agents over the 100 minutes from t0: a ran 6 attempts (the re-run's two) for 1 + 2 + 3
        // + 10 + 4 + 5 = 25 minutes, a quarter of the window; b 3 for 3 minutes (3%).
        let hundred_minutes = TeamWindow { start: t0, end: Timestamp(t0.millis() + 100 * MINUTE), pipeline: None };
        let agents = test.store.team_agent_use(&hundred_minutes).await?;
        assert_eq!(agents, vec![
            AgentBusy { holder: "agent:a".into(), pool: "default".into(), jobs: 6, busy_ms: 25 * MINUTE },
            AgentBusy { holder: "agent:b".into(), pool: "gpu".into(), jobs: 3, busy_ms: 3 * MINUTE },
        ]);
        let share = |busy: &AgentBusy| busy.busy_ms as f64 / (100 * MINUTE) as f64;
        assert!((share(&agents[0]) - 0.25).abs() < 1e-9 && (share(&agents[1]) - 0.03).abs() < 1e-9);
        // A window that starts in the middle of a job counts only its part: R1's minute began
        // 10 s after t0; from t0 + 40 s, 30 s of it.
        let clipped = TeamWindow { start: Timestamp(t0.millis() + 40 * SECOND), end: Timestamp(t0.millis() + 70 * SECOND), pipeline: None };
        assert_eq!(test.store.team_agent_use(&clipped).await?, vec![
            AgentBusy { holder: "agent:a".into(), pool: "default".into(), jobs: 0, busy_ms: 30 * SECOND },
        ]);

        // Flaky: login failed in r1 and passed in r2, both on c1; upload failed and passed in r6
        // (its job run again). export (c2 failed, c3 passed) and logout (never failed) are not.
        let flaky = test.store.team_flaky_tests(&window, 100).await?;
        let found: Vec<_> = flaky
            .iter()
            .map(|test| (test.pipeline.as_str(), test.commit.as_str(), test.job.as_str(), test.name.as_str(), test.failed_runs.clone(), test.passed_runs.clone(), test.failures, test.passes))
            .collect();
        let key = "Build.build";
        assert_eq!(found, vec![
            ("app", "c4", key, "upload", vec![r6], vec![r6], 1, 1),
            ("app", "c1", key, "login", vec![r1], vec![r2], 1, 1),
        ], "{flaky:#?}");
        assert_eq!(flaky[0].suite.as_deref(), Some("app.tests"));
        assert!(test.store.team_flaky_tests(&window, 1).await?.len() == 1, "the limit applies");

        // One pipeline only.
        let only_lib = TeamWindow { pipeline: Some("lib".into()), ..window.clone() };
        assert_eq!(test.store.team_run_health(&only_lib, false).await?, expected[1..]);
        assert_eq!(test.store.team_queue_times(&only_lib, false).await?.iter().map(|row| row.pool.as_str()).collect::<Vec<_>>(), ["gpu"]);
        assert!(test.store.team_flaky_tests(&only_lib, 100).await?.is_empty());

        // A window before anything happened is empty.
        let empty = TeamWindow { start: Timestamp(0), end: Timestamp(1000), pipeline: None };
        assert!(test.store.team_run_health(&empty, false).await?.is_empty());
        assert!(test.store.team_queue_times(&empty, true).await?.is_empty());
        assert!(test.store.team_agent_use(&empty).await?.is_empty());
        assert!(test.store.team_flaky_tests(&empty, 100).await?.is_empty());
        Ok(())
    }
}
