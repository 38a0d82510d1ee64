use std::sync::Arc;

use slipway_events::{Event, TaskResult};
use slipway_plan::Leg;

use super::{Driver, Step, job_key};
use crate::counters::Counters;
use crate::scheduler::tests::{job, plan, stage, var};
use crate::scheduler::{LegId, Selection};
use crate::variables::Variables;

fn driver(plan: slipway_plan::Plan, counters: Counters, started: u64) -> Driver {
    Driver::new(Arc::new(plan), Variables::new(), &Selection::default(), 8, counters, Vec::new(), started)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Two stages of one job each: `B` depends on `A`.
fn two_stages() -> slipway_plan::Plan {
    plan(vec![
        stage("A", &[], vec![job("build", &[], Vec::new())]),
        stage("B", &["A"], vec![job("test", &[], Vec::new())]),
    ])
}

fn events(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|step| match step {
            Step::Event(Event::StageStarted { time, stage, .. }) => format!("{time}: stage {stage} started"),
            Step::Event(Event::StageFinished { time, stage, result, duration_ms, .. }) => {
                format!("{time}: stage {stage} {result} in {duration_ms}")
            }
            Step::Event(Event::RunFinished { time, result, duration_ms }) => {
                format!("{time}: run {result} in {duration_ms}")
            }
            Step::Event(other) => format!("{other:?}"),
            Step::StartLeg(start) => format!("start {} ({})", start.key, start.display_name),
            Step::JobFinished(end) => {
                format!("job {} {} in {} (started: {})", end.key, end.result, end.duration_ms, end.started)
            }
            Step::Warning(text) => format!("warning {text}"),
            Step::StageWaiting(stage) => format!("stage {stage} waits"),
        })
        .collect()
}

#[test]
fn stages_jobs_and_the_run_report_their_durations() {
    let mut driver = driver(two_stages(), Counters::default(), 1_000);
    let mut seen = events(&driver.poll(1_100));
    let build = LegId { stage: 0, job: 0, leg: 0 };
    assert!(driver.leg_finished(build, TaskResult::Succeeded, Vec::new(), 1_400).is_none(), "one leg: the job reports");
    seen.extend(events(&driver.poll(1_400)));
    driver.leg_finished(LegId { stage: 1, job: 0, leg: 0 }, TaskResult::Failed, Vec::new(), 2_000);
    seen.extend(events(&driver.poll(2_000)));
    assert_eq!(
        seen,
        [
            "1100: stage A started",
            "start A.build (build)",
            "job A.build Succeeded in 300 (started: true)",
            "1400: stage A Succeeded in 300",
            "1400: stage B started",
            "start B.test (test)",
            "job B.test Failed in 600 (started: true)",
            "2000: stage B Failed in 600",
            "2000: run Failed in 1000",
        ]
    );
    assert_eq!(driver.result(), Some(TaskResult::Failed));
}

#[test]
fn a_driver_built_again_does_not_report_restored_stages_twice_and_keeps_their_start() {
    let mut driver = driver(two_stages(), Counters::default(), 1_000);
    driver.restore_stage("A", Some(1_100), true);
    driver.restore_stage("B", Some(1_400), false);
    // As the server does after a restart: A's job completed already, B's is running.
    let steps = driver.poll(5_000);
    assert_eq!(events(&steps), ["start A.build (build)"]);
    driver.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, Vec::new(), 5_000);
    let steps = driver.poll(5_000);
    assert_eq!(events(&steps), ["job A.build Succeeded in 0 (started: true)", "start B.test (test)"]);
    driver.leg_finished(LegId { stage: 1, job: 0, leg: 0 }, TaskResult::Succeeded, Vec::new(), 6_000);
    let steps = driver.poll(6_000);
    assert!(events(&steps).contains(&"6000: stage B Succeeded in 4600".to_owned()), "{:?}", events(&steps));
    assert!(events(&steps).contains(&"6000: run Succeeded in 5000".to_owned()));
}

#[test]
fn a_gated_stage_rebuilt_after_a_restart_waits_again_unless_it_started_or_ended() {
    // Waiting when the server stopped: the driver built again says so again.
    let mut waiting = driver(two_stages(), Counters::default(), 1_000);
    waiting.gate_stage(1);
    waiting.restore_stage("A", Some(1_100), true);
    let _ = waiting.poll(5_000);
    waiting.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, Vec::new(), 5_000);
    assert_eq!(events(&waiting.poll(5_000)), ["job A.build Succeeded in 0 (started: true)", "stage 1 waits"]);
    // Its gate had opened and it started: it does not wait again.
    let mut started = driver(two_stages(), Counters::default(), 1_000);
    started.gate_stage(1);
    started.restore_stage("A", Some(1_100), true);
    started.restore_stage("B", Some(1_400), false);
    let _ = started.poll(5_000);
    started.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, Vec::new(), 5_000);
    assert_eq!(events(&started.poll(5_000)), ["job A.build Succeeded in 0 (started: true)", "start B.test (test)"]);
    // Its checks had failed: it waits again (the server fails the gate from what it stored), and
    // its end is not reported twice.
    let mut failed = driver(two_stages(), Counters::default(), 1_000);
    failed.gate_stage(1);
    failed.restore_stage("A", Some(1_100), true);
    failed.restore_stage("B", None, true);
    let _ = failed.poll(5_000);
    failed.leg_finished(LegId { stage: 0, job: 0, leg: 0 }, TaskResult::Succeeded, Vec::new(), 5_000);
    assert_eq!(events(&failed.poll(5_000)), ["job A.build Succeeded in 0 (started: true)", "stage 1 waits"]);
    failed.fail_gate(1, "rejected".to_owned());
    assert_eq!(events(&failed.poll(6_000)), ["job B.test Skipped in 0 (started: false)", "6000: run Failed in 5000"]);
}

#[test]
fn skipped_jobs_end_without_starting_and_matrix_legs_report_their_own_end() {
    let mut matrix = job("test", &[], Vec::new());
    matrix.legs = vec![
        Leg {
            name: Some("linux".into()),
            display_name: None,
            variables: Vec::new(),
            target: None,
            matrix: None,
            continue_on_error: None,
        },
        Leg {
            name: Some("mac".into()),
            display_name: Some("On a Mac".into()),
            variables: Vec::new(),
            target: None,
            matrix: None,
            continue_on_error: None,
        },
    ];
    let mut never = job("never", &["test"], Vec::new());
    never.condition = Some(crate::scheduler::tests::cond("failed()"));
    let mut driver = driver(plan(vec![stage("S", &[], vec![matrix, never])]), Counters::default(), 0);
    assert_eq!(
        events(&driver.poll(10)),
        ["10: stage S started", "start S.test.linux (test linux)", "start S.test.mac (On a Mac)"]
    );
    let linux = LegId { stage: 0, job: 0, leg: 0 };
    let ended = driver.leg_finished(linux, TaskResult::Succeeded, Vec::new(), 30);
    assert!(
        matches!(ended, Some(Event::JobFinished { ref job, duration_ms: 20, .. }) if job == "S.test.linux"),
        "{ended:?}"
    );
    driver.leg_finished(LegId { leg: 1, ..linux }, TaskResult::Succeeded, Vec::new(), 50);
    let seen = events(&driver.poll(50));
    assert_eq!(&seen[..2], ["job S.test Succeeded in 40 (started: true)", "job S.never Skipped in 0 (started: false)"]);
    assert_eq!(job_key(driver.plan(), LegId { stage: 0, job: 0, leg: 1 }), "S.test.mac");
    assert_eq!(job_key(driver.plan(), LegId { stage: 9, job: 0, leg: 0 }), "");
}

#[test]
fn counters_the_run_was_not_given_are_missing_until_allocated() {
    let mut counted = plan(vec![stage("S", &[], vec![job("j", &[], Vec::new())])]);
    counted.variables = vec![var("major", "1"), var("patch", "$[counter(variables['major'], 100)]")];
    let mut first = driver(counted.clone(), Counters::allocated(Default::default()), 0);
    assert_eq!(first.missing_counters(), [("1".to_owned(), 100)]);
    let mut given = driver(counted.clone(), Counters::allocated([("1".to_owned(), 104)].into()), 0);
    assert!(given.missing_counters().is_empty());
    let steps = given.poll(0);
    let Some(Step::StartLeg(start)) = steps.iter().find(|step| matches!(step, Step::StartLeg(_))) else {
        panic!("no leg started: {:?}", events(&steps))
    };
    assert_eq!(start.variables.value("patch"), Some("104"));
    // slipway run: one more than what the last run left.
    let continuing = driver(counted, Counters::continuing([("1".to_owned(), 7)].into()), 0);
    assert_eq!(continuing.counters().get("1"), Some(&8));
    assert!(first.poll(0).iter().any(|step| matches!(step, Step::StartLeg(_))), "it goes on with the seed meanwhile");
}
