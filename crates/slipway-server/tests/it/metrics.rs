//! `/metrics` scraped by a real Prometheus.
