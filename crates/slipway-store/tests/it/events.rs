//! Run events, test results and coverage.

use slipway_events::{Coverage, CoverageCounter, Event, LogKind, Stream, TaskResult, TestCase, TestOutcome, TestRun};

use crate::support::conformance;

fn log(text: &str) -> Event {
    Event::Log {
        time: 1,
        job: Some("Build.Compile".into()),
        step: Some(1),
        stream: Stream::Stdout,
        kind: LogKind::Output,
        text: text.into(),
    }
}

conformance! {
    /// Events are kept in order, numbered from 1 without gaps even when appended concurrently, and
    /// read from any point.
    async fn events_are_stored_in_order(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let started = Event::RunStarted { time: 0, version: 1, run_id: 1, build_number: "1".into(), pipeline: "app".into() };
        assert_eq!(test.store.append_events(run.id, std::slice::from_ref(&started)).await?, 1);
        let mut writers = Vec::new();
        for writer in 0..4 {
            let store = test.store.clone();
            writers.push(tokio::spawn(async move {
                for batch in 0..5 {
                    store.append_events(run.id, &[log(&format!("{writer}.{batch}.a")), log(&format!("{writer}.{batch}.b"))]).await?;
                }
                Ok::<_, slipway_store::StoreError>(())
            }));
        }
        for writer in writers {
            writer.await??;
        }
        let finished = Event::RunFinished { time: 9, result: TaskResult::Succeeded, duration_ms: 9 };
        assert_eq!(test.store.append_events(run.id, std::slice::from_ref(&finished)).await?, 42);
        let all = test.store.read_events(run.id, 0, 1000).await?;
        assert_eq!(all.iter().map(|event| event.sequence).collect::<Vec<_>>(), (1..=42).collect::<Vec<_>>());
        assert_eq!(all[0].event()?, started);
        assert_eq!(all[41].event()?, finished);
        // The two events of one append stay together.
        for pair in all[1..41].chunks(2) {
            let texts: Vec<String> = pair.iter().filter_map(|event| match event.event() {
                Ok(Event::Log { text, .. }) => Some(text),
                _ => None,
            }).collect();
            assert_eq!(texts[0].trim_end_matches(".a"), texts[1].trim_end_matches(".b"));
        }
        let tail = test.store.read_events(run.id, 40, 10).await?;
        assert_eq!(tail.iter().map(|event| event.sequence).collect::<Vec<_>>(), vec![41, 42]);
        assert_eq!(test.store.read_events(run.id, 5, 3).await?.len(), 3);
        assert!(test.store.append_events(slipway_store::RunId(777_777), &[finished]).await.err().is_some_and(|error| error.is_not_found()));
        Ok(())
    }
}

conformance! {
    /// Test results and coverage summaries are kept per run, with totals.
    async fn test_results_and_coverage_are_kept(test: TestStore) {
        let app = test.pipeline("app").await?;
        let run = test.run(&app).await?;
        let results = TestRun {
            title: "Unit tests".into(),
            format: "JUnit".into(),
            files: vec!["/src/TEST-unit.xml".into()],
            total: 3, passed: 2, failed: 1, skipped: 0, duration_ms: 400,
            tests: vec![TestCase { name: "divides".into(), suite: Some("calculator".into()), outcome: TestOutcome::Failed, duration_ms: 200, message: Some("expected an error".into()), stack_trace: None }],
        };
        let more = TestRun { title: "Integration".into(), total: 5, passed: 4, failed: 0, skipped: 1, tests: Vec::new(), ..results.clone() };
        test.store.add_test_run(run.id, "Build.Test", 4, &results).await?;
        test.store.add_test_run(run.id, "Build.Test", 5, &more).await?;
        let stored = test.store.test_runs(run.id).await?;
        assert_eq!((stored.len(), stored[0].results.clone(), stored[1].step), (2, results, 5));
        let totals = test.store.test_totals(run.id).await?;
        assert_eq!((totals.total, totals.passed, totals.failed, totals.skipped), (8, 6, 1, 1));
        let coverage = Coverage {
            format: "Cobertura".into(),
            file: "/src/coverage.xml".into(),
            lines: Some(CoverageCounter { covered: 1234, total: 1520 }),
            branches: None,
            other: Vec::new(),
            packages: vec![("calculator".into(), CoverageCounter { covered: 1234, total: 1520 })],
        };
        test.store.add_coverage(run.id, "Build.Test", 6, &coverage).await?;
        assert_eq!(test.store.coverage_summaries(run.id).await?[0].coverage, coverage);
        let other = test.run(&app).await?;
        assert_eq!(test.store.test_totals(other.id).await?, slipway_store::TestTotals::default());
        Ok(())
    }
}
