//! Faults the router injects for chaos experiments: added latency, error answers or aborted
//! connections, for a fraction of the requests to one slot (or to every slot), until a time.
//! Which fault a request meets is pure ([`pick`]); the router applies it.

use std::time::{Duration, Instant};

/// What a fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The request waits this long before it is passed on.
    Latency(Duration),
    /// The router answers with this status instead of passing the request on.
    Error(u16),
    /// The router closes the connection without answering.
    Abort,
}

/// A fault on a service's router.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The slot it hits; every slot when `None`.
    pub slot: Option<String>,
    /// The fraction of the requests it hits, 0 to 1.
    pub fraction: f64,
    /// What it does.
    pub kind: FaultKind,
    /// When it ends.
    pub until: Instant,
}

/// What a request to `slot` meets at `now`, given a roll per fault in 0..1: the added latency
/// (every latency fault that hits adds up), and whether an error or abort fault hit (the first
/// one that did).
#[must_use]
pub fn pick(
    faults: &[Fault],
    slot: &str,
    now: Instant,
    roll: &mut dyn FnMut() -> f64,
) -> (Duration, Option<FaultKind>) {
    let mut latency = Duration::ZERO;
    for fault in faults {
        if fault.until <= now || fault.slot.as_deref().is_some_and(|named| named != slot) {
            continue;
        }
        if roll() >= fault.fraction {
            continue;
        }
        match &fault.kind {
            FaultKind::Latency(added) => latency += *added,
            other => return (latency, Some(other.clone())),
        }
    }
    (latency, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_hit_their_slot_their_share_of_requests_until_they_end() {
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        let faults = vec![
            Fault {
                slot: Some("canary".into()),
                fraction: 0.5,
                kind: FaultKind::Latency(Duration::from_millis(20)),
                until: later,
            },
            Fault { slot: None, fraction: 1.0, kind: FaultKind::Latency(Duration::from_millis(5)), until: later },
            Fault { slot: Some("canary".into()), fraction: 0.1, kind: FaultKind::Error(503), until: later },
            Fault { slot: None, fraction: 1.0, kind: FaultKind::Abort, until: now },
        ];
        let rolls = |values: Vec<f64>| {
            let mut values = values.into_iter();
            move || values.next().unwrap_or(1.0)
        };
        assert_eq!(
            pick(&faults, "canary", now, &mut rolls(vec![0.4, 0.9, 0.05])),
            (Duration::from_millis(25), Some(FaultKind::Error(503)))
        );
        assert_eq!(pick(&faults, "canary", now, &mut rolls(vec![0.6, 0.0, 0.5])), (Duration::from_millis(5), None));
        assert_eq!(
            pick(&faults, "stable", now, &mut rolls(vec![0.0])),
            (Duration::from_millis(5), None),
            "the canary's faults miss it; the ended abort too"
        );
        assert_eq!(
            pick(&faults, "stable", later, &mut rolls(vec![0.0, 0.0, 0.0, 0.0])),
            (Duration::ZERO, None),
            "all ended"
        );
    }
}
