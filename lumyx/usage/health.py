"""How models have been answering: of the requests a provider was asked to
serve, how many it served and how fast, per model and per provider over a
recent window, read from usage_records.

Only upstream outcomes count. A request refused here — credits or a key's
limit (402), a key's model list (403), a rate limit or the free models' daily
cap (429), invalid input (400), a model whose provider key is not configured
(503 ``model_unavailable`` with no key set) — never reached a provider, so it
is counted apart (:attr:`Health.refused`) and is neither served nor an
upstream error. An upstream error is a request no route could serve: a
timeout, a 5xx, a connection refused, a rejected provider key, an upstream
rate limit, or a stream that broke after it started.

A usage row names a provider only when a route answered, so a request that
failed on every route is told from one refused here by its error code (and,
for ``model_unavailable``, by whether the model has a provider key now; for
``rate_limit_exceeded``, by whether it is free and so under the daily cap).

One grouped query covers every model (another every provider), and is
remembered for 30 seconds by each worker process (:data:`cache`, listed with
the worker's other state in lumyx.runtime), so the catalog, model and admin
pages never scan the table per model.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select

from lumyx.db import db
from lumyx.db.models import UsageRecord
from lumyx.db.models._types import utcnow

WINDOW = timedelta(hours=24)
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Health:
    requests: int = 0  # every request recorded for it
    upstream: int = 0  # those a provider was asked to serve: the upstream outcomes
    upstream_errors: int = 0  # of those, the ones no provider served
    avg_latency_ms: int = 0  # over the upstream outcomes

    @property
    def refused(self) -> int:
        """Requests answered here without asking a provider (4xx, a missing provider key)."""
        return self.requests - self.upstream

    @property
    def success_rate(self) -> float | None:
        """Share of the upstream outcomes that were served; None without any."""
        if not self.upstream:
            return None
        return (self.upstream - self.upstream_errors) / self.upstream

    @property
    def error_rate(self) -> float | None:
        rate = self.success_rate
        return None if rate is None else 1 - rate


EMPTY = Health()

# One group of rows: (status, error_code, a provider answered, rows, summed latency ms).
Group = tuple[int, str | None, bool, int, int]
SERVED, FAILED = True, False


def outcome(status: int, error_code: str | None, answered: bool, *, keyed: bool, free: bool) -> bool | None:
    """SERVED or FAILED for an upstream outcome; None for a request refused here.

    ``keyed``: the model has a provider key configured; ``free``: it is free (the
    daily cap refuses free models only)."""
    if answered or status < 400:  # served, or its stream broke (502), or the client left (499)
        return FAILED if status >= 500 else SERVED
    if status in (502, 504):  # upstream_error: timeouts, 5xx and broken answers on every route
        return FAILED
    if error_code == "model_unavailable":  # 503: no route connected or took its key, or no key is set
        return FAILED if keyed else None
    if error_code == "rate_limit_exceeded" and status == 429:  # the upstream's, or the free daily cap
        return None if free else FAILED
    return None


def summarise(groups: list[Group], *, keyed: bool = True, free: bool = False) -> Health:
    requests = upstream = failed = latency = 0
    for status, code, answered, count, latency_sum in groups:
        requests += count
        verdict = outcome(status, code, answered, keyed=keyed, free=free)
        if verdict is None:
            continue
        upstream += count
        latency += latency_sum
        if verdict is FAILED:
            failed += count
    return Health(requests, upstream, failed, latency // upstream if upstream else 0)


def _query(column, window: timedelta) -> dict[str, list[Group]]:
    since = utcnow() - window
    answered = case((UsageRecord.provider_id.is_(None), 0), else_=1)
    rows = db.session.execute(
        select(
            column,
            UsageRecord.status_code,
            UsageRecord.error_code,
            answered,
            func.count(),
            func.sum(UsageRecord.latency_ms),
        )
        .where(UsageRecord.created_at >= since)
        .group_by(column, UsageRecord.status_code, UsageRecord.error_code, answered)
    ).all()
    db.session.rollback()
    groups: dict[str, list[Group]] = {}
    for name, status, code, was_answered, count, latency in rows:
        if name is not None:
            groups.setdefault(name, []).append((int(status), code, bool(was_answered), int(count), int(latency or 0)))
    return groups


class HealthCache:
    """The last answer of each grouped query (per model, per provider) and when
    it was read; a newer one is read once it is older than asked (30 s unless
    a caller asks otherwise), or after :meth:`clear`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: dict[str, tuple[float, dict[str, list[Group]]]] = {}  # by "model" or "provider"

    def recent(self, by: str, max_age: float | None) -> dict[str, list[Group]]:
        max_age = CACHE_SECONDS if max_age is None else max_age
        cached = self._read.get(by)
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        with self._lock:
            cached = self._read.get(by)
            if cached is None or time.monotonic() - cached[0] >= max_age:
                column = UsageRecord.model_id if by == "model" else UsageRecord.provider_id
                cached = (time.monotonic(), _query(column, WINDOW))
                self._read[by] = cached
        return cached[1]

    def clear(self) -> None:
        self._read.clear()

    def forget(self) -> None:
        """In a forked child: nothing read, and a lock no thread of the parent holds."""
        self.__init__()


cache = HealthCache()  # this process's


def of(model_id: str, max_age: float | None = None, *, keyed: bool = True, free: bool = False) -> Health:
    """Health of one model over the last 24 hours; ``keyed`` and ``free`` as
    :func:`outcome` reads them (the catalog pages pass the model's)."""
    return summarise(cache.recent("model", max_age).get(model_id, []), keyed=keyed, free=free)


def recent_by_provider(max_age: float | None = None) -> dict[str, Health]:
    """Health of every provider that answered requests in the last 24 hours."""
    return {name: summarise(groups) for name, groups in cache.recent("provider", max_age).items()}


def clear_cache() -> None:
    cache.clear()
