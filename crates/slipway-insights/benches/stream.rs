//! The event stream's throughput with every consumer on, over a real SQLite store.
//!
//! It records `STREAM_RUNS` runs (default 2,000; each queued, started and finished, one in ten of
//! the default branch failing, so the work-item automation opens, bumps and resolves bugs),
//! which writes 3 changes per run in the runs' own transactions. Then it times, in the same run:
//!
//! - the baseline: appending the same number of ready-made events to the stream (the store's
//!   write cost alone);
//! - the feeder: changes turned into CDEvents (reading each run and pipeline back) and appended;
//! - the work-item automation reading every event and acting on the failures and recoveries;
//!
//! and prints events per second for each and the ratio to the baseline.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use slipway_events::TaskResult;
use slipway_insights::automation::Automation;
use slipway_insights::stream::{FeedConfig, Feeder};
use slipway_store::{
    EventOrigin, NewRun, NewStreamEvent, PipelineSettings, QueueStatus, RetentionPolicy, SecretKey, Store,
    StoreOptions, SystemClock, Timestamp, TriggerKind,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn bench() -> Result<(), Error> {
    let runs: usize = std::env::var("STREAM_RUNS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(2000);
    let directory = std::env::temp_dir().join(format!("slipway-stream-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory)?;
    let options = StoreOptions::new(SecretKey::from_bytes([7; 32])).with_clock(Arc::new(SystemClock));
    let store = Store::open(&directory.display().to_string(), options).await?;
    let pipeline = store
        .create_pipeline(&PipelineSettings {
            name: "shop".into(),
            repository: "/srv/git/shop".into(),
            yaml_path: "azure-pipelines.yml".into(),
            default_branch: "main".into(),
            retention: RetentionPolicy::default(),
            queue_status: QueueStatus::Enabled,
        })
        .await?;
    let recording = Instant::now();
    for index in 0..runs {
        let mut new = NewRun::new(pipeline.id, index.to_string(), TriggerKind::Manual);
        new.branch = Some("refs/heads/main".into());
        let run = store.create_run(&new).await?;
        store.start_run(run.id).await?;
        let result = if index % 10 == 3 { TaskResult::Failed } else { TaskResult::Succeeded };
        store.finish_run(run.id, result).await?;
    }
    let changes = runs * 3;
    println!("recorded {runs} runs ({changes} changes) in {:.1} s", recording.elapsed().as_secs_f64());

    // Baseline: the same number of events, ready-made, appended in batches of 500.
    let baseline_store = {
        let other = directory.join("baseline");
        std::fs::create_dir_all(&other)?;
        let options = StoreOptions::new(SecretKey::from_bytes([7; 32])).with_clock(Arc::new(SystemClock));
        Store::open(&other.display().to_string(), options).await?
    };
    let events: Vec<NewStreamEvent> = (0..changes)
        .map(|index| NewStreamEvent {
            event_id: format!("e{index}"),
            source: "/bench".into(),
            event_type: "dev.cdevents.pipelinerun.finished.0.3.0".into(),
            subject: format!("runs/{index}"),
            time: Timestamp(0),
            origin: EventOrigin::Api,
            pipeline: Some("shop".into()),
            environment: None,
            document: json!({ "id": format!("e{index}"), "data": { "subject": { "content": { "pipelineName": "shop" } } } }),
        })
        .collect();
    let started = Instant::now();
    for chunk in events.chunks(500) {
        baseline_store.append_stream_events(chunk, Some(("bench", 0))).await?;
    }
    let baseline = started.elapsed().as_secs_f64();

    let feeder =
        Feeder::new(store.clone(), FeedConfig { source: "/slipway".into(), base_url: "http://127.0.0.1:8080".into() });
    let started = Instant::now();
    let fed = feeder.feed().await?;
    let feeding = started.elapsed().as_secs_f64();
    let automation = Automation::new(store.clone());
    let started = Instant::now();
    let read = automation.pass().await?;
    let acting = started.elapsed().as_secs_f64();
    let bugs = store.list_work_items(&slipway_store::WorkItemFilter::default()).await?;

    let rate = |count: usize, seconds: f64| count as f64 / seconds.max(1e-9);
    println!("baseline: {changes} ready-made events appended: {:.0} events/s", rate(changes, baseline));
    println!(
        "feeder: {fed} events made from {changes} changes: {:.0} events/s ({:.2}x the baseline's time)",
        rate(fed, feeding),
        feeding / baseline
    );
    println!(
        "work-item automation: {read} events read, {} work items kept: {:.0} events/s ({:.2}x the baseline's time)",
        bugs.len(),
        rate(read, acting),
        acting / baseline
    );
    println!("end to end (feeder and automation, one after the other): {:.0} events/s", rate(fed, feeding + acting));
    store.close().await;
    baseline_store.close().await;
    let _ = std::fs::remove_dir_all(&directory);
    Ok(())
}

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench())
}
