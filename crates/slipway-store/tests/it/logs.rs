//! Logs: ordered, idempotent chunks; reading from an offset.

use slipway_events::TaskResult;
use slipway_store::{ChunkOutcome, StoreError};

use crate::queue::request;
use crate::support::{conformance, job};

fn lines(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|index| format!("{prefix} {index}")).collect()
}

conformance! {
    /// A chunk sent again (a retried upload) is stored once; a gap or a changed chunk is refused.
    async fn log_chunks_are_idempotent_and_ordered(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true)]).await?;
        let lease = test.store.lease_job(&request("agent")).await?.ok_or("no job")?;
        let first = lines("a", 3);
        assert_eq!(test.store.append_log_chunk(&lease.token, 0, &first).await?, ChunkOutcome::Stored { first_line: 0 });
        assert_eq!(test.store.append_log_chunk(&lease.token, 0, &first).await?, ChunkOutcome::AlreadyStored);
        assert!(matches!(
            test.store.append_log_chunk(&lease.token, 2, &lines("c", 1)).await,
            Err(StoreError::LogChunkOutOfOrder { sequence: 2, expected: 1, .. })
        ));
        assert!(matches!(
            test.store.append_log_chunk(&lease.token, 0, &lines("x", 3)).await,
            Err(StoreError::LogChunkMismatch { sequence: 0, .. })
        ));
        // The same chunk sent by several retries at once is still stored once.
        let second = lines("b", 2);
        let mut uploads = Vec::new();
        for _ in 0..5 {
            let (store, token, second) = (test.store.clone(), lease.token.clone(), second.clone());
            uploads.push(tokio::spawn(async move { store.append_log_chunk(&token, 1, &second).await }));
        }
        let mut stored = 0;
        for upload in uploads {
            if let ChunkOutcome::Stored { first_line } = upload.await?? {
                assert_eq!(first_line, 3);
                stored += 1;
            }
        }
        assert_eq!(stored, 1);
        let server_line = test.store.append_log_lines(lease.job.id, &["##[section]server note".into()]).await?;
        assert_eq!(server_line, 5);
        test.store.append_log_chunk(&lease.token, 2, &[]).await?;
        test.store.append_log_chunk(&lease.token, 3, &lines("d", 1)).await?;
        let whole = test.store.read_log(lease.job.id, 0, 1000).await?;
        assert_eq!(whole.lines, ["a 0", "a 1", "a 2", "b 0", "b 1", "##[section]server note", "d 0"]);
        assert_eq!(whole.next_line, 7);
        assert!(!whole.job_completed);
        test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        // A retry that arrives after completion is still recognised.
        assert_eq!(test.store.append_log_chunk(&lease.token, 3, &lines("d", 1)).await?, ChunkOutcome::AlreadyStored);
        assert!(test.store.append_log_chunk(&lease.token, 4, &lines("e", 1)).await.err().is_some_and(|error| error.is_lease_lost()));
        Ok(())
    }
}

conformance! {
    /// A follower reads from any line onwards, page by page, and learns when the log is complete.
    async fn logs_are_read_from_an_offset(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true)]).await?;
        let lease = test.store.lease_job(&request("agent")).await?.ok_or("no job")?;
        let mut expected = Vec::new();
        for sequence in 0..300 {
            let chunk = lines(&format!("chunk {sequence}"), usize::try_from(sequence % 4)?);
            expected.extend(chunk.iter().cloned());
            test.store.append_log_chunk(&lease.token, sequence, &chunk).await?;
        }
        let mut followed = Vec::new();
        let mut next = 0;
        loop {
            let slice = test.store.read_log(lease.job.id, next, 7).await?;
            assert_eq!(slice.first_line, next);
            assert!(slice.lines.len() <= 7);
            if slice.lines.is_empty() {
                assert!(!slice.job_completed);
                break;
            }
            followed.extend(slice.lines);
            next = slice.next_line;
        }
        assert_eq!(followed, expected);
        let middle = test.store.read_log(lease.job.id, 101, 3).await?;
        assert_eq!(middle.lines, expected[101..104].to_vec());
        assert_eq!(middle.next_line, 104);
        let past_the_end = test.store.read_log(lease.job.id, 10_000, 10).await?;
        assert!(past_the_end.lines.is_empty());
        test.store.complete_job(&lease.token, TaskResult::Succeeded, None).await?;
        let end = test.store.read_log(lease.job.id, next, 10).await?;
        assert!(end.lines.is_empty() && end.job_completed);
        assert!(test.store.read_log(slipway_store::JobId(999_999), 0, 10).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// The whole log is read across pages: one line per `\n`, nothing lost or repeated at a page's edge.
    async fn the_whole_log_is_read_across_pages(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        test.store.add_jobs(run.id, &[job("compile", true)]).await?;
        let lease = test.store.lease_job(&request("agent")).await?.ok_or("no job")?;
        assert_eq!(test.store.read_whole_log(&lease.job).await?, "");
        let count = usize::try_from(slipway_store::WHOLE_LOG_PAGE)? * 2 + 3;
        let expected = lines("line", count);
        test.store.append_log_lines(lease.job.id, &expected).await?;
        let whole = test.store.read_whole_log(&lease.job).await?;
        assert_eq!(whole.lines().collect::<Vec<_>>(), expected);
        assert!(whole.ends_with("line 20002\n"));
        assert!(test.store.read_log_lines(slipway_store::JobId(999_999), 0, None).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}
