"""The Prometheus metrics of ``GET /metrics`` and the functions that record them.

Under gunicorn every worker writes its numbers into files of one directory,
``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it up before the workers
start), and a scrape adds up the files of all workers, the exited ones'
counters included: whichever worker answers the scrape, the totals are the
server's. Without that setting (``flask run``, in-process tests) the numbers
are this process's own.

Counters and histograms are recorded on the request path, each a few dict
look-ups and an add; what the database or the shared store holds (holds
outstanding, circuit states) is read at scrape time by the view
(lumyx.api.metrics_view) and added with :func:`exposition`.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MICRO_PER_USD = 100_000_000  # lumyx.money: 100 credits of 1,000,000 µcr

# Seconds: LLM answers take from tens of milliseconds (cached, embeddings) to minutes.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
FIRST_TOKEN_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "lumyx_requests",
    "API requests answered, by endpoint, catalog model, provider that answered and HTTP status "
    "(a stream's status is how it ended).",
    ["endpoint", "model", "provider", "status"],
)
DURATION = Histogram(
    "lumyx_request_duration_seconds",
    "Seconds from a request's arrival until its answer was sent in full.",
    ["endpoint", "model"],
    buckets=DURATION_BUCKETS,
)
FIRST_TOKEN = Histogram(
    "lumyx_time_to_first_token_seconds",
    "Seconds from a streamed request's arrival until its first event was sent.",
    ["endpoint", "model"],
    buckets=FIRST_TOKEN_BUCKETS,
)
TOKENS = Counter(
    "lumyx_tokens",
    "Tokens billed, by model and kind: input (uncached prompt tokens), cache_read, cache_write, "
    "output, reasoning (a part of output).",
    ["model", "kind"],
)
COST = Counter("lumyx_cost_usd", "USD charged for calls, by model.", ["model"])
UPSTREAM_FAILURES = Counter(
    "lumyx_upstream_failures",
    "Upstream attempts that failed, by provider and reason (connect, timeout, http_<status>, protocol).",
    ["provider", "reason"],
)
FALLBACKS = Counter(
    "lumyx_fallbacks",
    "Requests served by a later route or fallback model than their first, by the model asked for.",
    ["model"],
)
RATE_LIMITED = Counter("lumyx_rate_limited", "Requests refused by their key's plan limits, by plan.", ["plan"])
STORAGE_ERRORS = Counter(
    "lumyx_storage_errors",
    "Operations that found the database or Redis unreachable, by store.",
    ["store"],
)
IN_FLIGHT = Gauge("lumyx_requests_in_flight", "API requests being served now.", multiprocess_mode="livesum")
STREAMS_OPEN = Gauge("lumyx_streams_open", "Streamed answers being sent now.", multiprocess_mode="livesum")


# Each labelled child once looked up: prometheus_client's labels() validates and locks on
# every call, several times the cost of the add itself.
_children: dict[tuple, object] = {}


def _child(metric, *values: str):
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


# This process's share of IN_FLIGHT, read by the process itself (prometheus_client's
# multiprocess gauge is for a scrape to add up).
_in_flight_here = 0


def request_started() -> None:
    global _in_flight_here
    _in_flight_here += 1
    IN_FLIGHT.inc()


def in_flight_here() -> int:
    """API requests this process is serving now (a stream until its last event went out)."""
    return _in_flight_here


def request_ended(
    endpoint: str, model: str, provider: str, status: int, seconds: float, first_token_s: float | None
) -> None:
    """One API request of ``endpoint`` ended (``model`` and ``provider``: empty when none
    was resolved or answered)."""
    global _in_flight_here
    _in_flight_here -= 1
    IN_FLIGHT.dec()
    _child(REQUESTS, endpoint, model, provider, str(status)).inc()
    _child(DURATION, endpoint, model).observe(seconds)
    if first_token_s is not None:
        _child(FIRST_TOKEN, endpoint, model).observe(first_token_s)


def call_used(model: str, usage, cost_micro: int) -> None:
    """A call of ``model`` was billed ``usage`` (lumyx.gateway.meter.Usage) for ``cost_micro`` µcr."""
    for kind, tokens in (
        ("input", usage.uncached_tokens),
        ("cache_read", usage.cached_tokens),
        ("cache_write", usage.cache_write_tokens + usage.cache_write_1h_tokens),
        ("output", usage.output_tokens),
        ("reasoning", usage.reasoning_tokens),
    ):
        if tokens > 0:
            _child(TOKENS, model, kind).inc(tokens)
    if cost_micro > 0:
        _child(COST, model).inc(cost_micro / MICRO_PER_USD)


def upstream_failed(provider: str, reason: str, status: int | None = None) -> None:
    _child(UPSTREAM_FAILURES, provider, f"http_{status}" if reason == "status" and status else reason).inc()


def fell_back(model: str) -> None:
    _child(FALLBACKS, model).inc()


def rate_limited(plan: str) -> None:
    _child(RATE_LIMITED, plan).inc()


def storage_error(store: str) -> None:
    """``store``: ``database`` or ``redis``."""
    _child(STORAGE_ERRORS, store).inc()


def stream_opened() -> None:
    STREAMS_OPEN.inc()


def stream_closed() -> None:
    STREAMS_OPEN.dec()


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(*read_now) -> bytes:
    """The Prometheus text of every metric: the recorded ones (all workers' when under
    gunicorn), then ``read_now``, collectors of values read at scrape time."""
    if multiprocess():
        recorded = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(recorded)
    else:
        recorded = PROCESS_REGISTRY
    text = generate_latest(recorded)
    if read_now:
        extra = CollectorRegistry(auto_describe=False)
        for collector in read_now:
            extra.register(collector)
        text += generate_latest(extra)
    return text
