//! How well the judges tell a worse canary from a good one, over seeded trials of generated
//! traffic: a baseline with 1 % errors and log-normal latency, and a canary that is the same
//! (false alarms), 2 points worse in error rate, or 20 % slower, each sample being one interval
//! of 200 requests. For each number of samples per side it prints each judge's detection rate
//! (a worse canary failed) and false-alarm rate (a good canary failed):
//!
//! - statistical: Kayenta's (`slipway_delivery::judge`, both metrics critical, `increase`);
//! - threshold (Argo/Flagger style): the canary fails when its error rate over the run is above
//!   2 % or its mean latency above 115 % of the service's nominal latency.
//!
//! Goal: the statistical judge catches both regressions in at least 95 % of trials with at most
//! 2 % false rollbacks. `JUDGES_TRIALS=N` sets the trials per cell (default 300).

use std::collections::BTreeMap;

use slipway_delivery::judge::{Direction, JudgeConfig, MetricConfig, Outcome, judge};

const REQUESTS_PER_SAMPLE: usize = 200;
const ERROR_RATE: f64 = 0.01;
/// The median latency, in milliseconds.
const MEDIAN_MS: f64 = 80.0;
const SIGMA: f64 = 0.5;

#[derive(Clone, Copy)]
enum Canary {
    Good,
    Errors,
    Slower,
}

fn normal(rng: &mut fastrand::Rng) -> f64 {
    let (u, v) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// One side's samples: per interval, the error rate and the mean latency of its requests.
fn side(rng: &mut fastrand::Rng, samples: usize, error_rate: f64, latency_factor: f64) -> (Vec<f64>, Vec<f64>) {
    let mut errors = Vec::with_capacity(samples);
    let mut latency = Vec::with_capacity(samples);
    for _ in 0..samples {
        let failed = (0..REQUESTS_PER_SAMPLE).filter(|_| rng.f64() < error_rate).count();
        let total: f64 =
            (0..REQUESTS_PER_SAMPLE).map(|_| MEDIAN_MS * latency_factor * (SIGMA * normal(rng)).exp()).sum();
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        {
            errors.push(failed as f64 / REQUESTS_PER_SAMPLE as f64);
            latency.push(total / REQUESTS_PER_SAMPLE as f64);
        }
    }
    (errors, latency)
}

fn mean(values: &[f64]) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let count = values.len() as f64;
    values.iter().sum::<f64>() / count
}

fn main() {
    let trials: usize = std::env::var("JUDGES_TRIALS").ok().and_then(|text| text.parse().ok()).unwrap_or(300);
    let mut config = JudgeConfig::default();
    for name in ["error_rate", "latency_ms"] {
        config.metrics.insert(
            name.into(),
            MetricConfig { direction: Direction::Increase, critical: true, ..MetricConfig::default() },
        );
    }
    // The nominal mean latency of a log-normal: median × e^(σ²/2).
    let nominal = MEDIAN_MS * (SIGMA * SIGMA / 2.0).exp();
    println!(
        "{trials} trials per cell, {REQUESTS_PER_SAMPLE} requests per sample, baseline 1% errors, latency median {MEDIAN_MS} ms"
    );
    println!(
        "{:>8} | {:>22} {:>14} {:>12} | {:>22} {:>14} {:>12}",
        "samples",
        "statistical: +2pt err",
        "+20% latency",
        "false alarm",
        "threshold: +2pt err",
        "+20% latency",
        "false alarm"
    );
    for samples in [5, 10, 20, 30, 50] {
        let mut caught = [[0_usize; 3]; 2];
        for trial in 0..trials {
            for (column, canary) in [Canary::Errors, Canary::Slower, Canary::Good].into_iter().enumerate() {
                let seed = u64::try_from(samples * 1_000_003 + trial * 7 + column).unwrap_or_default();
                let mut rng = fastrand::Rng::with_seed(seed);
                let (base_errors, base_latency) = side(&mut rng, samples, ERROR_RATE, 1.0);
                let (error_rate, factor) = match canary {
                    Canary::Good => (ERROR_RATE, 1.0),
                    Canary::Errors => (ERROR_RATE + 0.02, 1.0),
                    Canary::Slower => (ERROR_RATE, 1.2),
                };
                let (canary_errors, canary_latency) = side(&mut rng, samples, error_rate, factor);
                let baseline =
                    BTreeMap::from([("error_rate".to_owned(), base_errors), ("latency_ms".to_owned(), base_latency)]);
                let canary_series = BTreeMap::from([
                    ("error_rate".to_owned(), canary_errors.clone()),
                    ("latency_ms".to_owned(), canary_latency.clone()),
                ]);
                if judge(&baseline, &canary_series, &config).outcome == Outcome::Fail {
                    caught[0][column] += 1;
                }
                if mean(&canary_errors) > 0.02 || mean(&canary_latency) > nominal * 1.15 {
                    caught[1][column] += 1;
                }
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let rate = |count: usize| count as f64 / trials as f64 * 100.0;
        println!(
            "{samples:>8} | {:>21.1}% {:>13.1}% {:>11.1}% | {:>21.1}% {:>13.1}% {:>11.1}%",
            rate(caught[0][0]),
            rate(caught[0][1]),
            rate(caught[0][2]),
            rate(caught[1][0]),
            rate(caught[1][1]),
            rate(caught[1][2])
        );
    }
    println!("goal: the statistical judge catches both regressions in >= 95% of trials with <= 2% false alarms");
}
