"""What the load generator sends and what it measures: a ``Target`` (one request, made by
``make_target`` in any of the three formats), a ``Sample`` per request sent, and a ``Result``
of samples with its percentiles (``pct``)."""

from __future__ import annotations

import json
from array import array
from dataclasses import dataclass


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
