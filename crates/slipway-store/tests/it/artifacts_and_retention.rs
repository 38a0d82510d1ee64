//! Artifact records and retention: what is deleted, what must stay, which blobs are freed.

use std::time::Duration;

use slipway_events::TaskResult;
use slipway_store::{NewArtifact, NewRun, Pipeline, RetentionPolicy, Run, RunId, TriggerKind};

use crate::support::{TestStore, conformance};

const DAY_MS: i64 = 86_400_000;

fn artifact(run: RunId, name: &str, blobs: &[&str]) -> NewArtifact {
    NewArtifact {
        run,
        job: None,
        name: name.to_owned(),
        digest: format!("sha256:manifest-of-{name}-{run}"),
        manifest: serde_json::json!({"name": name, "files": blobs.iter().map(|blob| serde_json::json!({"path": blob, "digest": blob})).collect::<Vec<_>>()}),
        blobs: blobs.iter().map(|blob| (*blob).to_owned()).collect(),
        files: i64::try_from(blobs.len()).unwrap_or_default(),
        bytes: 100,
        provenance: None,
    }
}

/// A completed run of `pipeline` on `branch` with `result`, finished now.
async fn finished(
    test: &TestStore,
    pipeline: &Pipeline,
    branch: &str,
    result: TaskResult,
) -> Result<Run, slipway_store::StoreError> {
    let mut new = NewRun::new(pipeline.id, "n", TriggerKind::Push);
    new.branch = Some(branch.to_owned());
    let run = test.store.create_run(&new).await?;
    test.store.finish_run(run.id, result).await
}

fn ids(runs: &[RunId]) -> Vec<i64> {
    let mut ids: Vec<i64> = runs.iter().map(|run| run.get()).collect();
    ids.sort_unstable();
    ids
}

conformance! {
    /// Artifacts are recorded per run by name (again: replaced) with the blobs they reference.
    async fn artifacts_are_recorded_with_their_blobs(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let jobs = test.store.add_jobs(run.id, &[crate::support::job("compile", true)]).await?;
        let mut first = artifact(run.id, "drop", &["sha256:aa", "sha256:bb"]);
        first.job = Some(jobs[0].id);
        let recorded = test.store.record_artifact(&first).await?;
        assert_eq!((recorded.job, recorded.files, recorded.manifest.clone()), (Some(jobs[0].id), 2, first.manifest.clone()));
        assert!(test.store.is_blob_referenced("sha256:aa").await?);
        let replaced = test.store.record_artifact(&artifact(run.id, "drop", &["sha256:bb", "sha256:cc", "sha256:cc"])).await?;
        assert_eq!(replaced.id, recorded.id);
        assert!(!test.store.is_blob_referenced("sha256:aa").await?);
        assert!(test.store.is_blob_referenced("sha256:cc").await?);
        test.store.record_artifact(&artifact(run.id, "logs", &[])).await?;
        let names: Vec<String> = test.store.artifacts_of_run(run.id).await?.into_iter().map(|artifact| artifact.name).collect();
        assert_eq!(names, ["drop", "logs"]);
        let other = test.run(&app).await?;
        let mut wrong_job = artifact(other.id, "x", &[]);
        wrong_job.job = Some(jobs[0].id);
        assert!(test.store.record_artifact(&wrong_job).await.err().is_some_and(|error| error.is_not_found()));
        assert!(test.store.delete_run(run.id).await.is_err(), "a run that has not completed was deleted");
        test.store.finish_run(run.id, TaskResult::Succeeded).await?;
        let report = test.store.delete_run(run.id).await?;
        assert_eq!(report.unreferenced_blobs, ["sha256:bb", "sha256:cc"]);
        assert!(test.store.artifacts_of_run(run.id).await?.is_empty());
        Ok(())
    }
}

conformance! {
    /// An artifact's signed provenance is recorded with it, read back as it was, and replaced (or
    /// dropped) with the artifact.
    async fn an_artifacts_provenance_is_kept_with_it(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let envelope = serde_json::json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": [{"keyid": "k1", "sig": "c2ln"}]});
        let mut signed = artifact(run.id, "drop", &["sha256:aa"]);
        signed.provenance = Some(envelope.clone());
        assert_eq!(test.store.record_artifact(&signed).await?.provenance, Some(envelope.clone()));
        let listed = test.store.artifacts_of_run(run.id).await?;
        assert_eq!(listed[0].provenance, Some(envelope));
        let unsigned = test.store.record_artifact(&artifact(run.id, "drop", &["sha256:bb"])).await?;
        assert_eq!(unsigned.provenance, None, "a replaced artifact kept the old one's provenance");
        Ok(())
    }
}

conformance! {
    /// Keeping the newest N runs never deletes runs marked keep, the newest successful run of each
    /// branch, runs that are not finished, or runs a kept run needs (re-run of, upstream of), and
    /// frees only blobs that no remaining artifact uses.
    async fn retention_by_count_keeps_what_retained_runs_need(test: TestStore) {
        let app = test.pipeline_with("app", RetentionPolicy { days: None, runs: Some(2) }).await?;
        let downstream = test.pipeline("downstream").await?;
        let release_good = finished(&test, &app, "release", TaskResult::Succeeded).await?;
        let kept = finished(&test, &app, "main", TaskResult::Failed).await?;
        test.store.set_run_keep(kept.id, true).await?;
        let upstream = finished(&test, &app, "main", TaskResult::Failed).await?;
        let plain_old = finished(&test, &app, "main", TaskResult::Failed).await?;
        let main_good = finished(&test, &app, "main", TaskResult::Succeeded).await?;
        let retried = finished(&test, &app, "main", TaskResult::Failed).await?;
        let running = test.store.create_run(&NewRun::new(app.id, "r", TriggerKind::Manual)).await?;
        let mut rerun = NewRun::new(app.id, "rerun", TriggerKind::Manual);
        rerun.retry_of = Some(retried.id);
        rerun.branch = Some("main".into());
        let rerun = test.store.create_run(&rerun).await?;
        test.store.finish_run(rerun.id, TaskResult::Failed).await?;
        let newest = finished(&test, &app, "main", TaskResult::Failed).await?;
        let mut consumer = NewRun::new(downstream.id, "d", TriggerKind::PipelineCompletion);
        consumer.upstream_run = Some(upstream.id);
        test.store.create_run(&consumer).await?;
        test.store.record_artifact(&artifact(plain_old.id, "drop", &["sha256:only-old", "sha256:shared"])).await?;
        test.store.record_artifact(&artifact(newest.id, "drop", &["sha256:shared"])).await?;
        let report = test.store.apply_retention().await?;
        assert_eq!(ids(&report.deleted_runs), ids(&[plain_old.id]));
        assert_eq!(report.unreferenced_blobs, ["sha256:only-old"]);
        for survivor in [release_good.id, kept.id, upstream.id, main_good.id, retried.id, running.id, rerun.id, newest.id] {
            test.store.run(survivor).await?;
        }
        // Nothing more goes on a second pass; once the needing runs go, what they needed can go.
        assert!(test.store.apply_retention().await?.deleted_runs.is_empty());
        test.store.set_run_keep(kept.id, false).await?;
        let report = test.store.apply_retention().await?;
        assert_eq!(ids(&report.deleted_runs), ids(&[kept.id]));
        Ok(())
    }
}

conformance! {
    /// Keeping runs for N days deletes older completed runs only; with both limits set a run must
    /// be beyond both; without limits nothing is deleted.
    async fn retention_by_age_and_both_limits(test: TestStore) {
        let by_age = test.pipeline_with("by-age", RetentionPolicy { days: Some(7), runs: None }).await?;
        let both = test.pipeline_with("both", RetentionPolicy { days: Some(7), runs: Some(3) }).await?;
        let forever = test.pipeline("forever").await?;
        let mut old_by_age = Vec::new();
        let mut both_runs = Vec::new();
        for _ in 0..4 {
            old_by_age.push(finished(&test, &by_age, "main", TaskResult::Failed).await?.id);
            both_runs.push(finished(&test, &both, "main", TaskResult::Failed).await?.id);
            finished(&test, &forever, "main", TaskResult::Failed).await?;
        }
        test.advance(8 * DAY_MS);
        let recent = finished(&test, &by_age, "main", TaskResult::Failed).await?;
        assert!(test.store.apply_retention().await?.deleted_runs.iter().all(|run| old_by_age.contains(run) || both_runs.contains(run)));
        let remaining = |pipeline| slipway_store::RunFilter { pipeline: Some(pipeline), ..Default::default() };
        assert_eq!(test.store.list_runs(&remaining(by_age.id)).await?.iter().map(|run| run.id).collect::<Vec<_>>(), vec![recent.id]);
        // The newest three of `both` stay although they are old.
        assert_eq!(ids(&test.store.list_runs(&remaining(both.id)).await?.iter().map(|run| run.id).collect::<Vec<_>>()), ids(&both_runs[1..]));
        assert_eq!(test.store.list_runs(&remaining(forever.id)).await?.len(), 4);
        test.advance(i64::try_from(Duration::from_secs(1).as_millis())?);
        assert!(test.store.apply_retention().await?.deleted_runs.is_empty());
        let report = test.store.delete_pipeline(forever.id).await?;
        assert_eq!(report.deleted_runs.len(), 4);
        Ok(())
    }
}
