//! Where the store's times come from. Every time the store records or compares (lease expiry,
//! token expiry, retention) comes from its clock, never from the database server's, so that both
//! backends behave alike and tests can move time forward.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::model::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(i64::try_from(slipway_events::now_ms()).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until moved, for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.millis()))
    }

    /// Moves the clock forward (or back, with a negative amount) by `milliseconds`.
    pub fn advance_millis(&self, milliseconds: i64) {
        self.0.fetch_add(milliseconds, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, time: Timestamp) {
        self.0.store(time.millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
