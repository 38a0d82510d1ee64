//! Azure's `counter(prefix, seed)`: a number per prefix that starts at `seed` and grows by one on
//! every run of the same pipeline. The state is plain data, kept by the caller, in one of two
//! ways:
//!
//! - `slipway run` ([`Counters::continuing`]) loads the values earlier runs left and stores
//!   [`Counters::values`] after the run;
//! - the server ([`Counters::allocated`]) gives each run its values from the store, once, so
//!   that a run taken up again after a restart sees the same ones: a prefix the run has no value
//!   for yet is [missing](Counters::missing), the caller allocates it and builds the run's
//!   scheduler again with it.

use std::collections::{BTreeMap, BTreeSet};

/// Where counter values come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// One more than what earlier runs left (`slipway run`).
    Continuing(BTreeMap<String, i64>),
    /// Only the values allocated to this run (the server); others are missing.
    Allocated,
}

/// Counter values: those this run has used, and where new ones come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    source: Source,
    this_run: BTreeMap<String, i64>,
    missing: BTreeSet<(String, i64)>,
}

impl Default for Counters {
    fn default() -> Self {
        Self::continuing(BTreeMap::new())
    }
}

impl Counters {
    /// Counters continuing from the values earlier runs left.
    #[must_use]
    pub fn continuing(previous: BTreeMap<String, i64>) -> Self {
        Self { source: Source::Continuing(previous), this_run: BTreeMap::new(), missing: BTreeSet::new() }
    }

    /// Counters with exactly the values allocated to this run; any other prefix asked for is
    /// [missing](Self::missing) (and reads as its seed meanwhile).
    #[must_use]
    pub fn allocated(this_run: BTreeMap<String, i64>) -> Self {
        Self { source: Source::Allocated, this_run, missing: BTreeSet::new() }
    }

    /// The value of `prefix` for this run: `seed` the first time the prefix is seen, one more than
    /// the last run's value afterwards. Every use in one run gives the same value.
    pub fn next(&mut self, prefix: &str, seed: i64) -> i64 {
        if let Some(value) = self.this_run.get(prefix) {
            return *value;
        }
        match &self.source {
            Source::Continuing(previous) => {
                let value = previous.get(prefix).map_or(seed, |last| last.saturating_add(1));
                self.this_run.insert(prefix.to_owned(), value);
                value
            }
            Source::Allocated => {
                self.missing.insert((prefix.to_owned(), seed));
                seed
            }
        }
    }

    /// The prefixes (with their seeds) asked for that have no value allocated yet: what was
    /// decided with them must be decided again once they have one.
    #[must_use]
    pub fn missing(&self) -> Vec<(String, i64)> {
        self.missing.iter().cloned().collect()
    }

    /// Every counter's latest value, to keep for the next run.
    #[must_use]
    pub fn values(&self) -> BTreeMap<String, i64> {
        let mut values = match &self.source {
            Source::Continuing(previous) => previous.clone(),
            Source::Allocated => BTreeMap::new(),
        };
        values.extend(self.this_run.iter().map(|(prefix, value)| (prefix.clone(), *value)));
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_the_seed_and_grow_once_per_run() {
        let mut first = Counters::continuing(BTreeMap::new());
        assert_eq!(first.next("1.2", 100), 100);
        assert_eq!(first.next("1.2", 100), 100, "the same value within one run");
        assert_eq!(first.next("1.3", 0), 0, "a new prefix starts at its seed");
        let mut second = Counters::continuing(first.values());
        assert_eq!(second.next("1.2", 100), 101);
        assert_eq!(second.next("1.3", 0), 1);
        assert_eq!(second.values().get("1.2"), Some(&101));
        assert!(second.missing().is_empty());
    }

    #[test]
    fn allocated_counters_give_their_values_and_name_the_missing_ones() {
        let mut counters = Counters::allocated([("1.2".to_owned(), 7)].into());
        assert_eq!(counters.next("1.2", 100), 7);
        assert_eq!(counters.next("2.0", 100), 100, "the seed while it is missing");
        assert_eq!(counters.next("2.0", 100), 100);
        assert_eq!(counters.missing(), [("2.0".to_owned(), 100)]);
        assert_eq!(counters.values(), [("1.2".to_owned(), 7)].into());
    }
}
