"""Whether this worker is draining: it got its stop signal (SIGTERM, from an
operator or from the master's SIGHUP reload) and serves on for
``LUMYX_DRAIN_S`` seconds while readiness answers 503, so that a load balancer
checking ``/v1/health/ready`` stops sending it new requests before it stops
accepting them (lumyx.server.worker sets it; readiness reads it)."""

from __future__ import annotations

import time

_since: float | None = None


def begin() -> None:
    global _since
    if _since is None:
        _since = time.monotonic()


def active() -> bool:
    return _since is not None


def seconds() -> float:
    """How long this worker has been draining (0 when it is not)."""
    return 0.0 if _since is None else time.monotonic() - _since
