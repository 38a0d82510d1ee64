//! OTLP traces of runs.
