//! Migrations, reopening, and what survives a restart.

use std::time::Duration;

use slipway_events::TaskResult;
use slipway_store::{JobStatus, Reclaim, ReclaimAction, Store, StoreError, UserRole};
use sqlx::Connection;

use crate::queue::request;
use crate::support::{Backend, TestStore, conformance, job};

/// Runs a statement on the store's database past the store.
async fn execute(test: &TestStore, sql: &str) -> Result<(), sqlx::Error> {
    match test.backend {
        Backend::Sqlite => {
            let path = std::path::Path::new(&test.location).join(slipway_store::SQLITE_FILE_NAME);
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::raw_sql(sql).execute(&mut connection).await?;
            connection.close().await
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&test.location).await?;
            sqlx::raw_sql(sql).execute(&mut connection).await?;
            connection.close().await
        }
    }
}

conformance! {
    /// Opening an up-to-date store again, even several at once, changes nothing; a migration
    /// edited after it was applied, or a schema from a newer Slipway, is refused.
    async fn migrations_applied_twice_are_harmless(test: TestStore) {
        let app = test.pipeline("app").await?;
        assert_eq!(test.store.schema_version().await?, slipway_store::SCHEMA_VERSION);
        if test.backend == Backend::Sqlite {
            let path = std::path::Path::new(&test.location).join(slipway_store::SQLITE_FILE_NAME);
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut connection).await?;
            assert_eq!(mode, "wal", "the SQLite store is not in WAL mode");
            connection.close().await?;
        }
        let mut opens = Vec::new();
        for _ in 0..3 {
            let (location, options) = (test.location.clone(), test.options());
            opens.push(tokio::spawn(async move { Store::open(&location, options).await }));
        }
        for open in opens {
            let store = open.await??;
            assert_eq!(store.schema_version().await?, slipway_store::SCHEMA_VERSION);
            assert_eq!(store.pipeline(app.id).await?, app);
            store.close().await;
        }
        execute(&test, "UPDATE slipway_migrations SET checksum = 'edited' WHERE version = 1").await?;
        assert!(matches!(test.reopen().await, Err(StoreError::Migration { version: 1, .. })));
        execute(&test, "INSERT INTO slipway_migrations (version, description, checksum, applied_at) VALUES (99, 'future', 'x', 0)").await?;
        let refused = test.reopen().await;
        assert!(matches!(&refused, Err(StoreError::Migration { version: 99, reason, .. }) if reason.contains("newer")), "{refused:?}");
        Ok(())
    }
}

conformance! {
    /// A store dropped without closing and opened again has everything that was committed, and its
    /// counters and ids go on where they were.
    async fn a_reopened_store_keeps_everything(test: TestStore) {
        let first = test.reopen().await?;
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        first.add_jobs(run.id, &[job("compile", true), job("test", true)]).await?;
        let lease = first.lease_job(&request("local:0")).await?.ok_or("no job")?;
        first.append_log_chunk(&lease.token, 0, &["before the crash".into()]).await?;
        assert_eq!(first.next_revision(app.id, "r").await?, 1);
        let alice = first.create_user("alice", UserRole::Admin).await?;
        let token = first.create_access_token(alice.id, "cli", None).await?;
        let group = first.create_variable_group("g", "").await?;
        first.set_group_variable(group.id, "SECRET", "kept", true).await?;
        drop(first);
        let reopened = test.reopen().await?;
        assert_eq!(reopened.run(run.id).await?.id, run.id);
        assert_eq!(reopened.read_log(lease.job.id, 0, 10).await?.lines, ["before the crash"]);
        assert_eq!(reopened.next_revision(app.id, "r").await?, 2);
        assert!(reopened.authenticate_token(&token.secret).await?.is_some());
        assert_eq!(reopened.group_variable_values("g").await?[0].value, "kept");
        // The lease is still held: the job goes on, or a restarted server reclaims its own slots.
        reopened.renew_lease(&lease.token, Duration::from_secs(30)).await?;
        reopened.append_log_chunk(&lease.token, 1, &["after the restart".into()]).await?;
        let reclaimed = reopened.reclaim_leases(&Reclaim::HeldBy("local:".into()), |_| {
            ReclaimAction::Fail("the server stopped while the job ran".into())
        }).await?;
        assert_eq!(reclaimed.len(), 1);
        let queued = reopened.lease_job(&request("local:1")).await?.ok_or("the queued job was lost")?;
        assert_eq!(queued.job.job, "test");
        let next_run = test.run(&app).await?;
        assert!(next_run.id > run.id);
        reopened.close().await;
        test.store.close().await;
        let last = test.reopen().await?;
        let jobs = last.jobs_of_run(run.id).await?;
        assert_eq!(jobs.iter().map(|job| (job.status, job.result)).collect::<Vec<_>>(), vec![
            (JobStatus::Completed, Some(TaskResult::Failed)),
            (JobStatus::Running, None),
        ]);
        assert_eq!(last.read_log(lease.job.id, 0, 10).await?.lines, ["before the crash", "after the restart"]);
        Ok(())
    }
}
