//! Front-end throughput over the shared corpus: validate + expand + lower every entry pipeline,
//! single-threaded, next to a baseline measured in the same run (parsing every corpus file as
//! YAML and nothing else). Prints files per second and the ratio to the baseline.
//!
//! Run: `cargo bench -p slipway-azure --bench corpus` (or `scripts/bench-frontend`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slipway_azure::{Location, Options, compile};
use slipway_diagnostics::FileId;

#[path = "../tests/shared/corpus.rs"]
mod corpus;

fn measure(mut work: impl FnMut() -> usize) -> (Duration, usize) {
    // Warm up, then repeat until at least two seconds have passed; report the best round.
    work();
    let mut best = Duration::MAX;
    let mut rounds = 0;
    let mut items = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) || rounds < 5 {
        let round = Instant::now();
        items = work();
        best = best.min(round.elapsed());
        rounds += 1;
    }
    (best, items)
}

fn main() {
    let directory = std::env::var_os("SLIPWAY_SHARED")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"), PathBuf::from)
        .join("corpus/azure-pipelines");
    let Some(repositories) = corpus::repositories(&directory) else {
        eprintln!("corpus not found at {}", directory.display());
        std::process::exit(1);
    };
    let texts: Vec<String> = repositories
        .iter()
        .flat_map(|(repository, _)| {
            repository.files.values().filter_map(|local| std::fs::read_to_string(directory.join(local)).ok())
        })
        .collect();
    let (baseline, files) = measure(|| {
        for text in &texts {
            let _ = black_box(slipway_yaml::load(black_box(text), FileId(0)));
        }
        texts.len()
    });
    // The file systems read from disk; load the texts into memory first so the front end is measured, not the disk.
    let in_memory: Vec<(slipway_azure::MemoryFileSystem, Vec<String>)> = repositories
        .iter()
        .map(|(repository, pipelines)| {
            let mut memory = slipway_azure::MemoryFileSystem::new();
            for (path, local) in &repository.files {
                if let Ok(text) = std::fs::read_to_string(directory.join(local)) {
                    memory.insert(path.clone(), text);
                }
            }
            (memory, pipelines.clone())
        })
        .collect();
    let (full, pipelines) = measure(|| {
        let mut count = 0;
        for (file_system, pipelines) in &in_memory {
            for path in pipelines {
                let _ = black_box(compile(&Location::local(path.clone()), file_system, &Options::default()));
                count += 1;
            }
        }
        count
    });
    let per_second = |count: usize, time: Duration| count as f64 / time.as_secs_f64();
    println!("corpus: {files} files, {pipelines} entry pipelines (single thread, best of repeated rounds)");
    println!(
        "  baseline  YAML parse of every file:            {:>9.2?}  {:>8.0} files/s",
        baseline,
        per_second(files, baseline)
    );
    println!(
        "  slipway   expand+validate+lower each pipeline: {:>9.2?}  {:>8.0} pipelines/s",
        full,
        per_second(pipelines, full)
    );
    println!("  ratio     full front end / YAML parse:         {:>9.2}x", full.as_secs_f64() / baseline.as_secs_f64());
}
