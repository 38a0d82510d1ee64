#!/usr/bin/env bash
# Benchmark of `slipway run` against a plain bash loop running the same commands.
#
#   (a) a pipeline of 3 stages with 10 + 10 + 1 jobs of one trivial step each
#   (b) one job of 200 trivial steps
#   (c) and (d): the same two as GitHub Actions workflows (21 jobs in three waves joined by
#       `needs`; one job of 200 `run` steps), run by the GitHub runtime. act, the usual way to
#       run workflows locally, needs Docker for every job and cannot run on this machine, so it
#       is not measured here.
#
# For each, Slipway's wall time and peak memory (max RSS, from GNU time) are printed next to a
# bash loop that runs the same scripts the same way (`bash --noprofile --norc FILE`, one after
# the other), and the ratios, from one run. Goal: within 2x of the bash loop and under 20 MB.
#
# Usage: bench/run.sh [path/to/slipway]   (builds the release binary when none is given)
# Needs GNU time at /usr/bin/time (Debian: apt-get install time).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
slipway="${1:-}"
if [[ -z "$slipway" ]]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  cargo build --quiet --release -p slipway-cli --manifest-path "$root/Cargo.toml"
  slipway="$target/release/slipway"
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SLIPWAY_WORK_DIR="$work/slipway-work" NO_COLOR=1

# (a) 3 stages: 10 + 10 + 1 jobs, one trivial step each.
mkdir -p "$work/a"
{
  echo "stages:"
  for stage in 1 2 3; do
    echo "- stage: S$stage"
    echo "  jobs:"
    count=10; [[ $stage == 3 ]] && count=1
    for job in $(seq 1 "$count"); do
      echo "  - job: J$job"
      echo "    steps:"
      echo "    - checkout: none"
      echo "    - script: echo stage $stage job $job"
    done
  done
} > "$work/a/azure-pipelines.yml"

# (b) one job of 200 trivial steps.
mkdir -p "$work/b"
{
  echo "steps:"
  echo "- checkout: none"
  for step in $(seq 1 200); do
    echo "- script: echo step $step"
  done
} > "$work/b/azure-pipelines.yml"

# (c) the workflow equivalent of (a): 10 jobs, 10 that need all of them, 1 that needs those.
mkdir -p "$work/c/.github/workflows"
{
  echo "on: push"
  echo "jobs:"
  for wave in 1 2 3; do
    count=10; [[ $wave == 3 ]] && count=1
    for job in $(seq 1 "$count"); do
      echo "  w${wave}_j$job:"
      echo "    runs-on: ubuntu-latest"
      if [[ $wave -gt 1 ]]; then
        previous=$((wave - 1)); needs=""
        for other in $(seq 1 10); do needs="$needs${needs:+, }w${previous}_j$other"; done
        echo "    needs: [$needs]"
      fi
      echo "    steps:"
      echo "      - run: echo wave $wave job $job"
    done
  done
} > "$work/c/.github/workflows/ci.yml"

# (d) the workflow equivalent of (b): one job of 200 `run` steps.
mkdir -p "$work/d/.github/workflows"
{
  echo "on: push"
  echo "jobs:"
  echo "  steps:"
  echo "    runs-on: ubuntu-latest"
  echo "    steps:"
  for step in $(seq 1 200); do
    echo "      - run: echo step $step"
  done
} > "$work/d/.github/workflows/ci.yml"

# The bash loop: the same scripts, each written to a file and run the way the agent runs it.
cat > "$work/loop.sh" <<'LOOP'
#!/usr/bin/env bash
count="$1"; dir="$(mktemp -d)"
for i in $(seq 1 "$count"); do
  printf 'echo step %s\n' "$i" > "$dir/$i.sh"
  bash --noprofile --norc "$dir/$i.sh"
done
rm -rf "$dir"
LOOP
chmod +x "$work/loop.sh"

# Prints "seconds kilobytes" for a command.
measure() {
  local log="$work/time.log"
  /usr/bin/time -v -o "$log" "$@" > /dev/null
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log")"
  rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")"
  echo "$wall $rss"
}

report() {
  local name="$1" slip="$2" loop="$3"
  read -r slip_wall slip_rss <<< "$slip"
  read -r loop_wall loop_rss <<< "$loop"
  awk -v name="$name" -v sw="$slip_wall" -v sr="$slip_rss" -v lw="$loop_wall" -v lr="$loop_rss" 'BEGIN {
    printf "%-34s slipway %6.2fs %6.1f MB | bash loop %6.2fs %6.1f MB | wall x%.2f, memory x%.2f\n",
      name, sw, sr / 1024, lw, lr / 1024, (lw > 0 ? sw / lw : 0), (lr > 0 ? sr / lr : 0)
  }'
}

echo "slipway: $slipway ($(nproc) cores)"
a_slip="$(measure "$slipway" run "$work/a/azure-pipelines.yml")"
a_loop="$(measure "$work/loop.sh" 21)"
report "(a) 3 stages, 10+10+1 jobs" "$a_slip" "$a_loop"
b_slip="$(measure "$slipway" run "$work/b/azure-pipelines.yml")"
b_loop="$(measure "$work/loop.sh" 200)"
report "(b) 1 job, 200 steps" "$b_slip" "$b_loop"
c_slip="$(measure "$slipway" run "$work/c/.github/workflows/ci.yml")"
report "(c) workflow, 10+10+1 jobs (needs)" "$c_slip" "$a_loop"
d_slip="$(measure "$slipway" run "$work/d/.github/workflows/ci.yml")"
report "(d) workflow, 1 job, 200 steps" "$d_slip" "$b_loop"
echo "act: not measured (it needs Docker for every job, and there is no container engine here)"
