//! The event stream's throughput with every consumer on, over a real SQLite store.
//!
//! It records `STREAM_RUNS` runs (default 2,000; each queued, started and finished, one in ten of
//! the default branch failing, so the work-item automation opens, bumps and resolves bugs),
//! which writes 3 changes per run in the runs' own transactions. Then it times, in the same run:
//!
//! - the baseline: appending the same number of ready-made events to the stream (the store's
//!   write cost alone);
//! - each consumer alone, one after the other: the feeder (changes turned into CDEvents, reading
//!   each run and pipeline back, and appended), the work-item automation (reading every event and
//!   acting on the failures and recoveries), notifications (a webhook subscription to every
//!   event: a delivery queued per event, then each sent, signed, to a receiver on loopback and its
//!   answer recorded) and OTLP traces (each finished run's trace built from the store and sent
//!   over OTLP/HTTP to a receiver on loopback);
//! - every consumer on at once, as the server runs them (each its own loop, polling every 50 ms),
//!   over a second store with the same runs: from the first poll until the feeder has made every
//!   event, the automation and the traces have read them all and the receiver has taken every
//!   delivery;
//!
//! and prints events per second for each and the ratio to the baseline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::json;
use slipway_events::TaskResult;
use slipway_insights::automation::Automation;
use slipway_insights::notifications::{Notifier, NotifierConfig};
use slipway_insights::stream::{FeedConfig, Feeder};
use slipway_service::traces::{TRACES_CURSOR, TraceExporter, TracesConfig};
use slipway_store::{
    EventOrigin, NewRun, NewStreamEvent, NewSubscription, NotificationKind, NotificationScope, PipelineSettings,
    QueueStatus, RetentionPolicy, SecretKey, Store, StoreOptions, SystemClock, Timestamp, TriggerKind,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn bench() -> Result<(), Error> {
    let runs: usize = std::env::var("STREAM_RUNS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(2000);
    let directory = std::env::temp_dir().join(format!("slipway-stream-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory)?;
    let recording = Instant::now();
    let store = recorded(&directory.join("alone"), runs).await?;
    let changes = runs * 3;
    println!("recorded {runs} runs ({changes} changes) in {:.1} s", recording.elapsed().as_secs_f64());
    let (base, received, traced) = receiver().await?;
    let hook = format!("{base}/hook");
    let traces = TracesConfig::resolve(Some(&base), |_| None)?.ok_or("no traces configuration")?;
    subscribe(&store, &hook).await?;

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
    let notifier = Notifier::new(store.clone(), NotifierConfig::default());
    let started = Instant::now();
    let queued = notifier.queue().await?;
    let sent = notifier.send_due().await?;
    let notifying = started.elapsed().as_secs_f64();
    let delivered = received.swap(0, Ordering::SeqCst);
    let exporter = TraceExporter::new(store.clone(), &traces, "http://127.0.0.1:8080")?;
    let started = Instant::now();
    let exported = exporter.pass().await?;
    let tracing_runs = started.elapsed().as_secs_f64();
    let requests = traced.swap(0, Ordering::SeqCst);

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
    println!(
        "notifications: {queued} events read, {sent} deliveries sent, {delivered} received: {:.0} events/s ({:.2}x the baseline's time)",
        rate(queued, notifying),
        notifying / baseline
    );
    println!(
        "OTLP traces: {fed} events read, {exported} runs' traces sent in {requests} requests: {:.0} events/s ({:.2}x the baseline's time)",
        rate(fed, tracing_runs),
        tracing_runs / baseline
    );
    let sequential = feeding + acting + notifying + tracing_runs;
    println!("one consumer after the other: {:.0} events/s", rate(fed, sequential));
    store.close().await;

    // Every consumer on at once, as the server runs them, over the same runs in a fresh store.
    let store = recorded(&directory.join("together"), runs).await?;
    subscribe(&store, &hook).await?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let interval = std::time::Duration::from_millis(50);
    let feeder =
        Feeder::new(store.clone(), FeedConfig { source: "/slipway".into(), base_url: "http://127.0.0.1:8080".into() });
    let started = Instant::now();
    let consumers = tokio::spawn({
        let (automation, notifier) =
            (Automation::new(store.clone()), Notifier::new(store.clone(), NotifierConfig::default()));
        let exporter = TraceExporter::new(store.clone(), &traces, "http://127.0.0.1:8080")?;
        let stopping = stopping.clone();
        async move {
            tokio::join!(
                feeder.run(interval, stopping.clone()),
                automation.run(interval, stopping.clone()),
                notifier.run(interval, stopping.clone()),
                exporter.run(interval, stopping)
            );
        }
    });
    let (mut made, mut read) = (0, 0);
    let deadline = Instant::now() + std::time::Duration::from_secs(600);
    while Instant::now() < deadline {
        made = store.latest_event_position().await?;
        read = store.event_cursor(slipway_insights::automation::AUTOMATION_CURSOR).await?.unwrap_or(0);
        let fed = store.changes_after(store.event_cursor("feeder").await?.unwrap_or(0), 1).await?.is_empty();
        let traced_to = store.event_cursor(TRACES_CURSOR).await?.unwrap_or(0);
        if fed
            && read >= made
            && traced_to >= made
            && made > 0
            && received.load(Ordering::SeqCst) >= usize::try_from(made)?
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let together = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    consumers.await?;
    let made = usize::try_from(made)?;
    println!(
        "every consumer on at once: {made} events made, {} read by the automation, {} notifications received, {} trace requests: {:.0} events/s ({:.2}x the baseline's time, {:.2}x one after the other)",
        read,
        received.load(Ordering::SeqCst),
        traced.load(Ordering::SeqCst),
        rate(made, together),
        together / baseline,
        together / sequential
    );
    store.close().await;
    baseline_store.close().await;
    let _ = std::fs::remove_dir_all(&directory);
    Ok(())
}

/// A store in `directory` with pipeline `shop` and `runs` runs of it recorded.
async fn recorded(directory: &std::path::Path, runs: usize) -> Result<Store, Error> {
    std::fs::create_dir_all(directory)?;
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
    for index in 0..runs {
        let mut new = NewRun::new(pipeline.id, index.to_string(), TriggerKind::Manual);
        new.branch = Some("refs/heads/main".into());
        let run = store.create_run(&new).await?;
        store.start_run(run.id).await?;
        let result = if index % 10 == 3 { TaskResult::Failed } else { TaskResult::Succeeded };
        store.finish_run(run.id, result).await?;
    }
    Ok(store)
}

/// A receiver on loopback that answers 200 to every webhook (`POST /hook`) and every OTLP
/// export (`POST /v1/traces`, an empty `ExportTraceServiceResponse`): its base URL and how many
/// of each it took.
async fn receiver() -> Result<(String, Arc<AtomicUsize>, Arc<AtomicUsize>), Error> {
    let (received, traced) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let counted = |counter: Arc<AtomicUsize>| {
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                ([(axum::http::header::CONTENT_TYPE, "application/x-protobuf")], axum::http::StatusCode::OK)
            }
        })
    };
    let app =
        axum::Router::new().route("/hook", counted(received.clone())).route("/v1/traces", counted(traced.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the receiver stopped: {error}");
        }
    });
    Ok((format!("http://{address}"), received, traced))
}

/// Subscribes a signed webhook at `url` to every event.
async fn subscribe(store: &Store, url: &str) -> Result<(), Error> {
    store
        .create_subscription(&NewSubscription {
            name: "everything".into(),
            kind: NotificationKind::Webhook,
            target: url.to_owned(),
            secret: Some("bench-secret".into()),
            scope: NotificationScope::Everything,
            event_types: Vec::new(),
            branches: Vec::new(),
            results: Vec::new(),
            enabled: true,
            created_by: "bench".into(),
        })
        .await?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench())
}
