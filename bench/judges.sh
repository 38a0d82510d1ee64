#!/usr/bin/env bash
# The canary judges' detection and false-alarm rates over seeded trials of generated traffic
# (see crates/slipway-delivery/benches/judges.rs): a 2-point error-rate regression, a 20% latency
# regression, and a good canary, for 5 to 50 samples per side. JUDGES_TRIALS=N trials per cell.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo bench --quiet -p slipway-delivery --bench judges --manifest-path "$root/Cargo.toml"
