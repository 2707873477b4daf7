"""How models have been answering: request counts, upstream failures and latency
per model over a recent window, read from usage_records.

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
    requests: int = 0
    client_errors: int = 0  # 4xx: the request was refused (key, credits, limits, bad input)
    server_errors: int = 0  # 5xx: the model could not be served (upstream down, no key, …)
    avg_latency_ms: int = 0

    @property
    def success_rate(self) -> float | None:
        """Share of requests served without a server-side failure; None without requests."""
        if not self.requests:
            return None
        return (self.requests - self.server_errors) / self.requests

    @property
    def error_rate(self) -> float | None:
        rate = self.success_rate
        return None if rate is None else 1 - rate


EMPTY = Health()


def _query(column, window: timedelta) -> dict[str, Health]:
    since = utcnow() - window
    rows = db.session.execute(
        select(
            column,
            func.count(),
            func.sum(case((UsageRecord.status_code.between(400, 499), 1), else_=0)),
            func.sum(case((UsageRecord.status_code >= 500, 1), else_=0)),
            func.avg(UsageRecord.latency_ms),
        )
        .where(UsageRecord.created_at >= since)
        .group_by(column)
    ).all()
    db.session.rollback()
    return {
        name: Health(int(count), int(client or 0), int(server or 0), int(latency or 0))
        for name, count, client, server, latency in rows
        if name is not None
    }


class HealthCache:
    """The last answer of each grouped query (per model, per provider) and when
    it was read; a newer one is read once it is older than asked (30 s unless
    a caller asks otherwise), or after :meth:`clear`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: dict[str, tuple[float, dict[str, Health]]] = {}  # by "model" or "provider"

    def recent(self, by: str, max_age: float | None) -> dict[str, Health]:
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


def recent(max_age: float | None = None) -> dict[str, Health]:
    """Health of every model that had requests in the last 24 hours."""
    return cache.recent("model", max_age)


def recent_by_provider(max_age: float | None = None) -> dict[str, Health]:
    """Health of every provider that served (or failed) requests in the last 24 hours."""
    return cache.recent("provider", max_age)


def of(model_id: str, max_age: float | None = None) -> Health:
    return recent(max_age).get(model_id, EMPTY)


def clear_cache() -> None:
    cache.clear()
