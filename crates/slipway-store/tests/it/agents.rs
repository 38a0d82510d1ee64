//! What agents need of the store: jobs queued with their sealed specs, chunks of events stored
//! once and in one go, pool settings.

use std::collections::BTreeMap;

use slipway_events::{Event, LogKind, Stream, TaskResult, TestRun};
use slipway_store::{AgentLostAction, ChunkOutcome, JobChunk, PoolSettings, Step, StepStatus, StoreError, Timestamp};

use crate::queue::request;
use crate::support::{Backend, TestStore, conformance, job};

async fn raw_specs(test: &TestStore) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    use sqlx::Connection as _;
    let sql = "SELECT sealed FROM job_specs ORDER BY job_id";
    match test.backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(&test.location).join(slipway_store::SQLITE_FILE_NAME);
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query_scalar(sql).fetch_all(&mut connection).await
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&test.location).await?;
            sqlx::query_scalar(sql).fetch_all(&mut connection).await
        }
    }
}

conformance! {
    /// Ready jobs are queued together with their specs, which are stored sealed and read back
    /// whole; a pending job gets its spec when it is queued.
    async fn jobs_are_queued_with_their_sealed_specs(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let secret_spec = b"{\"variables\":[{\"name\":\"token\",\"value\":\"hunter2\",\"secret\":true}]}".to_vec();
        let added = test.store.add_ready_jobs(run.id, &[(job("compile", false), secret_spec.clone())]).await?;
        assert_eq!(added[0].status, slipway_store::JobStatus::Queued);
        assert_eq!(test.store.job_spec(added[0].id).await?, Some(secret_spec.clone()));
        let raw = raw_specs(&test).await?;
        assert_eq!(raw.len(), 1);
        assert!(!raw[0].windows(7).any(|window| window == b"hunter2"), "the spec is stored in clear");

        let pending = test.store.add_jobs(run.id, &[job("test", false)]).await?;
        assert_eq!(test.store.job_spec(pending[0].id).await?, None);
        let queued = test.store.queue_job_with_spec(pending[0].id, b"{}").await?;
        assert_eq!(queued.status, slipway_store::JobStatus::Queued);
        assert_eq!(test.store.job_spec(pending[0].id).await?, Some(b"{}".to_vec()));

        let lease = test.store.lease_job(&request("agent:a")).await?.ok_or("no job")?;
        assert_eq!(test.store.running_jobs().await?.iter().map(|job| job.id).collect::<Vec<_>>(), vec![lease.job.id]);
        assert!(matches!(
            test.store.queue_job_with_spec(lease.job.id, b"{}").await,
            Err(StoreError::InvalidState { .. })
        ));
        Ok(())
    }
}

fn chunk(sequence: i64, text: &str) -> JobChunk {
    JobChunk {
        sequence,
        lines: vec![text.to_owned()],
        events: vec![Event::Log {
            time: 5,
            job: Some("Build.compile".into()),
            step: Some(1),
            stream: Stream::Stdout,
            kind: LogKind::Output,
            text: text.to_owned(),
        }],
        steps: vec![Step {
            number: 1,
            name: Some("make".into()),
            display_name: "Make".into(),
            status: StepStatus::Running,
            result: None,
            exit_code: None,
            attempts: 1,
            message: None,
            started_at: Some(Timestamp(1)),
            finished_at: None,
        }],
        test_runs: Vec::new(),
        coverage: Vec::new(),
    }
}

conformance! {
    /// A chunk's lines, events, steps and test results are stored together, once, in order.
    async fn job_chunks_are_stored_once_and_whole(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true)]).await?;
        let lease = test.store.lease_job(&request("agent:a")).await?.ok_or("no job")?;
        let first = chunk(0, "one");
        assert_eq!(test.store.append_job_chunk(&lease.token, &first).await?, ChunkOutcome::Stored { first_line: 0 });
        assert_eq!(test.store.append_job_chunk(&lease.token, &first).await?, ChunkOutcome::AlreadyStored);
        assert!(matches!(
            test.store.append_job_chunk(&lease.token, &chunk(2, "three")).await,
            Err(StoreError::LogChunkOutOfOrder { sequence: 2, expected: 1, .. })
        ));
        let mut second = chunk(1, "two");
        second.steps[0].name = None;
        second.steps[0].status = StepStatus::Completed;
        second.steps[0].result = Some(TaskResult::Succeeded);
        second.test_runs = vec![(1, TestRun {
            title: "unit".into(),
            format: "JUnit".into(),
            files: Vec::new(),
            total: 2,
            passed: 2,
            failed: 0,
            skipped: 0,
            duration_ms: 1,
            tests: Vec::new(),
        })];
        test.store.append_job_chunk(&lease.token, &second).await?;
        assert_eq!(test.store.read_log(lease.job.id, 0, 10).await?.lines, ["one", "two"]);
        assert_eq!(test.store.read_events(run.id, 0, 10).await?.len(), 2);
        let steps = test.store.steps_of_job(lease.job.id).await?;
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].status, StepStatus::Completed);
        assert_eq!(steps[0].name.as_deref(), Some("make"), "a later record without a name keeps it");
        assert_eq!(test.store.test_totals(run.id).await?.passed, 2);
        test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        assert_eq!(test.store.append_job_chunk(&lease.token, &second).await?, ChunkOutcome::AlreadyStored);
        assert_eq!(test.store.test_totals(run.id).await?.passed, 2, "a retried chunk adds nothing");
        assert!(test.store.append_job_chunk(&lease.token, &chunk(2, "late")).await.err().is_some_and(|error| error.is_lease_lost()));
        Ok(())
    }
}

conformance! {
    /// Pool settings are kept by name and replaced whole.
    async fn pool_settings_are_kept(test: TestStore) {
        assert!(test.store.list_pool_settings().await?.is_empty());
        let settings = PoolSettings {
            on_agent_lost: AgentLostAction::Requeue,
            vm_images: BTreeMap::from([("ubuntu-latest".to_owned(), vec!["Agent.OS -equals Linux".to_owned()])]),
        };
        test.store.set_pool_settings("linux", &settings).await?;
        test.store.set_pool_settings("default", &PoolSettings::default()).await?;
        let pools = test.store.list_pool_settings().await?;
        assert_eq!(pools.iter().map(|pool| pool.name.as_str()).collect::<Vec<_>>(), ["default", "linux"]);
        assert_eq!(pools[1].settings, settings);
        test.store.set_pool_settings("linux", &PoolSettings::default()).await?;
        assert_eq!(test.store.list_pool_settings().await?[1].settings, PoolSettings::default());
        Ok(())
    }
}
