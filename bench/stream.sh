#!/usr/bin/env bash
# The event stream's throughput with its consumers on (see crates/slipway-service/benches/stream.rs):
# events per second made by the feeder from recorded changes, read by the work-item automation, sent
# as signed webhooks by notifications and as OTLP traces to receivers on loopback, each alone and all at once
# (as the server runs them), against appending ready-made events. STREAM_RUNS=N runs (default 2,000;
# 3 changes each).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo bench --quiet -p slipway-service --bench stream --manifest-path "$root/Cargo.toml"
