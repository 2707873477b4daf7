"""What each route did over the last few minutes, as this worker saw it: requests,
failures, latency, time to first token and output speed.

A sliding window of :data:`WINDOW_S` seconds in :data:`BUCKETS` buckets per route,
kept in the process (no shared store, nothing on the request path but a few
additions). Fed by the gateway's send loop; read by ``provider.sort``
(``latency``, ``throughput``) and the pages that show how routes are doing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from lumyx.catalog.snapshot import Route

WINDOW_S = 300
BUCKETS = 30
_SPAN = WINDOW_S / BUCKETS


@dataclass(frozen=True, slots=True)
class RouteStats:
    """A route over the window: ``latency_s`` is the mean time until its answer began
    (a whole answer, or a stream's first event), ``ttft_s`` the mean time to a
    stream's first event, ``tokens_per_s`` output tokens per second of generation.
    None where nothing was measured."""

    requests: int
    errors: int
    latency_s: float | None
    ttft_s: float | None
    tokens_per_s: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def route_key(route: Route) -> str:
    """``provider_id/upstream_model``: how a route is named in measurements and breakers."""
    return f"{route.provider.id}/{route.model}"


class _Bucket:
    __slots__ = ("ended", "errors", "latency", "output_tokens", "requests", "seconds", "served", "streams", "ttft")

    def __init__(self, index: int) -> None:
        self.ended = index
        self.requests = self.errors = self.served = self.streams = self.output_tokens = 0
        self.latency = self.ttft = self.seconds = 0.0


class Measurements:
    """Buckets per route key; one lock, held for a few additions."""

    def __init__(self) -> None:
        self._routes: dict[str, list[_Bucket | None]] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, index: int) -> _Bucket:
        with self._lock:
            ring = self._routes.get(key)
            if ring is None:
                ring = self._routes[key] = [None] * BUCKETS
            bucket = ring[index % BUCKETS]
            if bucket is None or bucket.ended != index:
                bucket = ring[index % BUCKETS] = _Bucket(index)
            return bucket

    def record(
        self,
        route: Route,
        ok: bool,
        latency_s: float,
        ttft_s: float | None = None,
        output_tokens: int = 0,
        duration_s: float | None = None,
    ) -> None:
        """One attempt on ``route``: whether it answered, how long until its answer
        began, and (when it answered) its stream's first event, the output tokens
        and how long generating them took."""
        bucket = self._bucket(route_key(route), int(time.time() // _SPAN))
        with self._lock:
            bucket.requests += 1
            if not ok:
                bucket.errors += 1
                return
            bucket.served += 1
            bucket.latency += latency_s
            if ttft_s is not None:
                bucket.streams += 1
                bucket.ttft += ttft_s
            if output_tokens and duration_s:
                bucket.output_tokens += output_tokens
                bucket.seconds += duration_s

    def output(self, route: Route, output_tokens: int, duration_s: float) -> None:
        """The output of an answer of ``route`` once it ended (its start was recorded):
        the tokens and the seconds generating them took."""
        if output_tokens <= 0 or duration_s <= 0:
            return
        bucket = self._bucket(route_key(route), int(time.time() // _SPAN))
        with self._lock:
            bucket.output_tokens += output_tokens
            bucket.seconds += duration_s

    def stats(self, route: Route) -> RouteStats | None:
        return self._stats(route_key(route))

    def _stats(self, key: str) -> RouteStats | None:
        oldest = int(time.time() // _SPAN) - BUCKETS + 1
        with self._lock:
            ring = self._routes.get(key)
            live = [b for b in ring or () if b is not None and b.ended >= oldest]
            if not live:
                return None
            requests = sum(b.requests for b in live)
            errors = sum(b.errors for b in live)
            served = sum(b.served for b in live)
            streams = sum(b.streams for b in live)
            seconds = sum(b.seconds for b in live)
            return RouteStats(
                requests=requests,
                errors=errors,
                latency_s=sum(b.latency for b in live) / served if served else None,
                ttft_s=sum(b.ttft for b in live) / streams if streams else None,
                tokens_per_s=sum(b.output_tokens for b in live) / seconds if seconds else None,
            )

    def all_stats(self) -> dict[str, RouteStats]:
        with self._lock:
            keys = list(self._routes)
        found = {key: self._stats(key) for key in keys}
        return {key: stats for key, stats in found.items() if stats is not None}

    def forget(self) -> None:
        with self._lock:
            self._routes.clear()


measurements = Measurements()  # this process's (lumyx.runtime lists it)
record = measurements.record
output = measurements.output
stats = measurements.stats
all_stats = measurements.all_stats
