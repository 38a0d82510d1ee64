#!/usr/bin/env bash
# Server benchmarks (issue 5): idle memory; the runs API and runs page with 10,000 runs stored,
# under wrk; log lines per second ingested and streamed to 100 live followers.
# Figures are printed next to a baseline measured in the same run (the health endpoint for
# latency, one follower for streaming). Needs wrk (apt-get install wrk), curl and git.
#
#   bench/server.sh [RUNS] [LOG_LINES]      defaults: 10000 runs, 200000 log lines
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000}
log_lines=${2:-200000}
for tool in wrk curl git; do
  command -v "$tool" >/dev/null || { echo "bench/server.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin slipway
cargo build --release --quiet -p slipway-server --example seed_runs --example follow_bench
target_dir=${CARGO_TARGET_DIR:-target}
bin="$target_dir/release/slipway"
examples="$target_dir/release/examples"
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
address="127.0.0.1:$port"
start_server() {
  "$bin" serve --data-dir "$work/data" --listen "$address" >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    curl -fsS "http://$address/api/v1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not start; its output:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

echo "== idle memory"
start_server
token=$(tr -d '\n' <"$work/data/admin-token")
sleep 5
idle=$(rss_kb "$server_pid")
printf 'server idle RSS after start: %.1f MB (goal: under 30 MB)\n' "$(echo "$idle / 1024" | bc -l)"
stop_server

echo "== seeding $runs runs"
"$examples/seed_runs" "$work/data" "$runs" bench
start_server
sleep 2
loaded=$(rss_kb "$server_pid")
printf 'server idle RSS with %s runs stored: %.1f MB\n' "$runs" "$(echo "$loaded / 1024" | bc -l)"

auth="Authorization: Bearer $token"
# The web UI's pages need a session: sign in through the login form as a browser does.
jar="$work/cookies"
login_page=$(curl -fsS -c "$jar" "http://$address/login")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$login_page" | head -1)
curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "next=/" \
  --data-urlencode "user=admin" --data-urlencode "token=$token" "http://$address/login"
session=$(awk '$6 == "slipway_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "could not sign in to the web UI" >&2; exit 1; }
cookie="Cookie: slipway_session=$session"
latency() { # name url [header]
  local output p50 p99 rps status
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "${3:-$auth}" "$2")
  [ "$status" = 200 ] || { echo "$2 answered $status, not 200" >&2; exit 1; }
  output=$(wrk -t2 -c16 -d10s --latency -H "${3:-$auth}" "$2")
  p50=$(awk '/^ +50%/ { print $2 }' <<<"$output")
  p99=$(awk '/^ +99%/ { print $2 }' <<<"$output")
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$output")
  printf '%-34s p50 %-9s p99 %-9s %s req/s\n' "$1" "$p50" "$p99" "$rps"
}
echo "== latency under wrk (2 threads, 16 connections, 10 s each)"
latency "GET /api/v1/health (no auth)" "http://$address/api/v1/health"
latency "GET /api/v1/me (auth, baseline)" "http://$address/api/v1/me"
latency "GET /api/v1/runs?limit=50" "http://$address/api/v1/runs?limit=50"
latency "GET /api/v1/runs?pipeline=bench" "http://$address/api/v1/runs?pipeline=bench&limit=50"
latency "GET /pipelines/bench (runs page)" "http://$address/pipelines/bench" "$cookie"
latency "GET /runs/ID (run page)" "http://$address/runs/$((runs / 2))" "$cookie"
loaded=$(rss_kb "$server_pid")
printf 'server RSS after the load: %.1f MB\n' "$(echo "$loaded / 1024" | bc -l)"

echo "== log streaming: $log_lines lines"
repo="$work/repo"
mkdir -p "$repo"
cat >"$repo/azure-pipelines.yml" <<YAML
trigger: none
steps:
- script: seq -f 'log line %.0f of the streaming benchmark' 1 $log_lines
  displayName: Print $log_lines lines
YAML
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=bench -c user.email=bench@example.com add . 
git -C "$repo" -c user.name=bench -c user.email=bench@example.com commit -qm bench
curl -fsS -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"name\":\"stream\",\"repository\":\"$repo\",\"yamlPath\":\"azure-pipelines.yml\"}" \
  "http://$address/api/v1/pipelines" >/dev/null
stream() { # followers
  local run started
  started=$(date +%s.%N)
  run=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' -d '{}' \
    "http://$address/api/v1/pipelines/stream/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  local result
  result=$("$examples/follow_bench" "$address" "$token" "$run" "$1")
  python3 - "$result" "$started" "$log_lines" "$1" <<'PY'
import json, sys, time
result = json.loads(sys.argv[1]); lines = int(sys.argv[3]); followers = int(sys.argv[4])
seconds = result["lastEndSeconds"]
print(f"{followers:>3} follower(s): each got {result['minLines']}..{result['maxLines']} lines; "
      f"last follower done after {seconds:.2f} s: {lines / seconds:,.0f} lines/s ingested and streamed, "
      f"{lines * followers / seconds:,.0f} lines/s delivered")
PY
  echo "$result" >>"$work/stream.jsonl"
}
stream 1
stream 100
python3 - "$work/stream.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
one, hundred = rows[0]["lastEndSeconds"], rows[1]["lastEndSeconds"]
print(f"ratio: the run followed by 100 took {hundred / one:.2f}x the time of the run followed by 1")
PY
stop_server
