//! Telemetry: the server's metrics in Prometheus's format, with the OpenTelemetry CI/CD names.
