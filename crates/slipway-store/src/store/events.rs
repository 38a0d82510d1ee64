//! [`Store`]'s event stream: the outbox of changes, the stream's events and its consumers'
//! cursors.

use super::Store;
use crate::error::Result;
use crate::model::{ChangeRecord, EventFilter, NewStreamEvent, StreamEvent};

impl Store {
    /// The changes recorded after `after` (a change's id), oldest first; at most `limit` (1 to
    /// 10,000).
    ///
    /// # Errors
    /// When the database cannot be read, or a change is of a kind this version does not know.
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<ChangeRecord>> {
        dispatch!(self, events::changes_after(after, limit))
    }

    /// Adds events to the stream, in order, each unless one with the same source and id is
    /// there already; and, in the same transaction, moves the cursor `name` forward to
    /// `position` (never back). Returns the positions of the events added.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn append_stream_events(
        &self,
        events: &[NewStreamEvent],
        cursor: Option<(&str, i64)>,
    ) -> Result<Vec<i64>> {
        dispatch!(self, events::append_stream_events(events, cursor))
    }

    /// Where the consumer `name` has read up to, if it has begun.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn event_cursor(&self, name: &str) -> Result<Option<i64>> {
        dispatch!(self, events::event_cursor(name))
    }

    /// Moves the cursor of consumer `name` forward to `position` (never back).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn set_event_cursor(&self, name: &str, position: i64) -> Result<()> {
        dispatch!(self, events::set_event_cursor(name, position))
    }

    /// The stream's events that `filter` selects, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_stream_events(&self, filter: &EventFilter) -> Result<Vec<StreamEvent>> {
        dispatch!(self, events::list_stream_events(filter))
    }

    /// The position of the stream's newest event (0 when it has none).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn latest_event_position(&self) -> Result<i64> {
        dispatch!(self, events::latest_event_position())
    }

    /// Deletes the changes up to `through` (which the stream has been fed), returning how many.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn prune_changes(&self, through: i64) -> Result<u64> {
        dispatch!(self, events::prune_changes(through))
    }
}
