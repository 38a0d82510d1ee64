//! The audit log's hash chain: computed as entries are recorded, one chain under concurrent
//! writers, entries from before the chain chained once, and rows edited past the store found.

use slipway_events::audit_chain::{self, BreakKind, ChainReport, GENESIS};
use slipway_store::{AuditEntry, NewAuditEntry, Store};
use sqlx::Connection;

use crate::support::{Backend, TestStore, conformance};

/// Runs a statement on the store's database past the store (as someone with the file would).
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

fn entry(action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: "admin".to_owned(),
        action: action.to_owned(),
        target: Some(target.to_owned()),
        details: serde_json::json!({ "role": "reader", "nested": { "b": 1, "a": [1.5, null] } }),
    }
}

/// The whole log, oldest first, read in pages of 3.
async fn whole_log(store: &Store) -> Result<Vec<AuditEntry>, slipway_store::StoreError> {
    let mut all = Vec::new();
    loop {
        let page = store.audit_after(all.last().map(|entry: &AuditEntry| entry.id), 3).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

async fn verify(store: &Store) -> Result<ChainReport, slipway_store::StoreError> {
    let entries: Vec<_> = whole_log(store).await?.iter().map(AuditEntry::chained).collect();
    Ok(audit_chain::verify(&entries))
}

conformance! {
    /// Each entry carries the hash of the one before it (the genesis for the first) and its own,
    /// over its fields as they read back; pages read oldest first.
    async fn entries_are_chained_as_they_are_recorded(test: TestStore) {
        let mut recorded = Vec::new();
        for (index, target) in ["ann", "bob", "cy", "dee", "eve"].into_iter().enumerate() {
            test.advance(1_000);
            recorded.push(test.store.record_audit(&entry(if index % 2 == 0 { "user.create" } else { "token.create" }, target)).await?);
        }
        assert_eq!(recorded[0].prev_hash.as_deref(), Some(GENESIS));
        let read = whole_log(&test.store).await?;
        assert_eq!(read, recorded);
        for pair in read.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
            assert!(pair[0].id < pair[1].id);
        }
        for entry in &read {
            assert_eq!(entry.hash.clone(), Some(entry.chained().computed_hash()));
        }
        let report = verify(&test.store).await?;
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 5);
        assert_eq!(report.last, Some((read[4].id.get(), read[4].hash.clone().unwrap_or_default())));
        assert_eq!(test.store.audit_after(Some(read[3].id), 10).await?, read[4..].to_vec());
        // The newest-first listing carries the hashes too.
        assert_eq!(test.store.list_audit(None, 1).await?, read[4..].to_vec());
        Ok(())
    }
}

conformance! {
    /// Writers recording at once make one chain, never a fork.
    async fn concurrent_writers_make_one_chain(test: TestStore) {
        let mut writers = Vec::new();
        for writer in 0..4 {
            let store = test.store.clone();
            writers.push(tokio::spawn(async move {
                for index in 0..8 {
                    store.record_audit(&entry("variable.set", &format!("w{writer}-{index}"))).await?;
                }
                Ok::<_, slipway_store::StoreError>(())
            }));
        }
        for writer in writers {
            writer.await??;
        }
        let log = whole_log(&test.store).await?;
        assert_eq!(log.len(), 32);
        let mut prev_hashes: Vec<_> = log.iter().map(|entry| entry.prev_hash.clone()).collect();
        prev_hashes.sort();
        prev_hashes.dedup();
        assert_eq!(prev_hashes.len(), 32, "two entries follow the same one: the chain forked");
        let report = verify(&test.store).await?;
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 32);
        Ok(())
    }
}

conformance! {
    /// A row changed past the store is found at its entry; a row deleted, at the next one; an
    /// entry whose hash was cleared is not chained again (it stays a change).
    async fn rows_edited_past_the_store_are_found(test: TestStore) {
        for target in ["ann", "bob", "cy", "dee"] {
            test.store.record_audit(&entry("user.create", target)).await?;
        }
        let log = whole_log(&test.store).await?;
        let (first, second, third, fourth) = (log[0].id, log[1].id, log[2].id, log[3].id);
        execute(&test, &format!("UPDATE audit_log SET details = '{{\"role\":\"admin\"}}' WHERE id = {second}")).await?;
        let found = verify(&test.store).await?.first_break.ok_or("the change was not found")?;
        assert_eq!((found.kind, found.id), (BreakKind::Changed, second.get()));
        assert_eq!(Some(found.expected.clone()), log[1].hash);

        execute(&test, &format!("DELETE FROM audit_log WHERE id = {second}")).await?;
        let found = verify(&test.store).await?.first_break.ok_or("the deletion was not found")?;
        assert_eq!((found.kind, found.id, found.previous_id), (BreakKind::Deleted, third.get(), Some(first.get())));
        assert_eq!(Some(found.found.clone()), log[1].hash);

        execute(&test, &format!("UPDATE audit_log SET hash = NULL, actor = 'mallory' WHERE id = {fourth}")).await?;
        assert_eq!(test.store.chain_audit().await?, 0);
        test.store.record_audit(&entry("user.create", "fay")).await?;
        let log = whole_log(&test.store).await?;
        assert_eq!(log[2].hash, None);
        assert_eq!(log[3].prev_hash.as_deref(), Some(""));
        Ok(())
    }
}

conformance! {
    /// Entries recorded before the chain began (no hashes) are chained in id order from the
    /// genesis, once: by the next entry recorded, or when asked.
    async fn entries_from_before_the_chain_are_chained_once(test: TestStore) {
        execute(
            &test,
            "INSERT INTO audit_log (at, actor, action, target, details) VALUES \
             (1, 'admin', 'user.create', 'ann', '{\"role\":\"reader\"}'), \
             (2, 'admin', 'token.create', NULL, '{}'), \
             (3, 'system', 'run.trigger', 'app', '{\"b\":2,\"a\":1}')",
        )
        .await?;
        let before = whole_log(&test.store).await?;
        assert!(before.iter().all(|entry| entry.hash.is_none() && entry.prev_hash.is_none()));
        assert_eq!(test.store.chain_audit().await?, 3);
        assert_eq!(test.store.chain_audit().await?, 0);
        let chained = whole_log(&test.store).await?;
        assert_eq!(chained[0].prev_hash.as_deref(), Some(GENESIS));
        test.store.record_audit(&entry("user.create", "bob")).await?;
        let report = verify(&test.store).await?;
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 4);
        Ok(())
    }
}

conformance! {
    /// Recording an entry chains those from before the chain first, so that the new entry
    /// follows the last of them.
    async fn recording_chains_the_entries_from_before(test: TestStore) {
        execute(&test, "INSERT INTO audit_log (at, actor, action, target, details) VALUES (1, 'admin', 'user.create', 'ann', '{}')").await?;
        let recorded = test.store.record_audit(&entry("user.create", "bob")).await?;
        let log = whole_log(&test.store).await?;
        assert_eq!(log.len(), 2);
        assert_eq!(recorded.prev_hash, log[0].hash);
        assert!(verify(&test.store).await?.intact());
        Ok(())
    }
}
