"""Lumyx's benchmark load generator: an asyncio HTTP client for LLM gateways.

Speaks OpenAI Chat Completions, Anthropic Messages and OpenAI Responses, plain or
streamed (SSE), on uvloop when it is installed. Streams are read as raw bytes: events
are split on the blank line and timestamped as they arrive, completion is the terminal
event (``data: [DONE]``, ``event: message_stop`` or ``event: response.completed``) and
the first content event is found by substring, so nothing is JSON-parsed. Every dialect
is recognised whatever the target, so a ``Target`` needs no format.

Four ways to drive a target, each returning a ``Result`` of ``Sample``s:

* ``sequential(target, n)``: one keep-alive connection, one request at a time;
* ``closed_loop(target, concurrency, duration_s)``: workers sending back to back;
* ``open_loop(target, rate, duration_s)``: arrivals on a schedule made in advance,
  latency counted from the scheduled time; ``Result.lagged`` counts arrivals the
  generator started more than 50 ms late (then the rate is not a valid result);
* ``concurrent_streams(target, n, ramp_s)``: n requests opened over ramp_s, each on
  its own connection, all awaited.

The first three share one aiohttp session (keep-alive, no connection limit).
``concurrent_streams`` by default opens plain connections and parses HTTP/1.1 in
the transport's callback, so an arriving event wakes no task: about half the
CPU per event of aiohttp's reader, and the event loop stays responsive with
1,000 streams open.

    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/v1 --key KEY --stream \\
        --mode closed --concurrency 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from contextlib import asynccontextmanager, contextmanager

import aiohttp
from loadgen_samples import Result, Target, make_target, pct
from loadgen_wire import direct_request, request

try:
    import uvloop
except ImportError:  # plain asyncio works too, with more client overhead
    uvloop = None

now = time.perf_counter
LAG_LIMIT = 0.05  # an open-loop arrival started later than this is "lagged"


def raise_nofile_limit() -> int:
    """Lift the soft open-file limit to the hard one (every stream holds a socket)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        hard = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        if soft != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return -1


raise_nofile_limit()


@contextmanager
def _steady_gc():
    """No full (oldest-generation) collections during a run: with a few hundred thousand
    live samples each stalls the event loop for tens of ms. Caught up at the end."""
    old = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(old[0], old[1], 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
        gc.collect()


@asynccontextmanager
async def _session(limit: int = 0):
    conn = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=None)
    # no Accept-Encoding: bodies arrive uncompressed, so SSE bytes can be scanned as they are
    with _steady_gc():
        async with aiohttp.ClientSession(
            connector=conn, skip_auto_headers=("Accept-Encoding",), cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            yield session


async def sequential(target: Target, n: int, warmup: int = 1, timeout_s: float = 60.0) -> Result:
    """n requests one after another on one keep-alive connection, after ``warmup``
    unrecorded ones (the first opens the connection)."""
    to, samples = aiohttp.ClientTimeout(total=timeout_s), []
    async with _session(limit=1) as s:
        for i in range(warmup + n):
            sample = await request(s, target, now(), to)
            if i >= warmup:
                samples.append(sample)
    return Result(samples)


async def closed_loop(
    target: Target, concurrency: int, duration_s: float, warmup_s: float = 1.0, timeout_s: float = 60.0
) -> Result:
    """``concurrency`` workers sending back to back for warmup_s + duration_s; samples
    that start in the warmup are dropped."""
    to, samples = aiohttp.ClientTimeout(total=timeout_s), []

    async def worker(s, measure_from: float, stop: float):
        while (t := now()) < stop:
            sample = await request(s, target, t, to)
            if t >= measure_from:
                samples.append(sample)

    async with _session() as s:
        t0 = now()
        await asyncio.gather(*(worker(s, t0 + warmup_s, t0 + warmup_s + duration_s) for _ in range(concurrency)))
    return Result(samples)


async def _scheduled(send, offsets: list[float], measure_from: float, max_in_flight: int) -> Result:
    """Start ``send(t)`` at t = t0 + each offset (seconds, ascending) with t0 = now; keep the
    samples of offsets >= measure_from."""
    gate, samples, tasks, lag = asyncio.Semaphore(max_in_flight), [], [], [0, 0.0]
    t0 = now() + 0.01
    measure_from += t0

    async def one(t: float):
        late = now() - t
        if t >= measure_from:
            lag[0], lag[1] = lag[0] + (late > LAG_LIMIT), max(lag[1], late)
        async with gate:  # a wait here is the system's queue, so it counts in latency
            sample = await send(t)
        if t >= measure_from:
            samples.append(sample)

    for t in offsets:  # the loop's timers tick in ms: start each within half a ms of t
        t += t0
        while (d := t - now()) > 0.0005:
            await asyncio.sleep(d)
        tasks.append(asyncio.create_task(one(t)))
    await asyncio.gather(*tasks)
    samples.sort(key=lambda x: x.start)
    return Result(samples, lagged=lag[0], max_lag=lag[1])


async def open_loop(
    target: Target,
    rate: float,
    duration_s: float,
    warmup_s: float = 1.0,
    max_in_flight: int = 10000,
    poisson: bool = False,
    timeout_s: float = 60.0,
) -> Result:
    """``rate`` arrivals a second (evenly spaced, or Poisson) for warmup_s + duration_s;
    arrivals in the warmup are dropped. Past ``max_in_flight`` open requests an arrival
    waits for a slot, and the wait counts in its latency."""
    to, n = aiohttp.ClientTimeout(total=timeout_s), int(rate * (warmup_s + duration_s))
    if poisson:
        offsets, t = [], 0.0
        for _ in range(n):
            t += random.expovariate(rate)
            offsets.append(t)
    else:
        offsets = [i / rate for i in range(n)]
    async with _session() as s:
        return await _scheduled(lambda t: request(s, target, t, to), offsets, warmup_s, max_in_flight)


async def concurrent_streams(
    target: Target, n: int, ramp_s: float = 2.0, timeout_s: float = 300.0, direct: bool = True
) -> Result:
    """n requests started evenly over ramp_s, each on its own connection, all awaited; times
    count from each scheduled start. ``direct=False`` sends them through aiohttp instead."""
    raise_nofile_limit()
    offsets = [i * ramp_s / n for i in range(n)]
    if direct:
        with _steady_gc():
            return await _scheduled(lambda t: direct_request(target, t, timeout_s), offsets, 0.0, n)
    to = aiohttp.ClientTimeout(total=timeout_s)
    async with _session() as s:
        return await _scheduled(lambda t: request(s, target, t, to), offsets, 0.0, n)


def run(coro):
    """Run a coroutine to completion, on uvloop when it is installed."""
    return uvloop.run(coro) if uvloop else asyncio.run(coro)


def summary(r: Result, title: str = "") -> str:
    """A one-screen report of a result; times in ms."""

    def row(label, d):
        return f"{label + ' ms':<11}" + "  ".join(
            f"{k} {'-' if v is None else f'{v * 1000:.1f}'}" for k, v in d.items()
        )

    lines = ([title] if title else []) + [
        f"requests {len(r.samples)}  ok {r.ok_count}  errors {r.error_count}  "
        f"wall {r.wall:.2f}s  throughput {r.throughput:.1f}/s",
        row("latency", r.latency_pcts()),
    ]
    if any(s.ttft is not None for s in r.samples):  # plain requests: time to response headers
        lines.append(row("ttft" if any(s.events for s in r.samples) else "headers", r.ttft_pcts()))
    if any(s.gaps for s in r.samples):
        lines.append(row("gap", r.gap_pcts()))
        lines.append(f"events a stream (median) {pct([s.events for s in r.samples if s.ok], 50)}")
    if r.lagged or r.max_lag:
        lines.append(
            f"generator behind schedule: {r.lagged} starts > {LAG_LIMIT * 1000:.0f} ms late, "
            f"max {r.max_lag * 1000:.1f} ms" + ("  (NOT A VALID RUN)" if r.lagged else "")
        )
    lines += [f"  {c} x {e}" for e, c in sorted(r.errors().items(), key=lambda e: -e[1])[:5]]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="base URL including /v1, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--key", required=True)
    p.add_argument("--format", choices=("openai", "anthropic", "responses"), default="openai")
    p.add_argument("--store", action="store_true", help="responses format: store the response (default: not)")
    p.add_argument("--model", default="lumyx-local")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--mode", choices=("seq", "closed", "open", "streams"), default="seq")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--poisson", action="store_true", help="open mode: Poisson arrivals")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--n", type=int, default=100, help="seq and streams modes")
    p.add_argument("--ramp", type=float, default=2.0, help="streams mode")
    p.add_argument("--timeout", type=float, default=None, help="seconds per request")
    a = p.parse_args(argv)
    target = make_target(a.url, a.key, a.format, a.model, a.stream, a.max_tokens, store=a.store)
    to = a.timeout or (300.0 if a.mode == "streams" else 60.0)
    coro = {
        "seq": lambda: sequential(target, a.n, timeout_s=to),
        "closed": lambda: closed_loop(target, a.concurrency, a.duration, a.warmup, to),
        "open": lambda: open_loop(target, a.rate, a.duration, a.warmup, poisson=a.poisson, timeout_s=to),
        "streams": lambda: concurrent_streams(target, a.n, a.ramp, to),
    }[a.mode]
    cpu0 = time.process_time()
    result = run(coro())
    print(summary(result, f"{a.mode} {a.format} {'stream' if a.stream else 'plain'} -> {target.url}"))
    print(f"load generator CPU {time.process_time() - cpu0:.2f}s")


if __name__ == "__main__":
    main()
