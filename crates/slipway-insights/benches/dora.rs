//! DORA queries over a year of history: 10,000 deployments to one environment's three resources
//! over 365 days, recorded in a real SQLite store (on a temporary directory) through the store's
//! own API on a clock of the bench's own, then each metric's series over GitLab's longest range
//! (180 days) for every interval, and the five metrics of the whole year, each timed as the
//! service layer answers it: the deployments read from the store (newest first, a page of 1,000
//! at a time, down to a week before the period) and computed. The baseline, measured in the same
//! run, is reading the same rows alone; the ratio says what the computing adds.
//!
//! Run with `bench/dora.sh` (or `cargo bench -p slipway-insights --bench dora`). Set
//! `DORA_BENCH_DEPLOYMENTS` for another history size (default 10,000) and `DORA_BENCH_ROUNDS` for
//! more repetitions of each query (default 5; the median is printed).

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use slipway_events::TaskResult;
use slipway_insights::dora::{self, Interval, Metric};
use slipway_store::{
    Change, Environment, ManualClock, NewDeployment, NewJob, NewRun, PipelineSettings, QueueStatus, RetentionPolicy,
    SecretKey, Store, StoreOptions, Timestamp, TriggerKind,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-01-01T00:00:00Z: the history runs through 2026.
const START: i64 = 1_767_225_600_000;
const QUEUED_BEFORE: i64 = 7 * DAY;

/// A small deterministic generator (SplitMix64), so that every run measures the same history.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number from 0 to `below` (excluded).
    fn below(&mut self, below: i64) -> i64 {
        i64::try_from(self.next() % below.max(1).unsigned_abs()).unwrap_or(0)
    }
}

/// Records `count` deployments spread evenly over 365 days: 1 to 3 commits each, made up to 2
/// days before; 8% fail, 3% are canceled, 3% rolled back, 2% manual rollbacks (`redeployed`).
async fn generate(store: &Store, clock: &ManualClock, count: usize) -> Result<Environment, Error> {
    clock.set(Timestamp::from_millis(START - DAY));
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
    let run = store.create_run(&NewRun::new(pipeline.id, "1", TriggerKind::Manual)).await?;
    let production = store.create_environment("production", "", None).await?;
    let jobs: Vec<NewJob> = (0..count)
        .map(|index| NewJob {
            stage: "Deploy".into(),
            job: format!("ship{index}"),
            leg: None,
            display_name: format!("ship{index}"),
            pool: "default".into(),
            demands: Vec::new(),
            ready: false,
        })
        .collect();
    let mut added = Vec::new();
    for chunk in jobs.chunks(500) {
        added.extend(store.add_jobs(run.id, chunk).await?);
    }
    let mut random = Random(42);
    let spacing = 365 * DAY / i64::try_from(count.max(1))?;
    for (index, job) in added.iter().enumerate() {
        let queued = START + i64::try_from(index)? * spacing + random.below(spacing / 2);
        let commits = 1 + random.below(3);
        let changes = (0..commits)
            .map(|commit| Change {
                commit: format!("{index:08x}{commit}"),
                message: "a change".into(),
                author: "dee".into(),
                time: Some(Timestamp::from_millis(queued - random.below(2 * DAY) - commit * MINUTE)),
            })
            .collect();
        clock.set(Timestamp::from_millis(queued));
        store
            .record_deployment(&NewDeployment {
                environment: production.id,
                resource: Some(["web", "api", "worker"][index % 3].to_owned()),
                run: run.id,
                job: job.id,
                stage: "Deploy".into(),
                job_name: job.job.clone(),
                strategy: "runOnce".into(),
                triggered_by: "dee".into(),
                artifacts: Vec::new(),
                changes: Some(changes),
            })
            .await?;
        let roll = random.below(100);
        let result = match roll {
            0..8 => TaskResult::Failed,
            8..11 => TaskResult::Canceled,
            _ => TaskResult::Succeeded,
        };
        clock.set(Timestamp::from_millis(queued + 5 * MINUTE + random.below(10 * MINUTE)));
        store.finish_deployment(job.id, result).await?;
        match roll {
            11..14 => store.set_deployment_outcome(job.id, "rolledBack", None, None).await?,
            14..16 => store.set_deployment_outcome(job.id, "redeployed", None, None).await?,
            _ => {}
        }
    }
    clock.set(Timestamp::from_millis(START + 365 * DAY));
    Ok(production)
}

/// The rows the service reads for a period starting at `start`, as they come from the store
/// (its one narrow query, `Store::deployment_facts`).
async fn read_rows(
    store: &Store,
    environment: &Environment,
    start: i64,
) -> Result<Vec<slipway_store::DeploymentFacts>, Error> {
    Ok(store.deployment_facts(environment.id, Timestamp::from_millis(start - QUEUED_BEFORE)).await?)
}

/// The median of `rounds` timings of `run`, in milliseconds.
async fn time<F, T>(rounds: usize, mut run: impl FnMut() -> F) -> Result<f64, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let mut timings = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        std::hint::black_box(run().await?);
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    timings.sort_by(f64::total_cmp);
    Ok(timings[timings.len() / 2])
}

async fn bench() -> Result<(), Error> {
    let count: usize =
        std::env::var("DORA_BENCH_DEPLOYMENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(10_000);
    let rounds: usize = std::env::var("DORA_BENCH_ROUNDS").ok().and_then(|text| text.parse().ok()).unwrap_or(5).max(1);
    let directory = std::env::temp_dir().join(format!("slipway-dora-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let options = StoreOptions::new(SecretKey::from_bytes([7; 32])).with_clock(clock.clone());
    let store = Store::open(&directory.display().to_string(), options).await?;

    let started = Instant::now();
    let production = generate(&store, &clock, count).await?;
    println!(
        "recorded {count} deployments over 365 days in SQLite through the store's API in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let end = START + 365 * DAY;
    let range_start = end - 180 * DAY;
    let rows = read_rows(&store, &production, range_start).await?.len();
    let all_rows = read_rows(&store, &production, START).await?.len();
    let baseline = time(rounds, || read_rows(&store, &production, range_start)).await?;
    let year_baseline = time(rounds, || read_rows(&store, &production, START)).await?;
    println!("baseline: reading the {rows} rows of the last 180 days (and a week before) alone: {baseline:.2} ms");
    println!("baseline: reading the {all_rows} rows of the whole year alone: {year_baseline:.2} ms");
    println!();
    println!("{:<26} {:<8} {:>7} {:>10} {:>8}", "metric (last 180 days)", "interval", "points", "ms", "ratio");
    let mut worst: f64 = 0.0;
    for metric in Metric::ALL {
        for interval in Interval::ALL {
            let points = Cell::new(0);
            let elapsed = time(rounds, || async {
                let rows = read_rows(&store, &production, range_start).await?;
                let deployments: Vec<dora::Deployment> =
                    rows.iter().map(|row| dora::Deployment::from_facts("production", row)).collect();
                let series = dora::History::new(&deployments).series(metric, interval, range_start, end)?;
                points.set(series.len());
                Ok::<_, Error>(series)
            })
            .await?;
            worst = worst.max(elapsed);
            println!(
                "{:<26} {:<8} {:>7} {elapsed:>10.2} {:>7.2}x",
                metric.as_str(),
                interval.as_str(),
                points.get(),
                elapsed / baseline
            );
        }
    }
    let report = time(rounds, || async {
        let rows = read_rows(&store, &production, START).await?;
        let deployments: Vec<dora::Deployment> =
            rows.iter().map(|row| dora::Deployment::from_facts("production", row)).collect();
        Ok::<_, Error>(dora::compute(&deployments, START, end)?)
    })
    .await?;
    let year_daily = time(rounds, || async {
        let rows = read_rows(&store, &production, START).await?;
        let deployments: Vec<dora::Deployment> =
            rows.iter().map(|row| dora::Deployment::from_facts("production", row)).collect();
        let history = dora::History::new(&deployments);
        let mut all = Vec::new();
        for metric in Metric::ALL {
            all.push(history.series(metric, Interval::Daily, START, end)?);
        }
        Ok::<_, Error>(all)
    })
    .await?;
    let rows = read_rows(&store, &production, START).await?;
    let converted: Vec<dora::Deployment> =
        rows.iter().map(|row| dora::Deployment::from_facts("production", row)).collect();
    let compute_alone = time(rounds, || async {
        let history = dora::History::new(&converted);
        let mut all = Vec::new();
        for metric in Metric::ALL {
            for interval in Interval::ALL {
                all.push(history.series(metric, interval, START, end)?);
            }
        }
        Ok::<_, Error>((all, history.report(START, end)?))
    })
    .await?;
    println!();
    println!(
        "computing alone (no read): the year's {} deployments, every metric at every interval and the report: {compute_alone:.2} ms",
        converted.len()
    );
    println!(
        "the five metrics of the whole year (report with every id): {report:.2} ms, {:.2}x the year's read",
        report / year_baseline
    );
    println!(
        "all five daily series of the whole year from one read: {year_daily:.2} ms, {:.2}x the year's read",
        year_daily / year_baseline
    );
    println!("slowest 180-day query: {worst:.2} ms (goal: well under 100 ms)");
    store.close().await;
    std::fs::remove_dir_all(&directory)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench())
}
