#!/usr/bin/env bash
# Benchmark of the traffic router (slipway-delivery): its latency at 1,000 requests/s and its
# requests/s at saturation, against a direct connection to the same upstream and against nginx
# proxying to it (when installed: apt-get install nginx-light), all in one run; prints the
# ratios. ROUTER_BENCH_SECONDS=N measures each figure for N seconds (default 3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo bench --quiet -p slipway-delivery --bench router --manifest-path "$root/Cargo.toml"
