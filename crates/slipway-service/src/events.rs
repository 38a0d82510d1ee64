//! The event stream as people read it and push into it.
