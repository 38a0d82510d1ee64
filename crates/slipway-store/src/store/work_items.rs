//! [`Store`]'s work items and incidents.
