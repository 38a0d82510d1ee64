//! Azure's `counter(prefix, seed)`: a number per prefix that starts at `seed` and grows by one on
//! every run of the same pipeline. The state is plain data: the caller loads the values earlier
//! runs left and stores [`Counters::values`] after the run.

use std::collections::BTreeMap;

/// Counter values: those earlier runs left, and those this run has used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    previous: BTreeMap<String, i64>,
    this_run: BTreeMap<String, i64>,
}

impl Counters {
    /// Counters continuing from the values earlier runs left.
    #[must_use]
    pub fn new(previous: BTreeMap<String, i64>) -> Self {
        Self { previous, this_run: BTreeMap::new() }
    }

    /// The value of `prefix` for this run: `seed` the first time the prefix is seen, one more than
    /// the last run's value afterwards. Every use in one run gives the same value.
    pub fn next(&mut self, prefix: &str, seed: i64) -> i64 {
        if let Some(value) = self.this_run.get(prefix) {
            return *value;
        }
        let value = self.previous.get(prefix).map_or(seed, |last| last.saturating_add(1));
        self.this_run.insert(prefix.to_owned(), value);
        value
    }

    /// Every counter's latest value, to keep for the next run.
    #[must_use]
    pub fn values(&self) -> BTreeMap<String, i64> {
        let mut values = self.previous.clone();
        values.extend(self.this_run.iter().map(|(prefix, value)| (prefix.clone(), *value)));
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_the_seed_and_grow_once_per_run() {
        let mut first = Counters::new(BTreeMap::new());
        assert_eq!(first.next("1.2", 100), 100);
        assert_eq!(first.next("1.2", 100), 100, "the same value within one run");
        assert_eq!(first.next("1.3", 0), 0, "a new prefix starts at its seed");
        let mut second = Counters::new(first.values());
        assert_eq!(second.next("1.2", 100), 101);
        assert_eq!(second.next("1.3", 0), 1);
        assert_eq!(second.values().get("1.2"), Some(&101));
    }
}
