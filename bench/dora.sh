#!/usr/bin/env bash
# DORA queries over a year of history (see crates/slipway-insights/benches/dora.rs): 10,000
# deployments recorded in a real SQLite store through its API, then every metric's series over
# 180 days for every interval and the five metrics of the whole year, each read from the store
# and computed as the service layer does, against reading the same rows alone.
# DORA_BENCH_DEPLOYMENTS=N for another history size, DORA_BENCH_ROUNDS=N repetitions per query.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo bench --quiet -p slipway-insights --bench dora --manifest-path "$root/Cargo.toml"
