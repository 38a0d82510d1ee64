//! Work items and incidents.
