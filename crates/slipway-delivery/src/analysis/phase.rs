//! The phases of a metric and of a run, and when to measure next, as Argo Rollouts' analysis
//! controller decides them (read from its source: `analysis/analysis.go`'s
//! `assessMetricStatus`, `assessMetricFailureInconclusiveOrError`, `assessRunStatus`,
//! `generateMetricTasks`, `calculateNextReconcileTime`, and `utils/analysis/helpers.go`'s
//! `IsTerminating` and `IsWorse`, at v1.10).

use super::{Measurement, MeasurementPhase, MetricPhase, MetricSpec, RunPhase};

/// How long Argo waits before measuring again after a measurement that errored, whatever the
/// metric's interval (`DefaultErrorRetryInterval`; argoproj/argo-rollouts#1008 fixed it to do so).
pub const ERROR_RETRY_INTERVAL_MS: i64 = 10_000;

/// Argo's counters of a metric's result.
#[derive(Default)]
struct Counters {
    /// Measurements that completed with a verdict (not errors): Argo's `Count`.
    count: u64,
    failed: u64,
    inconclusive: u64,
    consecutive_errors: u64,
}

impl Counters {
    fn add(&mut self, phase: MeasurementPhase) {
        match phase {
            MeasurementPhase::Successful => {}
            MeasurementPhase::Failed => self.failed += 1,
            MeasurementPhase::Inconclusive => self.inconclusive += 1,
            MeasurementPhase::Error => {
                self.consecutive_errors += 1;
                return;
            }
        }
        self.count += 1;
        self.consecutive_errors = 0;
    }

    /// The phase the counters end the metric in, if they do.
    fn verdict(&self, metric: &MetricSpec) -> Option<MetricPhase> {
        // Argo checks the three limits in this order and the last one exceeded wins; counted one
        // measurement at a time, at most one can be exceeded.
        let mut phase = None;
        if self.failed > u64::from(metric.failure_limit) {
            phase = Some(MetricPhase::Failed);
        }
        if self.inconclusive > u64::from(metric.inconclusive_limit) {
            phase = Some(MetricPhase::Inconclusive);
        }
        if self.consecutive_errors > u64::from(metric.consecutive_error_limit) {
            phase = Some(MetricPhase::Error);
        }
        if phase.is_some() {
            return phase;
        }
        match metric.effective_count() {
            Some(count) if self.count >= u64::from(count) => Some(MetricPhase::Successful),
            _ => None,
        }
    }
}

/// The metric's phase from its measurements so far, in the order they were taken (every one of
/// them: Argo keeps counters beside the last ten, here they are counted from the list), as Argo
/// assesses it after each measurement:
///
/// - none yet → Pending;
/// - failed measurements > `failureLimit` → Failed; inconclusive ones > `inconclusiveLimit` →
///   Inconclusive; errors in a row (a measurement with a verdict resets them) >
///   `consecutiveErrorLimit` → Error (a limit is exceeded before the count is looked at, so a
///   last measurement that both fails too often and completes the count fails the metric);
/// - else the effective count ([`MetricSpec::effective_count`]) of measurements with a verdict
///   (errors are not counted) reached → Successful;
/// - else Running.
///
/// A metric ends at the first measurement that ends it; measurements taken after that do not
/// change its phase.
#[must_use]
pub fn metric_phase(metric: &MetricSpec, measurements: &[Measurement]) -> MetricPhase {
    let mut counters = Counters::default();
    for measurement in measurements {
        counters.add(measurement.phase);
        if let Some(phase) = counters.verdict(metric) {
            return phase;
        }
    }
    if measurements.is_empty() { MetricPhase::Pending } else { MetricPhase::Running }
}

/// When the next measurement of the metric is due (ms since the epoch), given when the analysis
/// started and the metric's measurements so far; `None` when the metric has ended.
///
/// - the first: `initialDelay` after the start;
/// - after a measurement with a verdict: `interval` after it finished (10 s when the metric has
///   no interval, which only a hand-built metric with `count` > 1 can have);
/// - after an error: 10 s after it finished ([`ERROR_RETRY_INTERVAL_MS`]), not the interval.
///
/// This is per metric: once [`run_phase`] says the run is over, no metric is measured again
/// (Argo stops every metric when one fails, errors or is inconclusive).
#[must_use]
pub fn next_measurement_at(metric: &MetricSpec, started_at: i64, measurements: &[Measurement]) -> Option<i64> {
    if is_completed(metric_phase(metric, measurements)) {
        return None;
    }
    let Some(last) = measurements.last() else {
        return Some(started_at.saturating_add(millis(metric.initial_delay)));
    };
    let wait = match (last.phase, metric.interval) {
        (MeasurementPhase::Error, _) | (_, None) => ERROR_RETRY_INTERVAL_MS,
        (_, Some(interval)) => millis(interval),
    };
    Some(last.finished_at.saturating_add(wait))
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn is_completed(phase: MetricPhase) -> bool {
    !matches!(phase, MetricPhase::Pending | MetricPhase::Running)
}

/// The run's phase from its metrics' phases, as Argo's AnalysisRun has it:
///
/// - a Failed, Errored or Inconclusive metric ends the run at once (Argo's `IsTerminating`: the
///   other metrics are not measured again), with the worst of the ended metrics' phases (Argo's
///   order, best to worst: Successful, Inconclusive, Error, Failed);
/// - else while a metric is Pending or Running → Running;
/// - else (all Successful) → Successful.
///
/// No metrics at all is Running, as in Argo (a template without metrics is refused when read).
#[must_use]
pub fn run_phase(phases: &[MetricPhase]) -> RunPhase {
    let worst = phases
        .iter()
        .filter_map(|phase| match phase {
            MetricPhase::Failed => Some((3, RunPhase::Failed)),
            MetricPhase::Error => Some((2, RunPhase::Error)),
            MetricPhase::Inconclusive => Some((1, RunPhase::Inconclusive)),
            _ => None,
        })
        .max_by_key(|(rank, _)| *rank);
    if let Some((_, phase)) = worst {
        return phase;
    }
    if phases.is_empty() || phases.iter().any(|phase| !is_completed(*phase)) {
        RunPhase::Running
    } else {
        RunPhase::Successful
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::analysis::{Provider, RouterMetric};

    use MeasurementPhase::{Error as E, Failed as F, Inconclusive as I, Successful as S};

    fn metric() -> MetricSpec {
        MetricSpec {
            name: "success-rate".to_owned(),
            interval: Some(Duration::from_secs(60)),
            count: Some(5),
            initial_delay: Duration::ZERO,
            success_condition: Some("result >= 0.95".to_owned()),
            failure_condition: None,
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            provider: Provider::Slipway {
                service: None,
                slot: "canary".to_owned(),
                metric: RouterMetric::SuccessRate,
                window: None,
            },
        }
    }

    /// Measurements of the given phases, one a minute from t = 0, each taking a second.
    fn measured(phases: &[MeasurementPhase]) -> Vec<Measurement> {
        phases
            .iter()
            .zip(0i64..)
            .map(|(phase, i)| Measurement {
                phase: *phase,
                value: None,
                message: None,
                started_at: i * 60_000,
                finished_at: i * 60_000 + 1_000,
            })
            .collect()
    }

    #[test]
    fn failure_limit() {
        let cases: &[(u32, &[MeasurementPhase], MetricPhase)] = &[
            (0, &[], MetricPhase::Pending),
            (0, &[S], MetricPhase::Running),
            (0, &[F], MetricPhase::Failed),
            (0, &[S, S, F], MetricPhase::Failed),
            (1, &[F], MetricPhase::Running),
            (1, &[F, S, F], MetricPhase::Failed),
            (2, &[F, F], MetricPhase::Running),
            (2, &[F, F, S, S, S], MetricPhase::Successful),
            (2, &[F, F, F], MetricPhase::Failed),
            (2, &[F, S, F, S, F], MetricPhase::Failed),
        ];
        for (limit, phases, expected) in cases {
            let metric = MetricSpec { failure_limit: *limit, ..metric() };
            assert_eq!(metric_phase(&metric, &measured(phases)), *expected, "failureLimit {limit}, {phases:?}");
        }
    }

    #[test]
    fn inconclusive_limit() {
        let cases: &[(u32, &[MeasurementPhase], MetricPhase)] = &[
            (0, &[I], MetricPhase::Inconclusive),
            (1, &[I], MetricPhase::Running),
            (1, &[I, S, I], MetricPhase::Inconclusive),
            (2, &[I, I, S, S, S], MetricPhase::Successful),
        ];
        for (limit, phases, expected) in cases {
            let metric = MetricSpec { inconclusive_limit: *limit, ..metric() };
            assert_eq!(metric_phase(&metric, &measured(phases)), *expected, "inconclusiveLimit {limit}, {phases:?}");
        }
    }

    #[test]
    fn consecutive_error_limit() {
        let cases: &[(u32, &[MeasurementPhase], MetricPhase)] = &[
            // The default, 4: the fifth error in a row ends the metric.
            (4, &[E, E, E, E], MetricPhase::Running),
            (4, &[E, E, E, E, E], MetricPhase::Error),
            // A measurement with a verdict resets the run of errors.
            (4, &[E, E, E, E, S, E, E, E, E], MetricPhase::Running),
            (4, &[E, E, E, E, F], MetricPhase::Failed),
            (0, &[E], MetricPhase::Error),
            (1, &[E, S, E], MetricPhase::Running),
            (1, &[E, S, E, E], MetricPhase::Error),
            // Errors do not count toward `count`.
            (4, &[S, E, S, E, S, E, S, E, S], MetricPhase::Successful),
            (4, &[S, E, S, E, S, E, S, E], MetricPhase::Running),
        ];
        for (limit, phases, expected) in cases {
            let metric = MetricSpec { consecutive_error_limit: *limit, ..metric() };
            assert_eq!(
                metric_phase(&metric, &measured(phases)),
                *expected,
                "consecutiveErrorLimit {limit}, {phases:?}"
            );
        }
    }

    #[test]
    fn count_and_effective_count() {
        let once = MetricSpec { interval: None, count: None, ..metric() };
        assert_eq!(once.effective_count(), Some(1));
        assert_eq!(metric_phase(&once, &measured(&[S])), MetricPhase::Successful);
        assert_eq!(metric_phase(&once, &measured(&[E])), MetricPhase::Running);
        let forever = MetricSpec { count: None, ..metric() };
        assert_eq!(forever.effective_count(), None);
        assert_eq!(metric_phase(&forever, &measured(&[S; 50])), MetricPhase::Running);
        let three = MetricSpec { count: Some(3), failure_limit: 1, ..metric() };
        assert_eq!(metric_phase(&three, &measured(&[S, F, S])), MetricPhase::Successful);
        assert_eq!(metric_phase(&three, &measured(&[S, S])), MetricPhase::Running);
    }

    #[test]
    fn the_first_limit_exceeded_ends_the_metric_for_good() {
        // Measurements taken after the end change nothing.
        assert_eq!(metric_phase(&metric(), &measured(&[F, I, E, E, E, E, E])), MetricPhase::Failed);
        let patient = MetricSpec { failure_limit: 5, ..metric() };
        assert_eq!(metric_phase(&patient, &measured(&[F, I, F])), MetricPhase::Inconclusive);
    }

    #[test]
    fn schedule() {
        let start = 1_000_000;
        let metric = MetricSpec { initial_delay: Duration::from_secs(30), count: Some(3), ..metric() };
        // The first measurement waits for the initial delay.
        assert_eq!(next_measurement_at(&metric, start, &[]), Some(start + 30_000));
        let no_delay = MetricSpec { initial_delay: Duration::ZERO, ..metric.clone() };
        assert_eq!(next_measurement_at(&no_delay, start, &[]), Some(start));
        // Then an interval after each measurement finished.
        let taken = measured(&[S]);
        assert_eq!(next_measurement_at(&metric, start, &taken), Some(1_000 + 60_000));
        // After an error, 10 s, not the interval.
        let taken = measured(&[S, E]);
        assert_eq!(next_measurement_at(&metric, start, &taken), Some(61_000 + 10_000));
        // Until the count is reached.
        assert_eq!(next_measurement_at(&metric, start, &measured(&[S, S, S])), None);
        assert_eq!(next_measurement_at(&metric, start, &measured(&[S, E, S, S])), None);
        // Or the metric ends early.
        assert_eq!(next_measurement_at(&metric, start, &measured(&[F])), None);
        // One measurement when neither interval nor count is given.
        let once = MetricSpec { interval: None, count: None, ..metric.clone() };
        assert_eq!(next_measurement_at(&once, start, &measured(&[S])), None);
        assert_eq!(next_measurement_at(&once, start, &measured(&[E])), Some(1_000 + 10_000));
        // A hand-built metric with a count but no interval measures again after 10 s, as Argo does.
        let no_interval = MetricSpec { interval: None, count: Some(2), ..metric };
        assert_eq!(next_measurement_at(&no_interval, start, &measured(&[S])), Some(1_000 + 10_000));
    }

    #[test]
    fn runs() {
        use MetricPhase::{Error as E, Failed as F, Inconclusive as I, Pending as P, Running as R, Successful as S};
        let cases: &[(&[MetricPhase], RunPhase)] = &[
            (&[], RunPhase::Running),
            (&[P], RunPhase::Running),
            (&[R, S], RunPhase::Running),
            (&[S, S], RunPhase::Successful),
            // An ended metric that is not successful ends the run, however the others are.
            (&[F, R], RunPhase::Failed),
            (&[E, P], RunPhase::Error),
            (&[I, R], RunPhase::Inconclusive),
            (&[I, S], RunPhase::Inconclusive),
            // The worst wins: Failed over Error over Inconclusive.
            (&[I, E, S], RunPhase::Error),
            (&[E, F], RunPhase::Failed),
            (&[I, F, E], RunPhase::Failed),
        ];
        for (phases, expected) in cases {
            assert_eq!(run_phase(phases), *expected, "{phases:?}");
        }
    }
}
