//! Runs: ids, life cycle, plans, listing, cancelling.

use std::collections::HashSet;

use slipway_events::TaskResult;
use slipway_store::{JobStatus, NewRun, RunFilter, RunStatus, TriggerKind};

use crate::support::{conformance, job};

fn plan() -> slipway_plan::Plan {
    slipway_plan::Plan {
        version: slipway_plan::PLAN_VERSION,
        dialect: slipway_plan::Dialect::AzurePipelines,
        files: vec!["azure-pipelines.yml".into()],
        run_name: Some("$(Date:yyyyMMdd).$(Rev:r)".into()),
        append_commit_message: None,
        parameters: Vec::new(),
        variables: Vec::new(),
        stages: Vec::new(),
        resources: slipway_plan::Resources::default(),
        extends: Vec::new(),
        env: Vec::new(),
    }
}

conformance! {
    /// Run ids (`Build.BuildId`) are unique across the server even when runs are created concurrently.
    async fn run_ids_are_unique_under_concurrency(test: TestStore) {
        let app = test.pipeline("app").await?;
        let lib = test.pipeline("lib").await?;
        let mut tasks = Vec::new();
        for worker in 0..10 {
            let store = test.store.clone();
            let pipeline = if worker % 2 == 0 { app.id } else { lib.id };
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for number in 0..10 {
                    ids.push(store.create_run(&NewRun::new(pipeline, format!("{worker}.{number}"), TriggerKind::Manual)).await?.id);
                }
                Ok::<_, slipway_store::StoreError>(ids)
            }));
        }
        let mut all = HashSet::new();
        for task in tasks {
            let ids = task.await??;
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids increase for one creator: {ids:?}");
            for id in ids {
                assert!(all.insert(id), "id {id} given twice");
            }
        }
        assert_eq!(all.len(), 100);
        // Never reused, even after the newest run is deleted.
        let newest = all.iter().max().copied().ok_or("no runs")?;
        test.store.finish_run(newest, TaskResult::Succeeded).await?;
        test.store.delete_run(newest).await?;
        let next = test.store.create_run(&NewRun::new(app.id, "next", TriggerKind::Manual)).await?;
        assert!(next.id > newest);
        Ok(())
    }
}

conformance! {
    /// A run goes queued → running → completed once, keeps its plan and details, and is listed.
    async fn runs_follow_their_life_cycle(test: TestStore) {
        let app = test.pipeline("app").await?;
        let mut new = NewRun::new(app.id, "20251121.1", TriggerKind::PullRequest);
        new.branch = Some("refs/pull/7/merge".into());
        new.commit = Some("0123abcd".into());
        new.parameters = serde_json::json!({"image": "ubuntu", "tests": true});
        new.variables = serde_json::json!({"configuration": "Release"});
        new.trigger_details = slipway_store::TriggerDetails {
            pull_request: Some(slipway_store::PullRequestDetails { number: 7, ..Default::default() }),
            variables: [("System.PullRequest.PullRequestId".to_owned(), "7".to_owned())].into(),
            ..slipway_store::TriggerDetails::reason("PullRequest")
        };
        new.requested_by = Some("alice".into());
        new.plan = Some(plan());
        let run = test.store.create_run(&new).await?;
        assert_eq!((run.status, run.result, run.trigger), (RunStatus::Queued, None, TriggerKind::PullRequest));
        assert_eq!(run.parameters, new.parameters);
        assert_eq!(run.trigger_details, new.trigger_details);
        assert_eq!(run.created_at, crate::support::START);
        assert_eq!(test.store.run_plan(run.id).await?, Some(plan()));
        test.store.set_run_number(run.id, "20251121.2").await?;
        test.advance(5);
        let started = test.store.start_run(run.id).await?;
        assert_eq!((started.status, started.started_at.map(|at| at.millis() - run.created_at.millis())), (RunStatus::Running, Some(5)));
        assert_eq!(test.store.start_run(run.id).await?.started_at, started.started_at);
        let finished = test.store.finish_run(run.id, TaskResult::SucceededWithIssues).await?;
        assert_eq!((finished.status, finished.result, finished.run_number.as_str()), (RunStatus::Completed, Some(TaskResult::SucceededWithIssues), "20251121.2"));
        assert!(test.store.finish_run(run.id, TaskResult::Failed).await.is_err());
        assert!(test.store.start_run(run.id).await.is_err());
        assert!(test.store.add_jobs(run.id, &[job("late", true)]).await.is_err());
        assert_eq!(test.store.latest_successful_run(app.id, Some("refs/pull/7/merge")).await?.map(|found| found.id), Some(run.id));
        assert_eq!(test.store.latest_successful_run(app.id, Some("main")).await?, None);
        assert!(test.store.run(slipway_store::RunId(424242)).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// Runs are listed newest first, filtered, and paged by id.
    async fn runs_are_listed_newest_first_with_filters(test: TestStore) {
        let app = test.pipeline("app").await?;
        let lib = test.pipeline("lib").await?;
        let mut ids = Vec::new();
        for number in 0..7 {
            let mut new = NewRun::new(if number % 3 == 0 { lib.id } else { app.id }, format!("{number}"), TriggerKind::Manual);
            new.branch = Some(if number % 2 == 0 { "main" } else { "dev" }.into());
            ids.push(test.store.create_run(&new).await?.id);
        }
        test.store.finish_run(ids[1], TaskResult::Failed).await?;
        let all = test.store.list_runs(&RunFilter::default()).await?;
        assert_eq!(all.iter().map(|run| run.id).collect::<Vec<_>>(), ids.iter().rev().copied().collect::<Vec<_>>());
        let app_runs = test.store.list_runs(&RunFilter { pipeline: Some(app.id), ..Default::default() }).await?;
        assert_eq!(app_runs.len(), 4);
        let page = test.store.list_runs(&RunFilter { pipeline: Some(app.id), limit: 2, ..Default::default() }).await?;
        let next = test.store.list_runs(&RunFilter { pipeline: Some(app.id), limit: 2, before: page.last().map(|run| run.id), ..Default::default() }).await?;
        assert_eq!([page, next].concat().iter().map(|run| run.id).collect::<Vec<_>>(), app_runs.iter().map(|run| run.id).collect::<Vec<_>>());
        let main_queued = test.store.list_runs(&RunFilter { branch: Some("main".into()), status: Some(RunStatus::Queued), ..Default::default() }).await?;
        assert_eq!(main_queued.iter().map(|run| run.id).collect::<Vec<_>>(), vec![ids[6], ids[4], ids[2], ids[0]]);
        let completed = test.store.list_runs(&RunFilter { status: Some(RunStatus::Completed), ..Default::default() }).await?;
        assert_eq!(completed.iter().map(|run| run.id).collect::<Vec<_>>(), vec![ids[1]]);
        // By result and by trigger.
        let scheduled = test.store.create_run(&NewRun::new(app.id, "7", TriggerKind::Schedule)).await?;
        test.store.finish_run(scheduled.id, TaskResult::Succeeded).await?;
        let failed = test.store.list_runs(&RunFilter { result: Some(TaskResult::Failed), ..Default::default() }).await?;
        assert_eq!(failed.iter().map(|run| run.id).collect::<Vec<_>>(), vec![ids[1]]);
        let by_schedule = test.store.list_runs(&RunFilter { trigger: Some(TriggerKind::Schedule), ..Default::default() }).await?;
        assert_eq!(by_schedule.iter().map(|run| run.id).collect::<Vec<_>>(), vec![scheduled.id]);
        let none = test.store.list_runs(&RunFilter { trigger: Some(TriggerKind::Schedule), result: Some(TaskResult::Failed), ..Default::default() }).await?;
        assert!(none.is_empty());
        let latest = test.store.latest_runs().await?;
        assert_eq!(latest.iter().map(|run| run.id).collect::<Vec<_>>(), vec![scheduled.id, ids[6]]);
        Ok(())
    }
}

conformance! {
    /// Cancelling a run ends its waiting jobs at once and reaches the holder of a running job's lease.
    async fn a_cancel_ends_waiting_jobs_and_reaches_lease_holders(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let jobs = test.store.add_jobs(run.id, &[job("compile", true), job("test", false), job("package", true)]).await?;
        let lease = test.store.lease_job(&crate::queue::request("local:0")).await?.ok_or("nothing to lease")?;
        assert_eq!(lease.job.id, jobs[0].id);
        assert_eq!(test.store.run(run.id).await?.status, RunStatus::Running);
        let beat = test.store.renew_lease(&lease.token, std::time::Duration::from_secs(30)).await?;
        assert!(!beat.cancel_requested);
        let cancelled = test.store.request_cancel(run.id).await?;
        assert!(cancelled.cancel_requested);
        let beat = test.store.renew_lease(&lease.token, std::time::Duration::from_secs(30)).await?;
        assert!(beat.cancel_requested);
        let states: Vec<_> = test.store.jobs_of_run(run.id).await?.into_iter().map(|job| (job.status, job.result)).collect();
        assert_eq!(states, vec![
            (JobStatus::Running, None),
            (JobStatus::Completed, Some(TaskResult::Canceled)),
            (JobStatus::Completed, Some(TaskResult::Canceled)),
        ]);
        assert!(test.store.lease_job(&crate::queue::request("local:1")).await?.is_none());
        // Jobs that become ready after the cancel end at once instead of waiting in the queue.
        let late = test.store.add_jobs(run.id, &[job("late", true)]).await?;
        assert_eq!((late[0].status, late[0].result), (JobStatus::Completed, Some(TaskResult::Canceled)));
        test.store.complete_job(&lease.token, TaskResult::Canceled, Some("cancelled")).await?;
        let finished = test.store.finish_run(run.id, TaskResult::Canceled).await?;
        assert_eq!(test.store.request_cancel(run.id).await?, finished);
        Ok(())
    }
}
