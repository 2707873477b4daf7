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
import json
import random
import re
import time
from array import array
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

try:
    import uvloop
except ImportError:  # plain asyncio works too, with more client overhead
    uvloop = None

now = time.perf_counter
LAG_LIMIT = 0.05  # an open-loop arrival started later than this is "lagged"
_TERMINAL = (
    b"data: [DONE]",
    b"data:[DONE]",
    b"event: message_stop",
    b"event:message_stop",
    b"event: response.completed",
    b"event:response.completed",
    b"event: response.incomplete",
    b"event:response.incomplete",
)
_ERROR = (
    b'data: {"error"',
    b'data:{"error"',
    b"event: error",
    b"event:error",
    b"event: response.failed",
    b"event:response.failed",
)
_OPENAI_TEXT = re.compile(rb'"content": ?"[^"]')  # a delta with non-empty text
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)")


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


@dataclass
class Target:
    url: str  # full URL of the endpoint
    headers: dict  # auth and content-type headers
    body: bytes  # encoded JSON request
    stream: bool  # the body asks for SSE


@dataclass
class Sample:
    start: float  # perf_counter: scheduled (open loop, streams) or actual start
    status: int  # HTTP status; 0 when no response headers arrived
    ok: bool  # 2xx, and for streams the terminal event and no error event
    latency: float  # start to the end of the body, seconds
    ttft: float | None = None  # streams: start to first content event; else start to headers
    gaps: array | None = None  # streams: seconds between events after the first content one
    events: int = 0  # SSE events received
    error: str | None = None


def pct(values, p: float) -> float | None:
    """p-th percentile (0..100), linear interpolation; None for no values."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * p / 100
    i = int(k)
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (k - i)


@dataclass
class Result:
    samples: list[Sample]
    wall: float = 0.0  # first start to last end, seconds
    lagged: int = 0  # scheduled arrivals started more than LAG_LIMIT late
    max_lag: float = 0.0  # worst start delay behind schedule, seconds
    pct = staticmethod(pct)

    def __post_init__(self):
        if self.samples and not self.wall:
            self.wall = max(s.start + s.latency for s in self.samples) - min(s.start for s in self.samples)

    ok_count = property(lambda self: sum(s.ok for s in self.samples))
    error_count = property(lambda self: len(self.samples) - self.ok_count)
    throughput = property(lambda self: self.ok_count / self.wall if self.wall > 0 else 0.0)

    @staticmethod
    def _pcts(values, ps) -> dict:
        v = sorted(values)
        return {f"p{p}": pct(v, p) for p in ps} | {"max": v[-1] if v else None}

    def latency_pcts(self, ps=(50, 90, 99)) -> dict:
        return self._pcts((s.latency for s in self.samples if s.ok), ps)

    def ttft_pcts(self, ps=(50, 90, 99)) -> dict:
        return self._pcts((s.ttft for s in self.samples if s.ok and s.ttft is not None), ps)

    def gap_pcts(self, ps=(50, 90, 99)) -> dict:
        return self._pcts((g for s in self.samples if s.ok and s.gaps for g in s.gaps), ps)

    def errors(self) -> dict:
        """How many failed samples carry each error text."""
        out: dict = {}
        for s in self.samples:
            if not s.ok:
                out[s.error] = out.get(s.error, 0) + 1
        return out


def make_target(
    base_url: str,
    key: str,
    fmt: str = "openai",
    model: str = "lumyx-local",
    stream: bool = False,
    max_tokens: int = 64,
    prompt: str = "Say hello",
    store: bool = False,
    extra_headers: dict | None = None,
) -> Target:
    """``base_url`` includes /v1 (http://127.0.0.1:8000/v1): openai posts to {base}/chat/completions
    with a Bearer key, anthropic to {base}/messages with x-api-key and anthropic-version, responses
    to {base}/responses with a Bearer key (``store`` only matters there). ``extra_headers`` go on
    every request (a gateway routed by headers, as Portkey's is)."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}
    headers, base = {"Content-Type": "application/json"}, base_url.rstrip("/")
    if fmt == "responses":
        url, headers["Authorization"] = base + "/responses", f"Bearer {key}"
        # store false by default: a stored response is a database write (the Keeper saves it before
        # the terminal event) that Codex never asks for (it sends store: false on every turn); the
        # store=True case measures what keeping it costs, as the Agents SDK's default does.
        body = {"model": model, "input": prompt, "max_output_tokens": max_tokens, "store": store}
        if stream:
            body["stream"] = True
    elif fmt == "openai":
        url, headers["Authorization"] = base + "/chat/completions", f"Bearer {key}"
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
    elif fmt == "anthropic":
        url = base + "/messages"
        headers |= {"x-api-key": key, "anthropic-version": "2023-06-01"}
        if stream:
            body["stream"] = True
    else:
        raise ValueError(f"unknown format {fmt!r}")
    headers |= extra_headers or {}
    return Target(url, headers, json.dumps(body, separators=(",", ":")).encode(), stream)


class _Scan:
    """SSE body bytes in as they arrive; counts and timestamps events."""

    __slots__ = ("buf", "sep", "events", "first", "last", "done", "error", "gaps")

    def __init__(self):
        self.buf, self.sep, self.events, self.first, self.last = b"", b"", 0, None, 0.0
        self.done, self.error, self.gaps = False, None, array("d")

    def feed(self, chunk: bytes, t: float) -> None:  # every event this chunk completes arrived at t
        buf = self.buf + chunk if self.buf else chunk
        if not self.sep:
            self.sep = b"\r\n\r\n" if b"\r\n" in buf else b"\n\n"
        sep, pos = self.sep, 0
        while (i := buf.find(sep, pos)) >= 0:
            ev, pos = buf[pos:i], i + len(sep)
            self.events += 1
            if self.first is not None:
                self.gaps.append(t - self.last)
                self.last = t
            elif b"content_block_delta" in ev or b"response.output_text.delta" in ev or _OPENAI_TEXT.search(ev):
                self.first = self.last = t
            if ev.startswith(_TERMINAL):
                self.done = True
            elif ev.startswith(_ERROR):
                self.error = ev[:200].decode(errors="replace")
        self.buf = buf[pos:]

    def sample(self, start: float, status: int, end: float) -> Sample:
        error = self.error or (None if self.done else "stream ended without its terminal event")
        return Sample(
            start,
            status,
            error is None,
            end - start,
            None if self.first is None else self.first - start,
            self.gaps,
            self.events,
            error,
        )


def _failed(start: float, status: int, e: BaseException, timeout: float) -> Sample:
    error = f"timeout after {timeout}s" if isinstance(e, asyncio.TimeoutError) else f"{type(e).__name__}: {e}"
    return Sample(start, status, False, now() - start, error=error)


def _http_error(start: float, status: int, t_head: float, body: bytes) -> Sample:
    return Sample(
        start,
        status,
        False,
        now() - start,
        t_head - start,
        error=f"HTTP {status}: {body[:200].decode(errors='replace')}",
    )


async def request(
    session: aiohttp.ClientSession, target: Target, start: float, timeout: aiohttp.ClientTimeout
) -> Sample:
    """One request on the session; all times count from ``start``."""
    status = 0
    try:
        async with session.post(target.url, data=target.body, headers=target.headers, timeout=timeout) as resp:
            status, t_head = resp.status, now()
            if not 200 <= status < 300:
                return _http_error(start, status, t_head, await resp.read())
            if not target.stream:
                await resp.read()
                return Sample(start, status, True, now() - start, t_head - start)
            scan, read = _Scan(), resp.content.readany
            while chunk := await read():
                scan.feed(chunk, now())
            return scan.sample(start, status, now())
    except Exception as e:  # refused, reset, timed out, malformed: a failed sample
        return _failed(start, status, e, timeout.total)


class _Direct(asyncio.Protocol):
    """One request on its own connection, its HTTP/1.1 response parsed in data_received."""

    def __init__(self, req: bytes, start: float, stream: bool, done: asyncio.Future):
        self.req, self.start, self.stream, self.done = req, start, stream, done
        self.head, self.status, self.t_head, self.left, self.chunks = b"", 0, 0.0, -1, None
        self.need, self.body, self.scan = 0, b"", _Scan()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.req)

    def data_received(self, data: bytes) -> None:
        t = now()
        if self.done.done():
            return
        if not self.status:
            self.head += data
            if (i := self.head.find(b"\r\n\r\n")) < 0:
                return
            head, data = self.head[: i + 2].lower(), self.head[i + 4 :]
            self.status, self.t_head = int(head[9:12]), t
            if b"\r\ntransfer-encoding: chunked\r\n" in head:
                self.chunks = b""
            elif m := _CONTENT_LENGTH.search(head):
                self.left = int(m[1])
        end = False
        if self.chunks is not None:
            data, end = self._dechunk(data)
        elif self.left >= 0:
            self.left -= len(data)
            end = self.left <= 0
        if data:
            if self.stream and 200 <= self.status < 300:
                self.scan.feed(data, t)
            elif len(self.body) < 200:
                self.body += data
        if end:
            self._finish(None)

    def _dechunk(self, data: bytes) -> tuple[bytes, bool]:
        buf, out = self.chunks + data, []
        while True:
            if self.need > 0:  # bytes of the current chunk still to come
                out.append(buf[: self.need])
                self.need, buf = self.need - len(out[-1]), buf[self.need :]
                if self.need:
                    break
                self.need = -2  # its CRLF
            if self.need == -2:
                if len(buf) < 2:
                    break
                self.need, buf = 0, buf[2:]
            if (i := buf.find(b"\r\n")) < 0:
                break
            size, buf = int(buf[:i].split(b";")[0], 16), buf[i + 2 :]
            if size == 0:
                self.chunks = b""
                return b"".join(out), True
            self.need = size
        self.chunks = buf
        return b"".join(out), False

    def connection_lost(self, exc) -> None:  # a body without a length ends with the connection
        framed = self.chunks is not None or self.left >= 0
        self._finish(
            exc or (ConnectionResetError("connection closed mid-response") if framed or not self.status else None)
        )

    def _finish(self, exc) -> None:
        if self.done.done():
            return
        self.transport.close()
        s, status = self.start, self.status
        if exc is not None:
            self.done.set_result(_failed(s, status, exc, 0))
        elif not 200 <= status < 300:
            self.done.set_result(_http_error(s, status, self.t_head, self.body))
        else:
            self.done.set_result(
                self.scan.sample(s, status, now())
                if self.stream
                else Sample(s, status, True, now() - s, self.t_head - s)
            )


async def direct_request(target: Target, start: float, timeout_s: float) -> Sample:
    """One request on a fresh connection of its own (closed after the response)."""
    u = urlsplit(target.url)
    port = u.port or (443 if u.scheme == "https" else 80)
    head = "".join(f"{k}: {v}\r\n" for k, v in target.headers.items())
    req = (
        f"POST {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1\r\nHost: {u.netloc}\r\n"
        f"Content-Length: {len(target.body)}\r\nConnection: close\r\n{head}\r\n"
    ).encode() + target.body
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    proto = _Direct(req, start, target.stream, done)
    try:
        async with asyncio.timeout(timeout_s):
            await loop.create_connection(lambda: proto, u.hostname, port, ssl=u.scheme == "https" or None)
            return await done
    except Exception as e:
        if getattr(proto, "transport", None):
            proto.transport.close()
        ok = done.done() and not done.cancelled()
        return done.result() if ok else _failed(start, proto.status, e, timeout_s)


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
