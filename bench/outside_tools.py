"""The benchmark's ways measured with outside tools: wrk for latency and throughput, h2load for
the time to first byte of concurrent streams.

    make bench-outside                     # installs wrk and h2load (Debian's) when missing, then runs this
    .venv/bin/python bench/outside_tools.py [--rounds 3] [--seconds 10] [--only wrk,h2load] [--stream]
        [--quick] [--no-litellm] [--no-portkey] [--no-nginx] [--no-postgres]

Starts the stand-in and every way bench/run.py compares (the stand-in direct, Lumyx on SQLite, Lumyx
on PostgreSQL + Redis when both answer, LiteLLM, Portkey and nginx when installed), then, round after
round, the ways alternating within each round:

* wrk (bench/wrk/chat.lua, messages.lua, responses.lua: the bodies the generator sends) on OpenAI chat
  completions, Anthropic messages and the OpenAI Responses API, plain (`--stream`: streamed too, at
  concurrency 1): one connection (`-c1 -t1`), then 64 (`-c64 -t2`); p50 and p99 as wrk measures them
  (from the request's write to the response's last byte) and requests a second;
* h2load `--h1` (HTTP/1.1, one request a connection): 64 streamed chat completions at once, the
  stand-in sending 20 chunks 50 ms apart; h2load's "time to 1st byte" (from each connection's start)
  gives its mean and max over the 64 streams (h2load reports no percentiles: of 64, the max is the p99).

Prints every run, then the medians over rounds, each way's figure set against the direct one of the
same round ("added"). Lumyx's key, Portkey's routing headers and the others' keys are the ones the
benchmark uses; a hand-run command is printed with each line (`-v`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
import run  # noqa: E402
import ways as W  # noqa: E402

WRK = BENCH / "wrk"
# name, lua script, path under /v1, format, model, streamed
CASES = [
    ("chat", "chat.lua", "/chat/completions", "openai", "bench-gpt", False),
    ("messages", "messages.lua", "/messages", "anthropic", "bench-claude", False),
    ("responses", "responses.lua", "/responses", "responses", "bench-responses", False),
]
STREAMED = [(n + "-stream", lua, path, fmt, model, True) for n, lua, path, fmt, model, _ in CASES]
STREAMS, CHUNKS, CHUNK_MS = 64, 20, 50


def _headers(way: W.Way, fmt: str, model: str) -> dict:
    return way.headers(fmt, model) if way.headers else {}


def wrk(way: W.Way, case: tuple, connections: int, seconds: float, verbose: bool) -> dict:
    name, lua, path, fmt, model, stream = case
    cmd = ["wrk", f"-c{connections}", f"-t{min(connections, 2)}", f"-d{seconds:g}s", "--latency"]
    for k, v in _headers(way, fmt, model).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd += ["-s", str(WRK / lua), way.base + path]
    env = {"PATH": "/usr/bin:/bin:/usr/sbin", "KEY": way.key, "MODEL": model, "STREAM": "1" if stream else "0"}
    if verbose:
        print(f"  KEY=… MODEL={model} STREAM={env['STREAM']} {' '.join(cmd)}", flush=True)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line for {way.name} {name}:\n{out}")
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_TTFB = re.compile(r"time to 1st byte:\s+(\S+?)(us|ms|s)\s+(\S+?)(us|ms|s)\s+(\S+?)(us|ms|s)")
_DONE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored")
_2XX = re.compile(r"status codes: (\d+) 2xx")


def h2load(way: W.Way, body: Path, verbose: bool) -> dict:
    """64 streamed chat completions at once, one a connection: time to first byte in ms."""
    cmd = ["h2load", "--h1", f"-n{STREAMS}", f"-c{STREAMS}", "-m1", "-d", str(body)]
    headers = {"content-type": "application/json", "authorization": f"Bearer {way.key}"}
    for k, v in (headers | _headers(way, "openai", "bench-gpt")).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(way.base + "/chat/completions")
    if verbose:
        print("  " + " ".join(cmd).replace(way.key, "…"), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m, done, ok = _TTFB.search(out), _DONE.search(out), _2XX.search(out)
    if not (m and done and ok):
        raise RuntimeError(f"h2load's output not understood for {way.name}:\n{out}")
    value = [float(m[i]) * _UNIT[m[i + 1]] for i in (1, 3, 5)]
    return {"min_ms": value[0], "max_ms": value[1], "mean_ms": value[2], "ok": int(ok[1]), "failed": int(done[3])}


def _med(xs: list) -> float:
    return statistics.median(xs) if xs else float("nan")


def report_wrk(runs: list[dict], ways: list[W.Way], cases: list[tuple]) -> list[str]:
    out: list[str] = []
    direct = ways[0].name
    out.append(
        f"\n{'request':<17} {'way':<28} {'c1 p50 ms':>9} {'added':>7} {'c64 req/s':>10} {'c64 p50':>8} "
        f"{'c64 p99':>8} {'added p99':>9} {'errors':>6}"
    )
    added_c1: dict = {}
    for case in cases:
        for way in ways:

            def of(c, key, w=way.name, name=case[0]):
                return [r[key] for r in runs if r["case"] == name and r["way"] == w and r["c"] == c]

            def added(c, key, w=way.name, name=case[0]):
                mine = {r["round"]: r[key] for r in runs if r["case"] == name and r["way"] == w and r["c"] == c}
                base = {r["round"]: r[key] for r in runs if r["case"] == name and r["way"] == direct and r["c"] == c}
                return [W.minus_direct(mine[i], base[i]) for i in mine if i in base]

            if not of(1, "p50_ms"):
                continue
            added_c1[(case[0], way.name)] = added(1, "p50_ms")
            errors = int(sum(of(1, "errors") + of(64, "errors")))
            c64 = bool(of(64, "rps"))
            out.append(
                f"{case[0]:<17} {way.name[:28]:<28} {_med(of(1, 'p50_ms')):9.3f} "
                + (f"{_med(added(1, 'p50_ms')):7.3f}" if way is not ways[0] else " " * 7)
                + (
                    f" {_med(of(64, 'rps')):10.0f} {_med(of(64, 'p50_ms')):8.2f} {_med(of(64, 'p99_ms')):8.2f} "
                    + (f"{_med(added(64, 'p99_ms')):9.2f}" if way is not ways[0] else " " * 9)
                    if c64
                    else " " * 39
                )
                + f" {errors:6d}"
            )
    for later, first in (("responses", "chat"), ("responses-stream", "chat-stream")):
        for way in ways[1:]:
            a, b = added_c1.get((later, way.name)), added_c1.get((first, way.name))
            if a and b:
                diffs = [x - y for x, y in zip(a, b)]
                out.append(
                    f"{way.name}: {later} minus {first}, added c1 p50 {_med(diffs):+.3f} ms (rounds "
                    + " ".join(f"{d:+.3f}" for d in diffs)
                    + ")"
                )
    if any(r["errors"] for r in runs):
        out.append("WARNING: runs with errors (non-2xx, timeouts, resets): their numbers are not valid")
    return out


def report_h2load(runs: list[dict], ways: list[W.Way]) -> list[str]:
    out: list[str] = []
    direct = ways[0].name
    out.append(
        f"\n{STREAMS} concurrent streams ({CHUNKS} chunks {CHUNK_MS} ms apart), h2load --h1, time to 1st byte, "
        "median over rounds"
    )
    out.append(f"{'way':<28} {'mean ms':>8} {'added':>7} {'max ms':>8} {'added':>7} {'complete':>9}")
    for way in ways:
        mine = [r for r in runs if r["way"] == way.name]
        base = {r["round"]: r for r in runs if r["way"] == direct}
        add = {
            k: _med([W.minus_direct(r[k], base[r["round"]][k]) for r in mine if r["round"] in base])
            for k in ("mean_ms", "max_ms")
        }
        ok = sum(r["ok"] for r in mine)
        out.append(
            f"{way.name[:28]:<28} {_med([r['mean_ms'] for r in mine]):8.2f} "
            + (f"{add['mean_ms']:7.2f}" if way is not ways[0] else " " * 7)
            + f" {_med([r['max_ms'] for r in mine]):8.2f} "
            + (f"{add['max_ms']:7.2f}" if way is not ways[0] else " " * 7)
            + f" {ok:>4}/{STREAMS * len(mine)}"
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0, help="each wrk run")
    p.add_argument("--only", default="wrk,h2load")
    p.add_argument("--stream", action="store_true", help="wrk: the streamed requests too, at concurrency 1")
    p.add_argument("--quick", action="store_true", help="a smoke run: 1 round of 2 s runs")
    p.add_argument("-v", "--verbose", action="store_true", help="print each command")
    for flag in ("--no-litellm", "--no-portkey", "--no-nginx", "--no-postgres"):
        p.add_argument(flag, action="store_true")
    args = p.parse_args()
    args.baseline = None
    if args.quick:
        args.rounds, args.seconds = 1, 2.0
    only = args.only.split(",")
    tools = [t for t, wanted in (("wrk", "wrk" in only), ("h2load", "h2load" in only)) if wanted]
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)} (make wrk h2load)")
    cases = CASES + (STREAMED if args.stream else [])
    shutil.rmtree(W.OUT, ignore_errors=True)
    W.OUT.mkdir(parents=True)
    upstream, ways = W.Upstream(W.OUT), []
    work = Path(tempfile.mkdtemp(prefix="bench-outside-"))
    body = work / "stream.json"
    body.write_text(
        '{"model":"bench-gpt","messages":[{"role":"user","content":"Say hello"}],'
        f'"max_tokens":{CHUNKS + 10},"stream":true,"stream_options":{{"include_usage":true}}}}'
    )
    wrk_runs, h2_runs, unserved = [], [], set()
    started = time.time()
    try:
        ways = W.start_ways(args, upstream)
        print(
            f"ways: {', '.join(w.name for w in ways)}; {args.rounds} rounds; wrk {args.seconds:g} s a run", flush=True
        )
        if "wrk" in tools:  # unrecorded: every way's workers, pools and caches warm before the first round
            for way in ways:
                for case in CASES:
                    wrk(way, case, 64, 1, False)
        for i in range(1, args.rounds + 1):
            if "wrk" in tools:
                upstream.configure(latency_ms=0, chunks=20, chunk_delay_ms=0)
                for case in cases:
                    for c in (1,) if case[5] else (1, 64):
                        for way in ways:
                            if (case[0], way.name) in unserved:
                                continue
                            r = wrk(way, case, c, args.seconds, args.verbose)
                            if r["errors"] >= r["requests"] > 0 and way is not ways[0]:
                                print(f"{way.name} does not serve {case[0]}: every request failed", flush=True)
                                unserved.add((case[0], way.name))
                                continue
                            row = {"round": i, "case": case[0], "way": way.name, "c": c, "errors": r["errors"]}
                            row |= {"rps": r["rps"], "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000}
                            wrk_runs.append(row)
                            print(
                                f"round {i} {case[0]} c{c} {way.name}: {row['rps']:.0f}/s p50 {row['p50_ms']:.3f} ms "
                                f"p99 {row['p99_ms']:.3f} ms errors {row['errors']:.0f}",
                                flush=True,
                            )
            if "h2load" in tools:
                upstream.configure(latency_ms=0, chunks=CHUNKS, chunk_delay_ms=CHUNK_MS)
                for way in ways:
                    r = h2load(way, body, args.verbose) | {"round": i, "way": way.name}
                    h2_runs.append(r)
                    print(
                        f"round {i} h2load {way.name}: time to 1st byte mean {r['mean_ms']:.2f} ms, "
                        f"max {r['max_ms']:.2f} ms, {r['ok']}/{STREAMS} 2xx",
                        flush=True,
                    )
                upstream.configure(latency_ms=0, chunks=20, chunk_delay_ms=0)
    finally:
        for way in ways[1:]:
            way.stop()
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)
    lines = (report_wrk(wrk_runs, ways, cases) if wrk_runs else []) + (report_h2load(h2_runs, ways) if h2_runs else [])
    print("\n".join(lines), flush=True)
    if not args.quick:  # the run of record: kept, and shown in RESULTS.md
        command = " ".join([".venv/bin/python", "bench/outside_tools.py", *sys.argv[1:]])
        head = f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {run._commit()}: {command}"
        (run.RESULTS / "outside.txt").write_text(head + "\n" + "\n".join(lines) + "\n")
        saved = run.RESULTS / "results.json"
        if saved.exists():
            report.write(json.loads(saved.read_text()), BENCH / "RESULTS.md", run.RESULTS)


if __name__ == "__main__":
    main()
