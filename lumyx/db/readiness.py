"""Whether the stores a worker needs answer, for readiness checks
(``GET /v1/health/ready``): the database, and Redis when ``REDIS_URL`` is set.
They are pinged at most once every ``PING_EVERY_SECONDS`` per worker; checks in
between read the last answer, so a load balancer's checks cost no query each."""

from __future__ import annotations

import time
from collections.abc import Callable

from lumyx.db import db

PING_EVERY_SECONDS = 1.0


def ping_database() -> None:
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


class StorePings:
    def __init__(self, redis_url: str | None) -> None:
        self.pings: dict[str, Callable[[], None]] = {"database": ping_database}
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.5)
            self.pings["redis"] = client.ping
        self._last: str | None = None
        self._at: float | None = None

    def unreachable(self) -> str | None:
        """The name of the first store that did not answer its last ping, or None."""
        now = time.monotonic()
        if self._at is None or now - self._at >= PING_EVERY_SECONDS:
            self._at = now  # checks arriving meanwhile read the previous answer
            self._last = self._ping()
        return self._last

    def _ping(self) -> str | None:
        for name, ping in self.pings.items():
            try:
                ping()
            except Exception:
                return name
        return None
