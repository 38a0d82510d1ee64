//! The event stream: changes recorded with state changes, events, cursors.
