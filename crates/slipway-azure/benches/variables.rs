//! Many variables (issue 10): compiles pipelines that define 1,000 and 10,000 variables, in the
//! mapping form and in the list form (where each variable is visible to the ones after it), and
//! prints the time per variable and the ratio of the two sizes. Linear work gives about 10×;
//! work that grows with the square of the count gives about 100× (what it was: 10,000 variables
//! took 9.5 s to validate).
//!
//! Run: `cargo bench -p slipway-azure --bench variables`.

use std::time::{Duration, Instant};

use slipway_azure::{Location, MemoryFileSystem, Options, compile};

/// A pipeline with `count` variables in the mapping form, or the list form.
fn pipeline(count: usize, list: bool) -> String {
    let mut text = String::from("variables:\n");
    for index in 0..count {
        if list {
            text.push_str(&format!("- name: var{index}\n  value: value{index}\n"));
        } else {
            text.push_str(&format!("  var{index}: value{index}\n"));
        }
    }
    text.push_str("steps:\n- script: echo $(var1)\n");
    text
}

/// The best of several compilations of `text` (at least one second, at least three rounds).
fn best(text: &str) -> Duration {
    let mut files = MemoryFileSystem::new();
    files.insert("azure-pipelines.yml", text);
    let mut best = Duration::MAX;
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 3 || started.elapsed() < Duration::from_secs(1) {
        let round = Instant::now();
        let compiled = compile(&Location::local("azure-pipelines.yml"), &files, &Options::default());
        assert!(compiled.plan.is_some(), "the pipeline does not compile");
        best = best.min(round.elapsed());
        rounds += 1;
    }
    best
}

fn main() {
    for (form, list) in [("mapping", false), ("list", true)] {
        let small = best(&pipeline(1_000, list));
        let large = best(&pipeline(10_000, list));
        println!(
            "{form:>7} form: 1,000 variables {:>8.2} ms ({:.1} µs each), 10,000 variables {:>8.2} ms ({:.1} µs each); ratio {:.1}x for 10x the variables (linear: ~10x)",
            small.as_secs_f64() * 1e3,
            small.as_secs_f64() * 1e6 / 1_000.0,
            large.as_secs_f64() * 1e3,
            large.as_secs_f64() * 1e6 / 10_000.0,
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
}
