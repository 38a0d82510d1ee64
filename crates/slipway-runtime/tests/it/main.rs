//! Integration tests of the runtime: plans built in Rust, run end to end with real processes.

mod act;
mod github;
mod local;
mod tasks;

use std::sync::Mutex;

use slipway_events::{Event, EventSink};

/// An event sink that keeps every event.
#[derive(Default)]
pub(crate) struct Collect(pub(crate) Mutex<Vec<Event>>);

impl EventSink for Collect {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
