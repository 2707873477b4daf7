"""A dead route among three: what one dead upstream costs the requests that
never needed it.

One model has three routes on the stand-in (bench/upstream.py, a fixed upstream
latency); the same model is served twice more with its first route dead:

* ``bench-routed``: all three routes healthy;
* ``bench-routed-refused``: the first route's port refuses connections;
* ``bench-routed-blackhole``: the first route accepts the connection and never
  answers (the provider's ``timeout_s``, 2 s by default, is what a request waits).

The catalog asks for ``routing: balance`` with equal weights (``--routing
fallback``: the routes in order); a checkout that does not know those fields
reads them as the catalog order, the dead route first. 64 clients send back to
back (a closed loop) to each model in turn, round after round, and the stand-in
is hit directly at the same concurrency in every round: the added latency is
Lumyx's percentile minus the direct one of the same round.

"Waited" counts the requests that waited a dead route's timeout: those whose
latency exceeds the upstream's by 90 % of ``timeout_s`` (and, as a check, the
connections the black hole accepted). For the refused route, "tried" counts the
attempts on it, from the gateway's log ("route dead-refused/… failed").

    .venv/bin/python bench/routing.py [--rounds 3] [--seconds 15] [--concurrency 64]
                                      [--latency-ms 500] [--timeout-s 2]
                                      [--baseline ../lumyx-before]   # another checkout, alternating
    .venv/bin/python bench/routing.py --serve                      # the setup for wrk (bench/wrk/routing.sh)
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import loadgen as L  # noqa: E402
import lumyx_server  # noqa: E402
from ways import OUT, Upstream, free_port, minus_direct  # noqa: E402

MODELS = {"healthy": "bench-routed", "refused": "bench-routed-refused", "blackhole": "bench-routed-blackhole"}
DEAD = {"refused": "dead-refused", "blackhole": "dead-blackhole"}


class BlackHole:
    """Accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.accepted += 1
            self.held.append(conn)
            if len(self.held) > 2000:  # the gateway has long closed these
                for old in self.held[:1000]:
                    old.close()
                del self.held[:1000]


def refused_url() -> str:
    """An address nothing listens on: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


def catalog(upstream: str, refused: str, blackhole: str, timeout_s: float, routing: str) -> str:
    weight = ", weight: 1" if routing == "balance" else ""
    providers = [
        f"  - {{id: route-{n}, kind: openai, base_url: '{upstream}/v1', api_key_env: BENCH_UPSTREAM_KEY}}"
        for n in "abc"
    ]
    providers += [
        f"  - {{id: dead-refused, kind: openai, base_url: '{refused}/v1', api_key_env: BENCH_UPSTREAM_KEY, timeout_s: {timeout_s}}}",
        f"  - {{id: dead-blackhole, kind: openai, base_url: '{blackhole}/v1', api_key_env: BENCH_UPSTREAM_KEY, timeout_s: {timeout_s}}}",
    ]
    models = []
    for variant, model in MODELS.items():
        first = DEAD.get(variant, "route-a")
        routes = ", ".join(f"{{provider: {p}, model: bench-gpt{weight}}}" for p in (first, "route-b", "route-c"))
        models.append(
            f"  - {{id: {model}, name: {model}, pricing: {{input: 1.0, output: 4.0}}, routing: {routing}, routes: [{routes}]}}"
        )
    return "providers:\n" + "\n".join(providers) + "\nmodels:\n" + "\n".join(models) + "\n"


def log_count(server: lumyx_server.Lumyx, needle: str) -> int:
    try:
        return (server.workdir / "gunicorn.log").read_text(errors="replace").count(needle)
    except FileNotFoundError:
        return 0


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def measure(args, servers, upstream, hole) -> list[dict]:
    runs = []
    direct = L.make_target(upstream.url + "/v1", "sk-bench", "openai", "bench-gpt")
    waited_at = args.latency_ms / 1000 + 0.9 * args.timeout_s
    for rnd in range(1, args.rounds + 1):
        result = L.run(L.closed_loop(direct, args.concurrency, args.seconds, warmup_s=1.0))
        base = result.latency_pcts()
        runs.append(
            {
                "round": rnd,
                "way": "direct",
                "variant": "-",
                "p50_ms": _ms(base["p50"]),
                "p99_ms": _ms(base["p99"]),
                "requests": len(result.samples),
                "errors": result.error_count,
            }
        )
        print(f"round {rnd} direct: p50 {base['p50'] * 1000:.1f} ms p99 {base['p99'] * 1000:.1f} ms", flush=True)
        for variant, model in MODELS.items():
            for label, server in servers:
                target = L.make_target(server.url + "/v1", server.key, "openai", model)
                tried_before, accepted_before = log_count(server, f"route {DEAD.get(variant, '-')}/"), hole.accepted
                warm = args.timeout_s + 1.0
                accepted_warm = None

                def mark():
                    nonlocal accepted_warm
                    accepted_warm = hole.accepted

                timer = threading.Timer(warm, mark)
                timer.start()
                result = L.run(L.closed_loop(target, args.concurrency, args.seconds, warmup_s=warm))
                timer.cancel()
                time.sleep(0.3)  # the log lines of the last requests
                p = result.latency_pcts()
                waited = sum(1 for s in result.samples if s.latency >= waited_at)
                row = {
                    "round": rnd,
                    "way": label,
                    "variant": variant,
                    "requests": len(result.samples),
                    "errors": result.error_count,
                    "p50_ms": _ms(p["p50"]),
                    "p99_ms": _ms(p["p99"]),
                    "added_p50_ms": _ms(minus_direct(p["p50"], base["p50"])),
                    "added_p99_ms": _ms(minus_direct(p["p99"], base["p99"])),
                    "waited": waited,
                    "dead_tried": log_count(server, f"route {DEAD.get(variant, '-')}/") - tried_before
                    if variant in DEAD
                    else 0,
                    "blackhole_accepted_measured": hole.accepted - (accepted_warm or accepted_before)
                    if variant == "blackhole"
                    else 0,
                    "blackhole_accepted_warmup": (accepted_warm or accepted_before) - accepted_before
                    if variant == "blackhole"
                    else 0,
                }
                runs.append(row)
                print(json.dumps(row), flush=True)
    return runs


def summarise(runs: list[dict]) -> str:
    lines = [
        "| Lumyx | variant | added p50 ms | added p99 ms | p99 minus healthy ms | waited a timeout | dead route tried | errors | requests |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ways = list(dict.fromkeys(r["way"] for r in runs if r["way"] != "direct"))
    for way in ways:
        healthy = {r["round"]: r["added_p99_ms"] for r in runs if r["way"] == way and r["variant"] == "healthy"}
        for variant in MODELS:
            rows = [r for r in runs if r["way"] == way and r["variant"] == variant]
            if not rows:
                continue

            def med(key, rows=rows):
                values = [r[key] for r in rows if r[key] is not None]
                return statistics.median(values) if values else float("nan")

            over = [
                r["added_p99_ms"] - healthy[r["round"]]
                for r in rows
                if r["added_p99_ms"] is not None and healthy.get(r["round"]) is not None
            ]
            lines.append(
                f"| {way} | {variant} | {med('added_p50_ms'):.1f} | {med('added_p99_ms'):.1f} "
                f"| {statistics.median(over):+.1f} ({', '.join(f'{o:+.1f}' for o in over)}) "
                f"| {', '.join(str(r['waited']) for r in rows)} | {', '.join(str(r['dead_tried']) for r in rows)} "
                f"| {sum(r['errors'] for r in rows)} | {sum(r['requests'] for r in rows)} |"
            )
    return "\n".join(lines)


def start(args, workdir: Path):
    upstream = Upstream(workdir)
    upstream.configure(latency_ms=args.latency_ms)
    hole = BlackHole()
    text = catalog(upstream.url, refused_url(), hole.url, args.timeout_s, args.routing)
    roots = [("this checkout", lumyx_server.ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    servers = []
    try:
        _start_servers(roots, upstream, workdir, text, servers)
    except BaseException:
        for _label, server in servers:
            server.stop()
        upstream.stop()
        raise
    return upstream, hole, servers


def _start_servers(roots, upstream, workdir: Path, text: str, servers: list) -> None:
    for i, (label, root) in enumerate(roots):
        server = lumyx_server.start(
            "sqlite", upstream.url, free_port(), workdir / f"lumyx-{i}", root=root, catalog_text=text
        )
        servers.append((server.label if server.commit is None else f"{label} {server.commit}", server))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency-ms", type=float, default=500.0, help="the stand-in's latency")
    p.add_argument("--timeout-s", type=int, default=2, help="the dead routes' timeout_s")
    p.add_argument("--routing", choices=("balance", "fallback"), default="balance")
    p.add_argument("--baseline", type=Path, help="another checkout (with a .venv) served beside this one")
    p.add_argument("--serve", action="store_true", help="start the setup, print its URLs and key, wait")
    p.add_argument("--out", type=Path, default=OUT / "routing.json")
    args = p.parse_args()
    L.raise_nofile_limit()
    workdir = OUT / "routing"
    workdir.mkdir(parents=True, exist_ok=True)
    upstream, hole, servers = start(args, workdir)

    def interrupt(_sig, _frame):
        raise KeyboardInterrupt  # (bench/wrk/routing.sh stops the setup with SIGTERM)

    signal.signal(signal.SIGTERM, interrupt)
    try:
        if args.serve:
            for label, server in servers:
                print(f"{label}: {server.url} key {server.key}", flush=True)
            print(f"upstream {upstream.url}  models {' '.join(MODELS.values())}  ready", flush=True)
            while True:
                time.sleep(3600)
        runs = measure(args, servers, upstream, hole)
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=1))
        print(summarise(runs))
    except KeyboardInterrupt:
        pass
    finally:
        for _label, server in servers:
            server.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
