#!/usr/bin/env bash
# Benchmark of agents: one run of a pipeline of 1,000 jobs of one trivial step each,
#
#   (a) through `slipway serve --local-agents 0` and 4 `slipway agent` processes (HTTP, loopback),
#   (b) through `slipway serve --local-agents 4` (in-process agents, no HTTP),
#
# printing for each the jobs per second (1,000 over the time from the first job queued to the
# last job finished), the p50 and p99 of the time from a job becoming ready (queued) to its step
# starting (with 1,000 jobs ready at once, mostly the wait for a free agent) and of the time from
# a job being leased to its step starting (the cost of handing a job out), all read from the
# server's stored timestamps, and the ratios (a)/(b) from one run each. It also prints the resident memory (VmRSS) of an idle agent, registered and waiting
# for jobs (goal: under 15 MB).
#
# Usage: bench/agents.sh [path/to/slipway]   (builds the release binary when none is given)
# Needs python3 (its sqlite3 module reads the server's database) and curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
slipway="${1:-}"
if [[ -z "$slipway" ]]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  cargo build --quiet --release -p slipway-cli --manifest-path "$root/Cargo.toml"
  slipway="$target/release/slipway"
fi
jobs=${BENCH_JOBS:-1000}
agents=4

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export NO_COLOR=1

# The pipeline: $jobs independent jobs of one trivial step each.
mkdir -p "$work/repo"
{
  echo "trigger: none"
  echo "jobs:"
  for job in $(seq 1 "$jobs"); do
    echo "- job: J$job"
    echo "  steps:"
    echo "  - checkout: none"
    echo "  - script: echo job $job"
  done
} > "$work/repo/azure-pipelines.yml"
git -C "$work/repo" init --quiet -b main
git -C "$work/repo" add .
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.com commit --quiet -m bench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts a server on $1 (data directory) with $2 in-process agents; sets url and token.
start_server() {
  local data="$1" local_agents="$2" port
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  "$slipway" serve --data-dir "$data" --listen "127.0.0.1:$port" --local-agents "$local_agents" \
    --no-example --poll-interval 0 >"$data.log" 2>&1 &
  pids+=($!)
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "$url/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  token="$(cat "$data/admin-token")"
}

api() { curl -fsS -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }

# Runs the pipeline once on the server at $url; waits until the run completed.
run_pipeline() {
  api -X POST -d "{\"name\":\"bench\",\"repository\":\"$work/repo\"}" "$url/api/v1/pipelines" >/dev/null
  local run
  run="$(api -X POST -d '{}' "$url/api/v1/pipelines/bench/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  while :; do
    status="$(api "$url/api/v1/runs/$run" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["result"])')"
    [[ "$status" == completed* ]] && break
    sleep 0.2
  done
  echo "$status"
}

# Prints "jobs_per_second p50_ms p99_ms lease_p50_ms lease_p99_ms" from the database in $1: ready
# (queued) to step start, and leased to step start (the dispatch cost without the queue's wait).
measure() {
  python3 - "$1/slipway.db" "$jobs" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
expected = int(sys.argv[2])
rows = db.execute(
    "SELECT j.queued_at, j.finished_at, j.started_at, (SELECT MIN(s.started_at) FROM steps s WHERE s.job_id = j.id "
    "AND s.display_name NOT LIKE 'Checkout%') FROM jobs j JOIN runs r ON r.id = j.run_id "
    "JOIN pipelines p ON p.id = r.pipeline_id WHERE p.name = 'bench'").fetchall()
assert len(rows) == expected, f"{len(rows)} jobs"
waits = sorted(step - queued for queued, _, _, step in rows)
dispatch = sorted(step - leased for _, _, leased, step in rows)
span = (max(row[1] for row in rows) - min(row[0] for row in rows)) / 1000
def pct(values, p):
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
print(f"{expected / span:.1f} {pct(waits, 50)} {pct(waits, 99)} {pct(dispatch, 50)} {pct(dispatch, 99)}")
EOF
}

echo "Pipeline: $jobs jobs of one trivial step, one run each way, $(nproc) cores."

# (a) 4 agent processes.
start_server "$work/a" 0
for n in $(seq 1 "$agents"); do
  reg="$(api -X POST -d '{}' "$url/api/v1/registration-tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
  "$slipway" agent --server "$url" --token "$reg" --name "bench-$n" --work-dir "$work/agent-$n" \
    >"$work/agent-$n.log" 2>&1 &
  pids+=($!)
  agent_pids[$n]=$!
done
for _ in $(seq 1 300); do
  idle="$(api "$url/api/v1/agents" | python3 -c 'import json,sys; print(sum(a["state"] == "idle" for a in json.load(sys.stdin)["agents"]))')"
  [[ "$idle" == "$agents" ]] && break
  sleep 0.1
done
sleep 1
rss_idle="$(awk '/VmRSS/ {print $2}' "/proc/${agent_pids[1]}/status")"
result_a="$(run_pipeline)"
rss_after="$(awk '/VmRSS/ {print $2}' "/proc/${agent_pids[1]}/status")"
read -r rate_a p50_a p99_a l50_a l99_a <<<"$(measure "$work/a")"
kill "$server_pid" "${agent_pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()

# (b) 4 in-process agents.
start_server "$work/b" "$agents"
result_b="$(run_pipeline)"
read -r rate_b p50_b p99_b l50_b l99_b <<<"$(measure "$work/b")"
kill "$server_pid" 2>/dev/null || true
wait 2>/dev/null || true
pids=()

printf '%-40s %8s %16s %16s %17s %17s  %s\n' "" "jobs/s" "ready→step p50" "ready→step p99" "leased→step p50" "leased→step p99" "run"
printf '%-40s %8s %13s ms %13s ms %14s ms %14s ms  %s\n' "(a) server + $agents agent processes" "$rate_a" "$p50_a" "$p99_a" "$l50_a" "$l99_a" "$result_a"
printf '%-40s %8s %13s ms %13s ms %14s ms %14s ms  %s\n' "(b) server + $agents in-process agents" "$rate_b" "$p50_b" "$p99_b" "$l50_b" "$l99_b" "$result_b"
python3 - "$rate_a" "$rate_b" "$p50_a" "$p50_b" "$p99_a" "$p99_b" "$l50_a" "$l50_b" "$l99_a" "$l99_b" <<'EOF'
import sys
ra, rb, pa, pb, qa, qb, la, lb, ma, mb = map(float, sys.argv[1:])
ratio = lambda x, y: f"{x / y:.2f}x" if y else "n/a"
print(f"ratio (a)/(b): jobs/s {ratio(ra, rb)}; ready→step p50 {ratio(pa, pb)}, p99 {ratio(qa, qb)}; "
      f"leased→step p50 {ratio(la, lb)}, p99 {ratio(ma, mb)}")
EOF
echo "idle agent memory (VmRSS of bench-1 registered and waiting): $((rss_idle / 1024)).$(( (rss_idle % 1024) * 10 / 1024 )) MB; after the run: $((rss_after / 1024)).$(( (rss_after % 1024) * 10 / 1024 )) MB"
