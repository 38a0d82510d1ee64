//! Queries for the team dashboard.
