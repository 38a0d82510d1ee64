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

/// The system's clock shifted by an offset that can be changed, for tests of a running server
/// (leases and heartbeats go on as usual; timeouts and business hours see the shifted time).
#[derive(Debug, Default)]
pub struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    /// The system's clock, not shifted yet.
    #[must_use]
    pub fn new() -> Self {
        Self(AtomicI64::new(0))
    }

    /// Shifts the clock forward (or back, with a negative amount) by `milliseconds` more.
    pub fn shift_millis(&self, milliseconds: i64) {
        self.0.fetch_add(milliseconds, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp(SystemClock.now().millis().saturating_add(self.0.load(Ordering::SeqCst)))
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
