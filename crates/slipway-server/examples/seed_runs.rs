//! Fills a data directory with completed runs, for the server's benchmarks (`bench/server.sh`).
//!
//! `cargo run --release -p slipway-server --example seed_runs -- DATA_DIR COUNT [PIPELINE]` creates
//! the pipeline (name `bench` unless given) when missing and adds COUNT completed runs to it, each
//! with one job and a few log lines, as a server that ran them would have stored them.

use std::path::PathBuf;
use std::process::ExitCode;

use slipway_events::TaskResult;
use slipway_store::{NewJob, NewRun, PipelineSettings, RetentionPolicy, TriggerKind};

fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let (Some(data_dir), Some(count)) = (arguments.next(), arguments.next()) else {
        eprintln!("usage: seed_runs DATA_DIR COUNT [PIPELINE]");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("COUNT must be a number, not '{count}'");
        return ExitCode::from(2);
    };
    let name = arguments.next().unwrap_or_else(|| "bench".to_owned());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(seed(PathBuf::from(data_dir), count, name)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(data_dir: PathBuf, count: usize, name: String) -> Result<(), Box<dyn std::error::Error>> {
    let opened = slipway_server::open(&data_dir, None).await?;
    let store = opened.state.store().clone();
    let pipeline = match store.pipeline_by_name(&name).await? {
        Some(pipeline) => pipeline,
        None => {
            let settings = PipelineSettings {
                name: name.clone(),
                repository: data_dir.display().to_string(),
                yaml_path: "azure-pipelines.yml".to_owned(),
                default_branch: "main".to_owned(),
                retention: RetentionPolicy::default(),
                queue_status: slipway_store::QueueStatus::Enabled,
            };
            store.create_pipeline(&settings).await?
        }
    };
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 8;
    for worker in 0..workers {
        let store = store.clone();
        let pipeline = pipeline.id;
        tasks.spawn(async move {
            let mut index = worker;
            while index < count {
                let mut run = NewRun::new(pipeline, format!("20261121.{}", index + 1), TriggerKind::Manual);
                run.branch = Some(if index % 3 == 0 { "refs/heads/feature" } else { "refs/heads/main" }.to_owned());
                run.commit = Some(format!("{index:040x}"));
                run.requested_by = Some("bench".to_owned());
                let created = store.create_run(&run).await?;
                store.start_run(created.id).await?;
                let job = NewJob {
                    stage: "Build".to_owned(),
                    job: "build".to_owned(),
                    leg: None,
                    display_name: "Build".to_owned(),
                    pool: "default".to_owned(),
                    demands: Vec::new(),
                    ready: false,
                };
                for added in store.add_jobs(created.id, &[job]).await? {
                    let lines: Vec<String> = (0..5).map(|line| format!("line {line} of run {index}")).collect();
                    store.append_log_lines(added.id, &lines).await?;
                    store.finish_job_unleased(added.id, TaskResult::Succeeded, None).await?;
                }
                let result = if index % 10 == 0 { TaskResult::Failed } else { TaskResult::Succeeded };
                store.finish_run(created.id, result).await?;
                index += workers;
            }
            Ok::<(), slipway_store::StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    store.close().await;
    println!("seeded {count} runs of pipeline '{name}' in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
