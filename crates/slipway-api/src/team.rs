//! The team dashboard: pipeline health, flaky tests, queue times, agent use (wire types).
