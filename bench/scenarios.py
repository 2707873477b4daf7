"""The scenarios `bench/run.py` runs, each on every way in turn: added latency at concurrency 1
(the requests in C1_CASES), a concurrency sweep, fixed rates, many concurrent streams, 64 streaming
clients, and a soak. Each returns its numbers for results.json."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import loadgen as L
import lumyx_server
from ways import OUT, Upstream, Way, cpu_seconds, each_rss_mb, free_port, lumyx_way, minus_direct, rss_mb


@dataclass(frozen=True)
class Case:
    """A request measured at concurrency 1. The direct way answers it in the client's format,
    except a translated case: there it is the upstream answering in its own format (``direct``)."""

    label: str
    fmt: str  # the client's format
    model: str
    stream: bool = False
    direct: str | None = None  # the format the direct way is asked in, when not the client's
    store: bool = False  # responses: keep the response (a database write)


C1_CASES = [
    Case("OpenAI chat", "openai", "bench-gpt"),
    Case("OpenAI chat, streamed (20 chunks)", "openai", "bench-gpt", True),
    Case("Anthropic messages", "anthropic", "bench-claude"),
    Case("Anthropic messages, streamed (20 chunks)", "anthropic", "bench-claude", True),
    Case("OpenAI client, Anthropic upstream (translated)", "openai", "bench-claude", direct="anthropic"),
    Case("OpenAI Responses (Responses upstream)", "responses", "bench-responses"),
    Case("OpenAI Responses, streamed (20 chunks)", "responses", "bench-responses", True),
    Case("OpenAI Responses, stored (store: true)", "responses", "bench-responses", store=True),
    Case("Responses client, chat upstream (translated)", "responses", "bench-gpt", direct="openai"),
    Case("OpenAI chat, cache-priced, half the prompt cached", "openai", "bench-gpt-cached"),
    Case("OpenAI chat, three balanced routes", "openai", "bench-gpt-balanced"),
]
# The pairs the report sets side by side: a case and the one it is held against.
C1_COMPARE = [
    ("OpenAI Responses (Responses upstream)", "OpenAI chat"),
    ("OpenAI Responses, streamed (20 chunks)", "OpenAI chat, streamed (20 chunks)"),
    ("OpenAI Responses, stored (store: true)", "OpenAI Responses (Responses upstream)"),
    ("Responses client, chat upstream (translated)", "OpenAI chat"),
    ("OpenAI chat, cache-priced, half the prompt cached", "OpenAI chat"),
    ("OpenAI chat, three balanced routes", "OpenAI chat"),
]


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def scenario_c1(ways: list[Way], upstream: Upstream, quick: bool) -> dict:
    """Added latency at concurrency 1: median of interleaved rounds. Each round runs every
    case on every way in turn, so that two cases compared (C1_COMPARE) share the machine's
    moments as the ways do. A gateway that fails every request of a case (a checkout without
    that endpoint under --baseline, LiteLLM without the model) is marked as not serving it."""
    upstream.configure(latency_ms=0, chunks=20)
    rounds, n = (2, 100) if quick else (7, 300)
    per_case: dict = {c.label: {w.name: {"p50": [], "p99": [], "ttft": [], "cpu": []} for w in ways} for c in C1_CASES}
    unserved: dict = {c.label: {} for c in C1_CASES}  # way -> the error it answered
    for case in C1_CASES:
        for way in ways:
            if case.direct and way.translates is not None and case.direct not in way.translates:
                unserved[case.label][way.name] = f"does not translate into {case.direct}: passes requests through"
    for i in range(rounds):
        for case in C1_CASES:
            for way in ways:
                if way.name in unserved[case.label]:
                    continue
                fmt = (case.direct or case.fmt) if way.direct else case.fmt
                cpu0 = cpu_seconds(way.pids())
                r = L.run(L.sequential(way.target(fmt, case.model, case.stream, store=case.store), n))
                cpu = (cpu_seconds(way.pids()) - cpu0) / (n + 1)  # the warm-up request included
                if r.error_count:
                    if not way.direct and not r.ok_count:
                        error = next(iter(r.errors()))
                        print(f"c1 {case.label}: {way.name} does not serve it: {error}", flush=True)
                        unserved[case.label][way.name] = error
                        continue
                    raise RuntimeError(f"{way.name} failed {case.label}: {r.errors()}")
                lat, mine = r.latency_pcts((50, 99)), per_case[case.label][way.name]
                mine["p50"].append(lat["p50"])
                mine["p99"].append(lat["p99"])
                mine["cpu"].append(cpu)
                if case.stream:
                    mine["ttft"].append(r.ttft_pcts((50,))["p50"])
        print(f"c1 round {i + 1}/{rounds} done", flush=True)
    out: dict = {}
    for case in C1_CASES:
        direct, rows = per_case[case.label][ways[0].name], {}
        for way in ways:
            if way.name in unserved[case.label]:
                rows[way.name] = {"not_served": unserved[case.label][way.name]}
                continue
            mine = per_case[case.label][way.name]
            added = [minus_direct(a, d) for a, d in zip(mine["p50"], direct["p50"])]
            row = {
                "p50_ms": _ms(statistics.median(mine["p50"])),
                "p99_ms": _ms(statistics.median(mine["p99"])),
                "added_p50_ms": _ms(statistics.median(added)),
                "added_p99_ms": _ms(minus_direct(statistics.median(mine["p99"]), statistics.median(direct["p99"]))),
                "added_p50_rounds_ms": [_ms(a) for a in added],
                # the way's own processes (the gateway's master and workers; the stand-in for the direct
                # way): what a request costs it whatever else the machine does
                "cpu_ms_per_request": _ms(statistics.median(mine["cpu"])),
                "cpu_rounds_ms": [_ms(c) for c in mine["cpu"]],
            }
            if case.stream:
                row["added_ttft_p50_ms"] = _ms(
                    statistics.median([minus_direct(a, d) for a, d in zip(mine["ttft"], direct["ttft"])])
                )
            rows[way.name] = row
        out[case.label] = rows
        print(
            f"c1 {case.label}: "
            + ", ".join(f"{k} +{v['added_p50_ms']:.3f} ms" for k, v in rows.items() if "added_p50_ms" in v),
            flush=True,
        )
    compare = {}
    for label, against in C1_COMPARE:
        by_way = {}
        for way in ways:
            a, b = out[label].get(way.name), out[against].get(way.name)
            if way.direct or not a or not b or "not_served" in a or "not_served" in b:
                continue
            # the difference round by round (both taken minutes apart at most), then its median
            diffs = [x - y for x, y in zip(a["added_p50_rounds_ms"], b["added_p50_rounds_ms"])]
            cpu_diffs = [x - y for x, y in zip(a["cpu_rounds_ms"], b["cpu_rounds_ms"])]
            by_way[way.name] = {
                "cpu_ms_per_request": a["cpu_ms_per_request"],
                "against_cpu_ms_per_request": b["cpu_ms_per_request"],
                "cpu_difference_ms": statistics.median(cpu_diffs),
                "added_p50_ms": a["added_p50_ms"],
                "against_added_p50_ms": b["added_p50_ms"],
                "difference_ms": statistics.median(diffs),
                "difference_min_ms": min(diffs),
                "difference_max_ms": max(diffs),
            }
        compare[label] = {"against": against, "ways": by_way}
        print(
            f"c1 {label} - {against}: " + ", ".join(f"{k} {v['difference_ms']:+.3f} ms" for k, v in by_way.items()),
            flush=True,
        )
    return {"rounds": rounds, "requests_per_round": n, "cases": out, "compare": compare}


def scenario_sweep(ways: list[Way], upstream: Upstream, quick: bool) -> dict:
    """Closed loop at rising concurrency against an instant upstream."""
    upstream.configure(latency_ms=0, chunks=20)
    levels = [1, 8, 64, 256] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    duration = 2 if quick else 6
    out: dict = {w.name: [] for w in ways}
    for c in levels:
        direct_lat = None
        for way in ways:
            target = way.target("openai", "bench-gpt")
            cpu0 = cpu_seconds(way.pids())
            r = L.run(L.closed_loop(target, c, duration, warmup_s=1.0))
            cpu = cpu_seconds(way.pids()) - cpu0
            lat = r.latency_pcts((50, 99))
            if way.direct:
                direct_lat = lat
            row = {
                "concurrency": c,
                "throughput": r.throughput,
                "errors": r.error_count,
                "p50_ms": _ms(lat["p50"]),
                "p99_ms": _ms(lat["p99"]),
                "added_p50_ms": _ms(minus_direct(lat["p50"], direct_lat["p50"])),
                "added_p99_ms": _ms(minus_direct(lat["p99"], direct_lat["p99"])),
                "cpu_ms_per_request": cpu / max(r.ok_count, 1) * 1000 * (duration / (duration + 1.0)),
            }
            out[way.name].append(row)
            print(
                f"sweep c={c} {way.name}: {r.throughput:.0f}/s p50 {row['p50_ms']:.2f} ms "
                f"p99 {row['p99_ms']:.2f} ms errors {r.error_count}",
                flush=True,
            )
            time.sleep(0.5)
    return {"duration_s": duration, "levels": levels, "ways": out}


def scenario_rates(ways: list[Way], upstream: Upstream, quick: bool) -> dict:
    """Open loop at fixed rates with a 60 ms upstream: the highest rate each way holds
    with added p99 under 10 ms (no errors, the generator on schedule)."""
    upstream.configure(latency_ms=60, chunks=20)
    rates = [100, 400, 1000] if quick else [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000]
    duration = 3 if quick else 8
    out: dict = {w.name: [] for w in ways}
    failed: dict = {w.name: 0 for w in ways}
    for rate in rates:
        direct_p99 = None
        for way in ways:
            if failed[way.name] >= 2 and not way.direct:
                continue
            r = L.run(L.open_loop(way.target("openai", "bench-gpt"), rate, duration, warmup_s=1.0, timeout_s=30))
            lat = r.latency_pcts((50, 99))
            if way.direct:
                direct_p99 = lat["p99"]
            added = minus_direct(lat["p99"], direct_p99)
            holds = r.error_count == 0 and not r.lagged and added is not None and added < 0.010
            failed[way.name] = 0 if holds else failed[way.name] + 1
            out[way.name].append(
                {
                    "rate": rate,
                    "throughput": r.throughput,
                    "errors": r.error_count,
                    "lagged": r.lagged,
                    "p50_ms": _ms(lat["p50"]),
                    "p99_ms": _ms(lat["p99"]),
                    "added_p99_ms": _ms(added),
                    "holds": holds,
                }
            )
            print(
                f"rate {rate}/s {way.name}: p99 {_ms(lat['p99']) or 0:.1f} ms added "
                f"{_ms(added) or 0:.1f} ms errors {r.error_count} lagged {r.lagged} -> {holds}",
                flush=True,
            )
            time.sleep(1.0)
        if all(failed[w.name] >= 2 for w in ways if not w.direct):
            break
    best = {name: max([row["rate"] for row in rows if row["holds"]], default=None) for name, rows in out.items()}
    upstream.configure(latency_ms=0)
    return {"duration_s": duration, "upstream_latency_ms": 60, "ways": out, "best": best}


def scenario_streams(ways: list[Way], upstream: Upstream, quick: bool) -> dict:
    """N concurrent streams of 200 chunks: time to first token, gaps, completion, CPU."""
    n, chunks, delay = (200, 50, 50) if quick else (1000, 200, 50)
    upstream.configure(latency_ms=0, chunks=chunks, chunk_delay_ms=delay)
    out: dict = {}
    direct = None
    for way in ways:
        cpu0 = cpu_seconds(way.pids())
        r = L.run(
            L.concurrent_streams(
                way.target("openai", "bench-gpt", stream=True, max_tokens=chunks + 10), n, ramp_s=5.0, timeout_s=180
            )
        )
        cpu = cpu_seconds(way.pids()) - cpu0
        ttft, gaps = r.ttft_pcts((50, 99)), r.gap_pcts((50, 99))
        if way.direct:
            direct = ttft
        full = sum(1 for s in r.samples if s.ok and s.events >= chunks)
        out[way.name] = {
            "streams": n,
            "completed": r.ok_count,
            "with_every_chunk": full,
            "errors": r.errors(),
            "ttft_p50_ms": _ms(ttft["p50"]),
            "ttft_p99_ms": _ms(ttft["p99"]),
            "added_ttft_p50_ms": _ms(minus_direct(ttft["p50"], direct["p50"])),
            "added_ttft_p99_ms": _ms(minus_direct(ttft["p99"], direct["p99"])),
            "gap_p50_ms": _ms(gaps["p50"]),
            "gap_p99_ms": _ms(gaps["p99"]),
            "cpu_ms_per_stream": cpu / n * 1000,
            "lagged": r.lagged,
        }
        print(
            f"streams {way.name}: {r.ok_count}/{n} complete, ttft p50 {_ms(ttft['p50']) or 0:.1f} ms, "
            f"gap p99 {_ms(gaps['p99']) or 0:.1f} ms, cpu {cpu / n * 1000:.1f} ms/stream",
            flush=True,
        )
        time.sleep(2.0)
    upstream.configure(latency_ms=0, chunks=20, chunk_delay_ms=0)
    return {"streams": n, "chunks": chunks, "chunk_delay_ms": delay, "ways": out}


def scenario_streams64(ways: list[Way], upstream: Upstream, quick: bool) -> dict:
    """64 clients in a closed loop of streamed chat completions (20 chunks 50 ms apart, about
    1 s a stream): time to first token against the direct one, round after round, ways alternating."""
    clients, chunks, delay = 64, 20, 50
    rounds, duration = (1, 3) if quick else (3, 8)
    upstream.configure(latency_ms=0, chunks=chunks, chunk_delay_ms=delay)
    per_way: dict = {w.name: [] for w in ways}
    for i in range(rounds):
        direct = None
        for way in ways:
            r = L.run(L.closed_loop(way.target("openai", "bench-gpt", stream=True), clients, duration, warmup_s=1.0))
            ttft = r.ttft_pcts((50, 99))
            if way.direct:
                direct = ttft
            row = {
                "round": i,
                "streams": r.ok_count,
                "errors": r.error_count,
                "ttft_p50_ms": _ms(ttft["p50"]),
                "ttft_p99_ms": _ms(ttft["p99"]),
                "added_ttft_p50_ms": _ms(minus_direct(ttft["p50"], direct["p50"])),
                "added_ttft_p99_ms": _ms(minus_direct(ttft["p99"], direct["p99"])),
            }
            per_way[way.name].append(row)
            print(
                f"64 streams round {i} {way.name}: ttft p50 {row['ttft_p50_ms'] or 0:.1f} ms "
                f"p99 {row['ttft_p99_ms'] or 0:.1f} ms errors {r.error_count}",
                flush=True,
            )
            time.sleep(1.0)
    upstream.configure(latency_ms=0, chunks=20, chunk_delay_ms=0)

    def median(rows: list[dict], key: str):
        values = [row[key] for row in rows if row[key] is not None]
        return statistics.median(values) if values else None

    out = {
        name: {
            "streams": sum(row["streams"] for row in rows),
            "errors": sum(row["errors"] for row in rows),
            **{k: median(rows, k) for k in ("ttft_p50_ms", "ttft_p99_ms", "added_ttft_p50_ms", "added_ttft_p99_ms")},
        }
        for name, rows in per_way.items()
    }
    return {"clients": clients, "chunks": chunks, "chunk_delay_ms": delay, "rounds": rounds, "ways": out}


def scenario_soak(upstream: Upstream, quick: bool, minutes: float) -> dict:
    """A steady mixed load for `minutes` on a default Lumyx (SQLite) started for it, as `make run`
    starts one; memory every minute. (The one the other scenarios loaded keeps the heap its
    workers grew to relay 1,000 streams at once: the soak would read that peak, not its own.)"""
    server = lumyx_server.start("sqlite", upstream.url, free_port(), OUT / "lumyx-soak")
    try:
        return _soak(lumyx_way(server), upstream, quick, minutes)
    finally:
        server.stop()


def _soak(lumyx: Way, upstream: Upstream, quick: bool, minutes: float) -> dict:
    upstream.configure(latency_ms=20, chunks=20, chunk_delay_ms=2)
    mix = [
        (lumyx.target("openai", "bench-gpt"), 30),
        (lumyx.target("openai", "bench-gpt", stream=True), 15),
        (lumyx.target("anthropic", "bench-claude"), 15),
        (lumyx.target("openai", "bench-claude", stream=True), 10),
    ]  # translated stream

    async def one_minute():
        import asyncio

        return await asyncio.gather(
            *(L.open_loop(t, rate, 60.0 if not quick else 15.0, warmup_s=0.0) for t, rate in mix)
        )

    points, total, errors = [], 0, 0
    t0 = time.monotonic()
    points.append({"minute": 0.0, "rss_mb": rss_mb(lumyx.pids()), "worker_rss_mb": max(each_rss_mb(lumyx.pids()[1:]))})
    while time.monotonic() - t0 < minutes * 60:
        results = L.run(one_minute())
        total += sum(len(r.samples) for r in results)
        errors += sum(r.error_count for r in results)
        p99 = max((r.latency_pcts((99,))["p99"] or 0) for r in results)
        points.append(
            {
                "minute": (time.monotonic() - t0) / 60,
                "rss_mb": rss_mb(lumyx.pids()),
                "worker_rss_mb": max(each_rss_mb(lumyx.pids()[1:])),  # (pids: the master, then its workers)
                "p99_ms": p99 * 1000,
                "requests": total,
                "errors": errors,
            }
        )
        print(
            f"soak {points[-1]['minute']:.1f} min: rss {points[-1]['rss_mb']:.1f} MB, "
            f"{total} requests, {errors} errors",
            flush=True,
        )
    upstream.configure(latency_ms=0, chunks=20, chunk_delay_ms=0)
    return {
        "way": lumyx.name,
        "rate_per_s": sum(rate for _, rate in mix),
        "points": points,
        "requests": total,
        "errors": errors,
    }
