//! The statistical judge of a canary, after Kayenta's NetflixACAJudge (read from its source:
//! `NetflixACAJudge.scala`, `MannWhitneyClassifier.scala`, `WeightedSumScorer.scala`): each
//! metric's canary series is compared with the baseline's, started at the same time, and the
//! metrics' classifications are scored by group. Pure.
//!
//! - Cleaning: values that are not numbers are removed, then outliers beyond 3 interquartile
//!   ranges from the quartiles (none when the interquartile range is 0, unlike Kayenta: a series
//!   of mostly zeros, as error counts are, would lose every error).
//! - Classification: a Mann-Whitney U (Wilcoxon rank-sum) test of canary against baseline, with
//!   the Hodges-Lehmann estimate of the shift and its distribution-free confidence interval at
//!   98 %; a tolerance band of ±0.25 × |estimate| around 0. The metric is **High** when the
//!   interval lies above the band (and the metric may not increase), **Low** when below (and it
//!   may not decrease), else **Pass**; no data on a side is **NoData** (not a failure unless the
//!   metric must have data); identical series pass.
//! - Scoring: a group's score is its passing metrics over its classified ones × 100; the summary
//!   is the groups' scores weighted (groups without a weight share what is left of 100); a failing
//!   critical metric makes it 0. At or above `pass` (95) the canary passes, below `marginal`
//!   (75) it fails, in between it is marginal.
//!
//! Every verdict carries its parameters and each metric's measurements, so that it can be
//! shown and checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which way a metric may not go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    /// Worse when it goes up (errors, latency).
    Increase,
    /// Worse when it goes down (throughput, success rate).
    Decrease,
    /// Worse either way.
    #[default]
    Either,
}

/// How a metric is judged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricConfig {
    /// Which way is worse.
    #[serde(default)]
    pub direction: Direction,
    /// A critical metric that fails fails the canary (score 0).
    #[serde(default)]
    pub critical: bool,
    /// No data on either side fails it.
    #[serde(default)]
    pub must_have_data: bool,
    /// Its group (`default` when none).
    #[serde(default)]
    pub group: Option<String>,
}

/// The judge's configuration, with Kayenta's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JudgeConfig {
    /// Per metric, by name; metrics not named are judged `either`, not critical, in `default`.
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricConfig>,
    /// Group weights (of 100); groups not named share what is left.
    #[serde(default)]
    pub group_weights: BTreeMap<String, f64>,
    /// The score to pass.
    #[serde(default = "default_pass")]
    pub pass: f64,
    /// Below it, the canary fails.
    #[serde(default = "default_marginal")]
    pub marginal: f64,
    /// The confidence level of the intervals.
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// The tolerance band, as a fraction of the estimate's size.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

/// The most values a side's series may have: the interval looks at every pair of values
/// (2,000 × 2,000 pairs take 32 MB).
pub const MAX_SAMPLES: usize = 2_000;

fn default_pass() -> f64 {
    95.0
}
fn default_marginal() -> f64 {
    75.0
}
fn default_confidence() -> f64 {
    0.98
}
fn default_tolerance() -> f64 {
    0.25
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            metrics: BTreeMap::new(),
            group_weights: BTreeMap::new(),
            pass: default_pass(),
            marginal: default_marginal(),
            confidence: default_confidence(),
            tolerance: default_tolerance(),
        }
    }
}

/// What is wrong with a judge's configuration (a sentence naming the number).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JudgeConfigError {
    /// `confidence` is not in (0.5, 1).
    #[error("'confidence' is {0}; give a level between 0.5 and 1 (exclusive), such as 0.98")]
    Confidence(f64),
    /// `tolerance` is not a fraction in [0, 10].
    #[error("'tolerance' is {0}; give a fraction such as 0.25")]
    Tolerance(f64),
    /// `pass` or `marginal` is not a score, or marginal is above pass.
    #[error("'pass' ({pass}) and 'marginal' ({marginal}) must be scores from 0 to 100 with marginal at most pass")]
    Scores {
        /// `pass`.
        pass: f64,
        /// `marginal`.
        marginal: f64,
    },
    /// A group's weight is not in [0, 100].
    #[error("the weight of group '{group}' is {weight}; weights are from 0 to 100")]
    GroupWeight {
        /// The group.
        group: String,
        /// Its weight.
        weight: f64,
    },
    /// The group weights add up to more than 100.
    #[error("the group weights add up to {0}; they may add up to 100 at most")]
    TotalWeight(f64),
}

impl JudgeConfig {
    /// Checks the numbers.
    ///
    /// # Errors
    /// A sentence naming what is wrong.
    pub fn validate(&self) -> Result<(), JudgeConfigError> {
        if !(0.5..1.0).contains(&self.confidence) {
            return Err(JudgeConfigError::Confidence(self.confidence));
        }
        if !(0.0..=10.0).contains(&self.tolerance) {
            return Err(JudgeConfigError::Tolerance(self.tolerance));
        }
        if !(0.0..=100.0).contains(&self.marginal) || !(0.0..=100.0).contains(&self.pass) || self.marginal > self.pass {
            return Err(JudgeConfigError::Scores { pass: self.pass, marginal: self.marginal });
        }
        if let Some((group, weight)) = self.group_weights.iter().find(|(_, weight)| !(0.0..=100.0).contains(*weight)) {
            return Err(JudgeConfigError::GroupWeight { group: group.clone(), weight: *weight });
        }
        let total: f64 = self.group_weights.values().sum();
        if total > 100.0 + 1e-9 {
            return Err(JudgeConfigError::TotalWeight(total));
        }
        Ok(())
    }
}

/// A metric's classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Classification {
    /// No significant difference the metric minds.
    Pass,
    /// The canary is significantly higher.
    High,
    /// The canary is significantly lower.
    Low,
    /// A side has no data.
    NoData,
}

/// What the judge measured of one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The metric.
    pub name: String,
    /// Its group.
    pub group: String,
    /// Its classification.
    pub classification: Classification,
    /// Whether it fails the canary (high or low the wrong way, or no data where data is a must).
    pub failed: bool,
    /// Whether it is critical.
    pub critical: bool,
    /// Values kept after cleaning (baseline, canary).
    pub samples: (usize, usize),
    /// The Hodges-Lehmann estimate of the shift (canary − baseline).
    pub estimate: Option<f64>,
    /// Its confidence interval.
    pub interval: Option<(f64, f64)>,
    /// The tolerance band around 0.
    pub band: Option<f64>,
    /// The ratio of the means (canary / baseline).
    pub ratio: Option<f64>,
}

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// At or above `pass`.
    Pass,
    /// Between `marginal` and `pass`.
    Marginal,
    /// Below `marginal`.
    Fail,
}

/// The judge's verdict, with what it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Pass, marginal or fail.
    pub outcome: Outcome,
    /// The score, 0 to 100.
    pub score: f64,
    /// Each group's score.
    pub groups: BTreeMap<String, f64>,
    /// Each metric's result.
    pub metrics: Vec<MetricResult>,
    /// The parameters it judged with.
    pub config: JudgeConfig,
}

/// Removes values that are not numbers, and outliers beyond 3 interquartile ranges.
#[must_use]
pub fn clean(values: &[f64]) -> Vec<f64> {
    let mut kept: Vec<f64> = values.iter().copied().filter(|value| value.is_finite()).collect();
    kept.sort_by(f64::total_cmp);
    if kept.len() < 4 {
        return kept;
    }
    let (q1, q3) = (quantile(&kept, 0.25), quantile(&kept, 0.75));
    let range = q3 - q1;
    // A series that is mostly one value (an error count that is mostly 0) has no spread to
    // judge outliers by: every other value would go, and with it what the metric is about.
    if range <= 0.0 {
        return kept;
    }
    let (low, high) = (q1 - 3.0 * range, q3 + 3.0 * range);
    kept.retain(|value| *value >= low && *value <= high);
    kept
}

/// A quantile of sorted values, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[expect(clippy::cast_precision_loss, reason = "series are far shorter than 2^52")]
    let position = (sorted.len() - 1) as f64 * q;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a position within the list")]
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - position.floor();
    sorted[below] + (sorted[above.min(sorted.len() - 1)] - sorted[below]) * fraction
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let low = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// The Hodges-Lehmann estimate of the shift of `canary` against `baseline` (the median of all
/// pairwise differences) and its distribution-free confidence interval at `confidence` (the
/// order statistics of the differences that the Mann-Whitney U distribution's normal
/// approximation, with the correction for ties, gives).
#[must_use]
pub fn shift_interval(baseline: &[f64], canary: &[f64], confidence: f64) -> Option<(f64, (f64, f64))> {
    // Longer series are thinned evenly to at most MAX_SAMPLES values (callers say so first).
    let thin = |values: &[f64]| -> Vec<f64> {
        let step = values.len().div_ceil(MAX_SAMPLES).max(1);
        values.iter().step_by(step).copied().collect()
    };
    let (canary, baseline) = (thin(canary), thin(baseline));
    let (canary, baseline) = (canary.as_slice(), baseline.as_slice());
    let (n, m) = (canary.len(), baseline.len());
    if n == 0 || m == 0 {
        return None;
    }
    let mut differences: Vec<f64> = Vec::with_capacity(n * m);
    for c in canary {
        for b in baseline {
            differences.push(c - b);
        }
    }
    differences.sort_by(f64::total_cmp);
    let estimate = quantile(&differences, 0.5);
    // The variance of U with ties (Lehmann).
    let mut all: Vec<f64> = canary.iter().chain(baseline).copied().collect();
    all.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut start = 0;
    while start < all.len() {
        let mut end = start + 1;
        while end < all.len() && all[end] == all[start] {
            end += 1;
        }
        #[expect(clippy::cast_precision_loss, reason = "tie counts are small")]
        let t = (end - start) as f64;
        ties += t * t * t - t;
        start = end;
    }
    #[expect(clippy::cast_precision_loss, reason = "series are far shorter than 2^52")]
    let (nf, mf) = (n as f64, m as f64);
    let total = nf + mf;
    let variance = nf * mf / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)).max(1.0));
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let count = differences.len();
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "an index within the differences")]
    let k = (nf * mf / 2.0 - z * variance.max(0.0).sqrt()).floor().max(0.0) as usize;
    let k = k.min(count - 1);
    let lower = differences[k];
    let upper = differences[count - 1 - k];
    Some((estimate, (lower, upper)))
}

fn mean(values: &[f64]) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "series are far shorter than 2^52")]
    let count = values.len() as f64;
    values.iter().sum::<f64>() / count
}

/// Classifies one metric.
#[must_use]
pub fn classify(
    name: &str,
    baseline: &[f64],
    canary: &[f64],
    metric: &MetricConfig,
    config: &JudgeConfig,
) -> MetricResult {
    let (baseline, canary) = (clean(baseline), clean(canary));
    let group = metric.group.clone().unwrap_or_else(|| "default".to_owned());
    let mut result = MetricResult {
        name: name.to_owned(),
        group,
        classification: Classification::NoData,
        failed: metric.must_have_data,
        critical: metric.critical,
        samples: (baseline.len(), canary.len()),
        estimate: None,
        interval: None,
        band: None,
        ratio: None,
    };
    if baseline.is_empty() || canary.is_empty() {
        return result;
    }
    let baseline_mean = mean(&baseline);
    result.ratio = (baseline_mean != 0.0).then(|| mean(&canary) / baseline_mean);
    if baseline == canary {
        result.classification = Classification::Pass;
        result.failed = false;
        return result;
    }
    let Some((estimate, (lower, upper))) = shift_interval(&baseline, &canary, config.confidence) else { return result };
    let band = config.tolerance * estimate.abs();
    result.estimate = Some(estimate);
    result.interval = Some((lower, upper));
    result.band = Some(band);
    result.classification = if lower > band {
        Classification::High
    } else if upper < -band {
        Classification::Low
    } else {
        Classification::Pass
    };
    result.failed = matches!(
        (result.classification, metric.direction),
        (Classification::High, Direction::Increase | Direction::Either)
            | (Classification::Low, Direction::Decrease | Direction::Either)
    );
    result
}

/// Judges a canary: every metric of `canary` against the same metric of `baseline`.
#[must_use]
pub fn judge(
    baseline: &BTreeMap<String, Vec<f64>>,
    canary: &BTreeMap<String, Vec<f64>>,
    config: &JudgeConfig,
) -> Verdict {
    let mut names: Vec<&String> = baseline.keys().chain(canary.keys()).collect();
    names.sort();
    names.dedup();
    let default_metric = MetricConfig::default();
    let metrics: Vec<MetricResult> = names
        .into_iter()
        .map(|name| {
            let metric = config.metrics.get(name).unwrap_or(&default_metric);
            let empty = Vec::new();
            classify(name, baseline.get(name).unwrap_or(&empty), canary.get(name).unwrap_or(&empty), metric, config)
        })
        .collect();
    let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for metric in &metrics {
        let entry = groups.entry(metric.group.clone()).or_default();
        match metric.classification {
            Classification::NoData if !metric.failed => {}
            _ => {
                entry.1 += 1;
                if !metric.failed {
                    entry.0 += 1;
                }
            }
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "metric counts are small")]
    let group_scores: BTreeMap<String, f64> = groups
        .iter()
        .filter(|(_, (_, classified))| *classified > 0)
        .map(|(group, (passed, classified))| (group.clone(), *passed as f64 / *classified as f64 * 100.0))
        .collect();
    let given: f64 = group_scores.keys().filter_map(|group| config.group_weights.get(group)).sum();
    let unweighted = group_scores.keys().filter(|group| !config.group_weights.contains_key(*group)).count();
    #[expect(clippy::cast_precision_loss, reason = "group counts are small")]
    let share = if unweighted == 0 { 0.0 } else { (100.0 - given).max(0.0) / unweighted as f64 };
    let weighted_total: f64 =
        group_scores.keys().map(|group| config.group_weights.get(group).copied().unwrap_or(share)).sum();
    let mut score = if weighted_total > 0.0 {
        group_scores
            .iter()
            .map(|(group, score)| score * config.group_weights.get(group).copied().unwrap_or(share))
            .sum::<f64>()
            / weighted_total
    } else {
        100.0
    };
    if metrics.iter().any(|metric| metric.critical && metric.failed) {
        score = 0.0;
    }
    let outcome = if score >= config.pass {
        Outcome::Pass
    } else if score < config.marginal {
        Outcome::Fail
    } else {
        Outcome::Marginal
    };
    Verdict { outcome, score, groups: group_scores, metrics, config: config.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<f64> {
        values.to_vec()
    }

    #[test]
    fn the_normal_quantile_is_right() {
        assert!((normal_quantile(0.99) - 2.326_347_874).abs() < 1e-6);
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!(normal_quantile(0.5).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-6);
    }

    #[test]
    fn the_shift_and_its_interval_follow_hodges_lehmann() {
        // Canary = baseline + 10 exactly: every difference is 10.
        let baseline: Vec<f64> = (0..30).map(f64::from).collect();
        let canary: Vec<f64> = baseline.iter().map(|value| value + 10.0).collect();
        let (estimate, (lower, upper)) = shift_interval(&baseline, &canary, 0.98).unwrap_or_default();
        assert!((estimate - 10.0).abs() < 1e-9);
        assert!(lower < 10.0 && upper > 10.0 && lower > 0.0, "({lower}, {upper})");
    }

    #[test]
    fn outliers_and_not_numbers_are_removed() {
        let cleaned = clean(&[1.0, 2.0, f64::NAN, 2.0, 3.0, 2.5, 1000.0, f64::INFINITY]);
        assert_eq!(cleaned, [1.0, 2.0, 2.0, 2.5, 3.0]);
        assert_eq!(clean(&[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]), [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn a_worse_canary_fails_an_equal_one_passes_and_critical_metrics_decide() {
        let baseline: Vec<f64> = (0..50).map(|index| 100.0 + f64::from(index % 10)).collect();
        let slower: Vec<f64> = baseline.iter().map(|value| value * 1.3).collect();
        let faster: Vec<f64> = baseline.iter().map(|value| value * 0.7).collect();
        let mut config = JudgeConfig::default();
        config
            .metrics
            .insert("latency".into(), MetricConfig { direction: Direction::Increase, ..MetricConfig::default() });
        let map = |latency: &[f64]| BTreeMap::from([("latency".to_owned(), latency.to_vec())]);
        assert_eq!(judge(&map(&baseline), &map(&baseline), &config).outcome, Outcome::Pass);
        let slow = judge(&map(&baseline), &map(&slower), &config);
        assert_eq!((slow.outcome, slow.score), (Outcome::Fail, 0.0));
        assert_eq!(slow.metrics[0].classification, Classification::High);
        // Faster is Low, which latency (increase) does not mind.
        let fast = judge(&map(&baseline), &map(&faster), &config);
        assert_eq!((fast.outcome, fast.metrics[0].classification), (Outcome::Pass, Classification::Low));
        // Two groups: one failing metric of three in its group, weighted 50/50.
        let mut config = JudgeConfig::default();
        config.group_weights.insert("errors".into(), 50.0);
        for name in ["a", "b", "c"] {
            config
                .metrics
                .insert(name.into(), MetricConfig { group: Some("latency".into()), ..MetricConfig::default() });
        }
        config
            .metrics
            .insert("errors".into(), MetricConfig { group: Some("errors".into()), ..MetricConfig::default() });
        let base = BTreeMap::from([
            ("a".to_owned(), baseline.clone()),
            ("b".to_owned(), baseline.clone()),
            ("c".to_owned(), baseline.clone()),
            ("errors".to_owned(), series(&[0.0, 1.0, 0.0, 2.0])),
        ]);
        let mut worse = base.clone();
        worse.insert("c".to_owned(), slower.clone());
        let verdict = judge(&base, &worse, &config);
        assert!((verdict.score - (50.0 + 50.0 * 2.0 / 3.0)).abs() < 1e-9, "{verdict:?}");
        assert_eq!(verdict.outcome, Outcome::Marginal);
        // The same metric made critical: score 0.
        config.metrics.insert(
            "c".into(),
            MetricConfig { group: Some("latency".into()), critical: true, ..MetricConfig::default() },
        );
        assert_eq!(judge(&base, &worse, &config).score, 0.0);
        // No data does not fail unless data is a must.
        let missing = BTreeMap::from([("errors".to_owned(), Vec::new())]);
        let some = BTreeMap::from([("errors".to_owned(), series(&[1.0, 2.0]))]);
        assert_eq!(judge(&some, &missing, &JudgeConfig::default()).outcome, Outcome::Pass);
        let mut must = JudgeConfig::default();
        must.metrics.insert("errors".into(), MetricConfig { must_have_data: true, ..MetricConfig::default() });
        assert_eq!(judge(&some, &missing, &must).outcome, Outcome::Fail);
    }
}
