#!/usr/bin/env bash
# The dead-route scenario of bench/routing.py with wrk: a model with three routes, 64
# connections, all routes healthy, then the first one refusing connections, then the first
# one a black hole that never answers (its timeout_s: 2 s), and the upstream stand-in hit
# directly; the ways alternating round by round.
#
#   make wrk && bench/wrk/routing.sh [rounds=3] [seconds=15]
#   CONNECTIONS=64 LATENCY_MS=500 ROUTING=balance|fallback
#
# Prints each run, then per model the medians over rounds: p50 and p99, the added p50 and
# p99 (Lumyx minus direct, same round), the p99 minus the healthy model's, and the share of
# requests that waited the dead route's timeout (latency >= upstream + 90 % of timeout_s).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_EACH=${2:-15}
CONNECTIONS=${CONNECTIONS:-64}
LATENCY_MS=${LATENCY_MS:-500}
TIMEOUT_S=2
PY=.venv/bin/python
WORK=$(mktemp -d)
SETUP=

cleanup() {
  [[ -n "$SETUP" ]] && kill -TERM "$SETUP" 2>/dev/null && wait "$SETUP" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed: make wrk" >&2; exit 1; }
$PY bench/routing.py --serve --latency-ms "$LATENCY_MS" --timeout-s "$TIMEOUT_S" --routing "${ROUTING:-balance}" \
  >"$WORK/setup.log" 2>&1 &
SETUP=$!
for _ in $(seq 1 900); do
  grep -q " ready" "$WORK/setup.log" && break
  kill -0 "$SETUP" 2>/dev/null || { cat "$WORK/setup.log" >&2; exit 1; }
  sleep 0.1
done
LUMYX_URL=$(sed -n 's/^[^:]*: \(http:[^ ]*\) key .*/\1/p' "$WORK/setup.log" | head -1)
LUMYX_KEY=$(sed -n 's/.* key \([^ ]*\)$/\1/p' "$WORK/setup.log" | head -1)
UPSTREAM_URL=$(sed -n 's/^upstream \(http:[^ ]*\) .*/\1/p' "$WORK/setup.log")
echo "Lumyx $LUMYX_URL, upstream $UPSTREAM_URL (${LATENCY_MS} ms); $ROUNDS rounds of ${SECONDS_EACH}s, $CONNECTIONS connections; $(nproc) cores"
WAITED_US=$(( (LATENCY_MS + TIMEOUT_S * 900) * 1000 ))

RESULTS=$WORK/results.txt
for round in $(seq 1 "$ROUNDS"); do
  for way in direct healthy refused blackhole; do
    if [[ $way == direct ]]; then url=$UPSTREAM_URL key=sk-bench model=bench-gpt
    elif [[ $way == healthy ]]; then url=$LUMYX_URL key=$LUMYX_KEY model=bench-routed
    else url=$LUMYX_URL key=$LUMYX_KEY model=bench-routed-$way; fi
    line=$(KEY=$key MODEL=$model WAITED_US=$WAITED_US wrk -c"$CONNECTIONS" -t2 -d"${SECONDS_EACH}s" --timeout 30s \
      --latency -s bench/wrk/chat.lua "$url/v1/chat/completions" | grep '^WRK ')
    echo "round=$round way=$way $line" | tee -a "$RESULTS"
  done
done

$PY - "$RESULTS" <<'PYEOF'
import statistics
import sys

runs = [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in open(sys.argv[1])]
rounds = sorted({r["round"] for r in runs}, key=int)
get = {(r["round"], r["way"]): r for r in runs}
ms = lambda r, k: float(r[k]) / 1000  # noqa: E731
bad = [r for r in runs if r["errors"] != "0"]
if bad:
    print(f"WARNING: {len(bad)} runs had errors (non-2xx, timeouts): their numbers are not valid")
print(f"\n{'model':<10} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'added p99':>10} {'p99-healthy':>12} {'waited %':>9}  requests")
for way in ("direct", "healthy", "refused", "blackhole"):
    med = lambda f: statistics.median(f(i) for i in rounds)  # noqa: E731
    p50, p99 = med(lambda i: ms(get[(i, way)], "p50_us")), med(lambda i: ms(get[(i, way)], "p99_us"))
    a50 = med(lambda i: ms(get[(i, way)], "p50_us") - ms(get[(i, "direct")], "p50_us"))
    a99 = med(lambda i: ms(get[(i, way)], "p99_us") - ms(get[(i, "direct")], "p99_us"))
    over = med(lambda i: ms(get[(i, way)], "p99_us") - ms(get[(i, "healthy")], "p99_us"))
    waited = " ".join(get[(i, way)].get("waited_pct", "-") for i in rounds)
    total = sum(int(get[(i, way)]["requests"]) for i in rounds)
    print(f"{way:<10} {p50:8.1f} {p99:8.1f} {a50:10.1f} {a99:10.1f} {over:+12.1f} {waited:>9}  {total}")
PYEOF
