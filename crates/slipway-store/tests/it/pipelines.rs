//! Pipelines, their trigger state, and counters.

use std::collections::HashSet;

use slipway_store::{NewRun, PipelineSettings, RetentionPolicy, StoreError, Timestamp, TriggerGuard, TriggerKind};

use crate::support::conformance;

conformance! {
    /// Pipelines are created, found, listed, renamed and deleted; names are unique.
    async fn pipelines_are_kept_by_unique_name(test: TestStore) {
        let store = &test.store;
        let app = test.pipeline_with("app", RetentionPolicy { days: Some(30), runs: Some(10) }).await?;
        test.pipeline("lib").await?;
        assert_eq!(store.pipeline(app.id).await?, app);
        assert_eq!(store.pipeline_by_name("app").await?.map(|found| found.id), Some(app.id));
        assert_eq!(store.pipeline_by_name("nope").await?, None);
        assert!(test.pipeline("app").await.err().is_some_and(|error| error.is_conflict()));
        let names: Vec<String> = store.list_pipelines().await?.into_iter().map(|pipeline| pipeline.name).collect();
        assert_eq!(names, ["app", "lib"]);
        test.advance(1000);
        let settings = PipelineSettings {
            name: "application".into(),
            repository: "https://example.invalid/app.git".into(),
            yaml_path: "ci/pipeline.yml".into(),
            default_branch: "trunk".into(),
            retention: RetentionPolicy { days: None, runs: Some(3) },
            queue_status: slipway_store::QueueStatus::Disabled,
        };
        let updated = store.update_pipeline(app.id, &settings).await?;
        assert_eq!((updated.name.as_str(), updated.retention.runs, updated.retention.days), ("application", Some(3), None));
        assert_eq!(updated.queue_status, slipway_store::QueueStatus::Disabled);
        assert_eq!(updated.triggers, slipway_store::TriggerHealth::default());
        store.record_trigger_check(app.id, Some("git ls-remote failed: no such repository")).await?;
        let checked = store.pipeline(app.id).await?;
        assert_eq!(checked.triggers.error.as_deref(), Some("git ls-remote failed: no such repository"));
        assert!(checked.triggers.checked_at.is_some());
        store.record_trigger_check(app.id, None).await?;
        assert_eq!(store.pipeline(app.id).await?.triggers.error, None);
        assert_eq!(updated.updated_at.millis() - updated.created_at.millis(), 1000);
        let renamed_onto_lib = PipelineSettings { name: "lib".into(), ..settings };
        assert!(store.update_pipeline(app.id, &renamed_onto_lib).await.err().is_some_and(|error| error.is_conflict()));
        store.delete_pipeline(app.id).await?;
        assert!(store.pipeline(app.id).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// `$(Rev:r)` counts per prefix from 1, and concurrent callers never get the same number.
    async fn revision_counters_are_atomic_per_prefix(test: TestStore) {
        let app = test.pipeline("app").await?;
        let other = test.pipeline("other").await?;
        assert_eq!(test.store.next_revision(app.id, "20251121.").await?, 1);
        assert_eq!(test.store.next_revision(app.id, "20251121.").await?, 2);
        assert_eq!(test.store.next_revision(app.id, "20251122.").await?, 1);
        assert_eq!(test.store.next_revision(other.id, "20251121.").await?, 1);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = test.store.clone();
            tasks.push(tokio::spawn(async move { store.next_revision(app.id, "burst").await }));
        }
        let mut seen = HashSet::new();
        for task in tasks {
            assert!(seen.insert(task.await??));
        }
        assert_eq!(seen, (1..=20).collect());
        // counter(): each run gets the next value once, and keeps it.
        let first = test.store.create_run(&slipway_store::NewRun::new(app.id, "1", slipway_store::TriggerKind::Manual)).await?;
        let second = test.store.create_run(&slipway_store::NewRun::new(app.id, "2", slipway_store::TriggerKind::Manual)).await?;
        let requests = [("minor".to_owned(), 100), ("patch".to_owned(), 0)];
        let given = test.store.allocate_run_counters(first.id, &requests).await?;
        assert_eq!(given, [("minor".to_owned(), 100), ("patch".to_owned(), 0)].into());
        assert_eq!(test.store.allocate_run_counters(first.id, &requests).await?, given, "asked again, the same values");
        assert_eq!(test.store.run_counters(first.id).await?, given);
        let next = test.store.allocate_run_counters(second.id, &requests[..1]).await?;
        assert_eq!(next, [("minor".to_owned(), 101)].into());
        assert!(test.store.allocate_run_counters(slipway_store::RunId(9999), &requests).await.err().is_some_and(|error| error.is_not_found()));
        assert!(test.store.next_revision(slipway_store::PipelineId(9999), "x").await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// A push seen twice (webhook and polling, concurrently) or a schedule firing twice makes one run.
    async fn a_trigger_creates_its_run_once(test: TestStore) {
        let app = test.pipeline("app").await?;
        test.store.set_branch_head(app.id, "main", "aaa").await?;
        let mut push = NewRun::new(app.id, "1", TriggerKind::Push);
        push.commit = Some("bbb".into());
        let guard = TriggerGuard::BranchHead { branch: "main".into(), previous: Some("aaa".into()), commit: "bbb".into() };
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (store, push, guard) = (test.store.clone(), push.clone(), guard.clone());
            tasks.push(tokio::spawn(async move { store.create_triggered_run(&push, &guard).await }));
        }
        let mut created = 0;
        for task in tasks {
            created += usize::from(task.await??.is_some());
        }
        assert_eq!(created, 1);
        let heads = test.store.branch_heads(app.id).await?;
        assert_eq!((heads.len(), heads[0].commit.as_str()), (1, "bbb"));
        // A branch seen for the first time.
        let first = TriggerGuard::BranchHead { branch: "feature".into(), previous: None, commit: "ccc".into() };
        assert!(test.store.create_triggered_run(&push, &first).await?.is_some());
        assert!(test.store.create_triggered_run(&push, &first).await?.is_none());
        // Schedules fire once per scheduled time, and never for an earlier time.
        let schedule = NewRun::new(app.id, "2", TriggerKind::Schedule);
        let at = |millis| TriggerGuard::ScheduleFire { schedule: "0 3 * * *|main".into(), fire_time: Timestamp(millis) };
        assert!(test.store.create_triggered_run(&schedule, &at(1_000)).await?.is_some());
        assert!(test.store.create_triggered_run(&schedule, &at(1_000)).await?.is_none());
        assert!(test.store.create_triggered_run(&schedule, &at(500)).await?.is_none());
        assert!(test.store.create_triggered_run(&schedule, &at(2_000)).await?.is_some());
        let fires = test.store.schedule_fires(app.id).await?;
        assert_eq!(fires[0].last_fired_at, Timestamp(2_000));
        let runs = test.store.list_runs(&slipway_store::RunFilter { pipeline: Some(app.id), ..Default::default() }).await?;
        assert_eq!(runs.len(), 4);
        Ok(())
    }
}

conformance! {
    /// A schedule fire can be recorded without a run, and then no run is created for that time.
    async fn schedule_fires_are_recorded_without_runs(test: TestStore) {
        let app = test.pipeline("app").await?;
        assert!(test.store.record_schedule_fire(app.id, "nightly", Timestamp(1_000)).await?);
        assert!(!test.store.record_schedule_fire(app.id, "nightly", Timestamp(1_000)).await?);
        assert!(!test.store.record_schedule_fire(app.id, "nightly", Timestamp(500)).await?);
        let guard = TriggerGuard::ScheduleFire { schedule: "nightly".into(), fire_time: Timestamp(1_000) };
        let run = NewRun::new(app.id, "1", TriggerKind::Schedule);
        assert!(test.store.create_triggered_run(&run, &guard).await?.is_none());
        assert!(test.store.record_schedule_fire(app.id, "nightly", Timestamp(2_000)).await?);
        assert_eq!(test.store.schedule_fires(app.id).await?[0].last_fired_at, Timestamp(2_000));
        let unknown = slipway_store::PipelineId(9999);
        assert!(test.store.record_schedule_fire(unknown, "x", Timestamp(1)).await.err().is_some_and(|e| e.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// Webhook secrets are kept encrypted per pipeline, replaced, removed, and go with the pipeline.
    async fn webhook_secrets_are_kept_per_pipeline(test: TestStore) {
        let app = test.pipeline("app").await?;
        let lib = test.pipeline("lib").await?;
        assert_eq!(test.store.webhook_secret(app.id).await?, None);
        test.store.set_webhook_secret(app.id, Some("s3cret")).await?;
        test.store.set_webhook_secret(lib.id, Some("other")).await?;
        assert_eq!(test.store.webhook_secret(app.id).await?.as_deref(), Some("s3cret"));
        test.store.set_webhook_secret(app.id, Some("rotated")).await?;
        assert_eq!(test.store.webhook_secret(app.id).await?.as_deref(), Some("rotated"));
        assert!(test.store.set_webhook_secret(app.id, Some("")).await.err().is_some_and(|e| matches!(e, StoreError::Invalid { .. })));
        let reopened = test.reopen().await?;
        assert_eq!(reopened.webhook_secret(app.id).await?.as_deref(), Some("rotated"));
        test.store.set_webhook_secret(app.id, None).await?;
        assert_eq!(test.store.webhook_secret(app.id).await?, None);
        test.store.delete_pipeline(lib.id).await?;
        assert!(test.store.webhook_secret(lib.id).await?.is_none());
        assert!(test.store.set_webhook_secret(lib.id, Some("x")).await.err().is_some_and(|e| e.is_not_found()));
        Ok(())
    }
}
