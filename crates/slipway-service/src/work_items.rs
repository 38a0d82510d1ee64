//! Work items and incidents as people change and read them.
