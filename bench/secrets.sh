#!/usr/bin/env bash
# Benchmark of secret scanning: precision and recall of `slipway scan secrets` on a labelled
# corpus the project generates (bench/secrets.py: ~580 secrets of 29 kinds planted in the shapes
# of real ones, made at random and never real, in 300 files with 1,200 decoys: hashes, UUIDs,
# placeholders, test fixtures, public keys, base64 that is not a secret), against detect-secrets
# (PyPI, installed into a virtual environment by this script) on the same corpus with its default
# plugins; and scanning speed in MB/s against a plain `grep -E` of the same rules (Slipway's
# default rules turned into POSIX regexes: the floor), all in one run, best of 3 for speed.
# Goal: recall >= 0.95 at precision >= 0.90, above detect-secrets on both.
#
# Usage: bench/secrets.sh [path/to/slipway]   (builds the release binary when none is given)
# SECRETS_BENCH_SEED=N changes the corpus; SECRETS_BENCH_VENV=DIR keeps detect-secrets there
# (default target/bench/detect-secrets-venv).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
slipway="${1:-}"
if [[ -z "$slipway" ]]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  cargo build --quiet --release -p slipway-cli --manifest-path "$root/Cargo.toml"
  slipway="$target/release/slipway"
fi
slipway="$(cd "$(dirname "$slipway")" && pwd)/$(basename "$slipway")"
seed="${SECRETS_BENCH_SEED:-42}"
venv="${SECRETS_BENCH_VENV:-$root/target/bench/detect-secrets-venv}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/bench/secrets.py" generate "$work/corpus" "$seed"
bytes="$(du -sb "$work/corpus" | cut -f1)"

# detect-secrets from PyPI, in a virtual environment of its own.
detect_secrets=""
if [[ ! -x "$venv/bin/detect-secrets" ]]; then
  mkdir -p "$(dirname "$venv")"
  if python3 -m venv "$venv" && "$venv/bin/pip" install --quiet detect-secrets; then
    :
  else
    echo "detect-secrets could not be installed from PyPI into $venv: it is left out of the table" >&2
  fi
fi
[[ -x "$venv/bin/detect-secrets" ]] && detect_secrets="$venv/bin/detect-secrets"

python3 "$root/bench/secrets.py" rules-to-ere "$root/crates/slipway-security/src/default-rules.toml" \
  "$work/rules-cs.txt" "$work/rules-ci.txt"

# Seconds for a command (best of 3), its standard output kept in $work/out.
best_of_3() {
  local best=""
  for _ in 1 2 3; do
    local start end
    start="$(date +%s.%N)"
    "$@" > "$work/out" 2> "$work/err" || true
    end="$(date +%s.%N)"
    best="$(awk -v b="$best" -v s="$start" -v e="$end" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; print b }')"
  done
  echo "$best"
}

grep_rules() {
  grep -rEn -f "$work/rules-cs.txt" . || true
  grep -rEin -f "$work/rules-ci.txt" . || true
}

cd "$work/corpus"
slipway_seconds="$(best_of_3 "$slipway" scan secrets . --format json --max-archive-depth 0)"
cp "$work/out" "$work/slipway.json"
grep_seconds="$(best_of_3 grep_rules)"
cp "$work/out" "$work/grep.txt"
if [[ -n "$detect_secrets" ]]; then
  # One run: it is far slower than the others.
  start="$(date +%s.%N)"
  "$detect_secrets" scan --all-files . > "$work/detect-secrets.json"
  end="$(date +%s.%N)"
  detect_seconds="$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')"
  detect_version="$("$detect_secrets" --version)"
fi
cd "$root"

labels="$work/labels.json"
echo
echo "corpus: $(awk -v b="$bytes" 'BEGIN { printf "%.2f MB", b / 1e6 }'), seed $seed; slipway: $slipway ($(nproc) cores)"
printf '%-24s %9s %7s %9s %8s %9s %8s  %s\n' tool precision recall reported right MB/s "x grep" "missed by kind"
row() {
  local name="$1" tool="$2" report="$3" seconds="$4"
  read -r _ precision recall reported right _ _ missed <<< "$(python3 "$root/bench/secrets.py" score "$labels" "$tool" "$report")"
  awk -v n="$name" -v p="$precision" -v r="$recall" -v rep="$reported" -v ri="$right" -v b="$bytes" -v s="$seconds" \
      -v g="$grep_seconds" -v m="$missed" 'BEGIN {
    mbs = (s > 0 ? b / 1e6 / s : 0); gmbs = (g > 0 ? b / 1e6 / g : 0)
    printf "%-24s %9.3f %7.3f %9d %8d %9.1f %8.2f  %s\n", n, p, r, rep, ri, mbs, (gmbs > 0 ? mbs / gmbs : 0), m
  }'
}
row "slipway" slipway "$work/slipway.json" "$slipway_seconds"
if [[ -n "$detect_secrets" ]]; then
  row "detect-secrets $detect_version" detect-secrets "$work/detect-secrets.json" "$detect_seconds"
else
  echo "detect-secrets            (not installed: see above)"
fi
row "grep -E (same rules)" grep "$work/grep.txt" "$grep_seconds"
echo "goal: slipway recall >= 0.95 at precision >= 0.90, above detect-secrets on both"
