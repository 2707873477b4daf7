#!/usr/bin/env bash
# The concurrency-1 figures of bench/run.py checked with wrk: one connection, one thread,
# requests back to back, against Lumyx and against the upstream stand-in directly, for chat
# completions and for the Responses API, the ways alternating round by round.
#
#   make bench-wrk                                 # installs wrk (Debian's package) when missing
#   bench/wrk/run.sh [rounds=3] [seconds=10]       # STREAM=0: plain requests only
#
# With LUMYX_URL, LUMYX_KEY and UPSTREAM_URL set (base URLs without /v1), it measures those;
# otherwise it starts the stand-in (bench/upstream.py) and Lumyx as the benchmark serves it
# (bench/lumyx_server.py: gunicorn + gevent, SQLite, every feature on) and stops them after.
# Prints each run, then the medians over rounds: p50 and the added p50 (Lumyx minus direct,
# same round), and the Responses requests' added p50 minus chat's.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_EACH=${2:-10}
STREAM=${STREAM:-1}
PY=.venv/bin/python
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true  # (SIGINT is ignored by background jobs of a script)
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed: make wrk" >&2; exit 1; }

wait_for() { # file pattern
  for _ in $(seq 1 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  exit 1
}

if [[ -z "${LUMYX_URL:-}" ]]; then
  $PY bench/upstream.py --port 0 >"$WORK/upstream.log" 2>&1 &
  PIDS+=($!)
  wait_for "$WORK/upstream.log" "listening on"
  UPSTREAM_URL=$(grep -o 'http://[^ ]*' "$WORK/upstream.log" | head -1)
  PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  $PY bench/lumyx_server.py --upstream "$UPSTREAM_URL" --port "$PORT" --workdir "$WORK/lumyx" >"$WORK/lumyx.log" 2>&1 &
  PIDS+=($!)
  wait_for "$WORK/lumyx.log" " key "
  LUMYX_URL=http://127.0.0.1:$PORT
  LUMYX_KEY=$(sed -n 's/.* key \([^ ]*\)$/\1/p' "$WORK/lumyx.log")
fi
echo "Lumyx $LUMYX_URL, upstream $UPSTREAM_URL; $ROUNDS rounds of ${SECONDS_EACH}s per run; $(nproc) cores"

# case: name, lua script, path, model, STREAM
CASES=("chat chat.lua /v1/chat/completions bench-gpt 0" "responses responses.lua /v1/responses bench-responses 0")
if [[ "$STREAM" != 0 ]]; then
  CASES+=("chat-stream chat.lua /v1/chat/completions bench-gpt 1"
    "responses-stream responses.lua /v1/responses bench-responses 1")
fi

RESULTS=$WORK/results.txt
for round in $(seq 1 "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    read -r name lua path model stream <<<"$c"
    for way in direct lumyx; do
      if [[ $way == direct ]]; then url=$UPSTREAM_URL key=sk-bench; else url=$LUMYX_URL key=$LUMYX_KEY; fi
      line=$(KEY=$key MODEL=$model STREAM=$stream wrk -c1 -t1 -d"${SECONDS_EACH}s" --latency \
        -s "bench/wrk/$lua" "$url$path" | grep '^WRK ')
      echo "round=$round case=$name way=$way $line" | tee -a "$RESULTS"
    done
  done
done

$PY - "$RESULTS" <<'EOF'
import statistics
import sys

runs = [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in open(sys.argv[1])]
cases = list(dict.fromkeys(r["case"] for r in runs))
p50 = {(r["round"], r["case"], r["way"]): float(r["p50_us"]) / 1000 for r in runs}
rounds = sorted({r["round"] for r in runs}, key=int)
bad = [r for r in runs if r["errors"] != "0"]
if bad:
    print(f"WARNING: {len(bad)} runs had errors (non-2xx, timeouts): their numbers are not valid")
added = {c: [p50[(i, c, "lumyx")] - p50[(i, c, "direct")] for i in rounds] for c in cases}
print(f"\n{'request':<18} {'direct p50 ms':>14} {'Lumyx p50 ms':>13} {'added p50 ms':>13}  rounds")
for c in cases:
    d = statistics.median(p50[(i, c, "direct")] for i in rounds)
    g = statistics.median(p50[(i, c, "lumyx")] for i in rounds)
    print(f"{c:<18} {d:14.3f} {g:13.3f} {statistics.median(added[c]):13.3f}  " + " ".join(f"{a:.3f}" for a in added[c]))
for r, ch in (("responses", "chat"), ("responses-stream", "chat-stream")):
    if r in added and ch in added:
        diffs = [a - b for a, b in zip(added[r], added[ch])]
        print(
            f"{r} minus {ch}: added p50 {statistics.median(diffs):+.3f} ms (rounds "
            + " ".join(f"{x:+.3f}" for x in diffs)
            + ")"
        )
EOF
