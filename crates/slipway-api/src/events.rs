//! The event stream: CDEvents as structured CloudEvents, read and pushed in.
