"""A circuit breaker per route, shared by every worker (lumyx.routing.store).

After ``failures`` consecutive retryable failures (LUMYX_BREAKER_FAILURES, 5) a
route is open: skipped for ``cooldown_s`` (LUMYX_BREAKER_COOLDOWN_S, 30). Then it
is half-open: one request (:func:`allow`) takes the probe; its success closes
the breaker, its failure opens it again for twice as long as the last time, up
to :data:`MAX_COOLDOWN_S` (or the first cool-down, if longer). A probe whose
request never reports is given up after the route's timeout, and another
request probes.

Reads are one round trip for all of a model's routes (:func:`read`), and a
route's success writes only when this worker last saw its breaker other than
closed; failures and probes write.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from lumyx.catalog.snapshot import Route
from lumyx.routing import store
from lumyx.routing.measurements import route_key

CLOSED_S, OPEN_S, HALF_OPEN_S = "closed", "open", "half_open"
MAX_COOLDOWN_S = 600.0
FORGET_S = 3600.0  # a breaker untouched this long after its last change is forgotten (closed)


@dataclass(frozen=True, slots=True)
class Settings:
    failures: int = 5
    cooldown_s: float = 30.0


settings = Settings()


@dataclass(frozen=True, slots=True)
class Breaker:
    """A route's breaker: consecutive failures, times opened since it last closed,
    until when it is open, and until when its probe is taken."""

    failures: int = 0
    trips: int = 0
    open_until: float = 0.0
    probe_until: float = 0.0

    def state(self, now: float) -> str:
        if self.trips == 0:
            return CLOSED_S
        return OPEN_S if now < self.open_until else HALF_OPEN_S

    def encode(self) -> str:
        return f"{self.failures} {self.trips} {self.open_until:.3f} {self.probe_until:.3f}"

    @classmethod
    def decode(cls, value: str | None) -> Breaker:
        if not value:
            return CLOSED
        try:
            failures, trips, open_until, probe_until = value.split()
            return cls(int(failures), int(trips), float(open_until), float(probe_until))
        except ValueError:
            return CLOSED


CLOSED = Breaker()


def cooldown(trips: int) -> float:
    """The cool-down of a breaker opening for the ``trips``-th time since it closed."""
    first = settings.cooldown_s
    return min(first * 2 ** max(trips - 1, 0), max(MAX_COOLDOWN_S, first))


def _lifetime(breaker: Breaker, now: float) -> float:
    return max(breaker.open_until, breaker.probe_until, now) - now + FORGET_S


def store_key(route: Route) -> str:
    name = route_key(route)
    return "b:" + (name if len(name) <= 200 else "#" + hashlib.blake2b(name.encode(), digest_size=16).hexdigest())


class Board:
    """The breakers as this worker last saw them (so that a success on a closed
    route writes nothing)."""

    def __init__(self) -> None:
        self.seen: dict[str, Breaker] = {}
        self.read_at: dict[str, float] = {}  # when each breaker was last read (time.monotonic)

    def read(self, routes: Sequence[Route], extra: Sequence[str] = ()) -> tuple[list[Breaker], list[str | None]]:
        """Each route's breaker and the values of ``extra`` store keys, in one round trip."""
        keys = [store_key(route) for route in routes]
        values = store.shared.get_many([*keys, *extra])
        breakers = [Breaker.decode(value) for value in values[: len(keys)]]
        seen, read_at, now = self.seen, self.read_at, time.monotonic()
        for key, breaker in zip(keys, breakers, strict=True):
            seen[key] = breaker
            read_at[key] = now
        return breakers, values[len(keys) :]

    def read_lately(self, route: Route, within_s: float) -> bool:
        """Whether this worker read ``route``'s breaker in the last ``within_s`` seconds."""
        return time.monotonic() - self.read_at.get(store_key(route), -within_s) < within_s

    def _change(self, route: Route, step) -> Breaker:
        key = store_key(route)
        value = store.shared.update(key, lambda old: _stored(step(Breaker.decode(old), time.time())))
        breaker = self.seen[key] = Breaker.decode(value)
        return breaker

    def claim_probe(self, route: Route) -> bool:
        """Takes the half-open route's one probe; False when it is not half-open or
        another request has it."""
        window = route.provider.timeout_s + 1.0
        claimed = [False]

        def step(breaker: Breaker, now: float) -> Breaker:
            # Each attempt decides anew: Redis runs the step again when another worker
            # changed the breaker meanwhile, and that one may have taken the probe.
            claimed[0] = breaker.state(now) == HALF_OPEN_S and breaker.probe_until <= now
            if not claimed[0]:
                return breaker
            return Breaker(breaker.failures, breaker.trips, breaker.open_until, now + window)

        self._change(route, step)
        return claimed[0]

    def failed(self, route: Route) -> Breaker:
        return self._change(route, _failed)

    def succeeded(self, route: Route) -> None:
        key = store_key(route)
        if self.seen.get(key) is not CLOSED:
            self._change(route, lambda _breaker, _now: CLOSED)


def _failed(breaker: Breaker, now: float) -> Breaker:
    state = breaker.state(now)
    if state == CLOSED_S:
        failures = breaker.failures + 1
        if failures < settings.failures:
            return Breaker(failures)
        return Breaker(failures, 1, now + cooldown(1))
    if state == OPEN_S:  # tried while open (every route was): it stays open as it was
        return Breaker(breaker.failures + 1, breaker.trips, breaker.open_until, breaker.probe_until)
    trips = breaker.trips + 1  # the probe failed
    return Breaker(breaker.failures + 1, trips, now + cooldown(trips))


def _stored(breaker: Breaker) -> tuple[str | None, float]:
    if breaker == CLOSED:
        return None, 0.0
    return breaker.encode(), _lifetime(breaker, time.time())


board = Board()  # this process's (lumyx.runtime lists it)


def configure(config) -> None:
    """The app factory: the breakers' settings and store."""
    global settings
    settings = Settings(config["LUMYX_BREAKER_FAILURES"], float(config["LUMYX_BREAKER_COOLDOWN_S"]))
    store.configure(config)
    board.seen.clear()


def allow(route: Route) -> bool:
    """Whether a request may use ``route`` now: closed, or half-open and this caller
    took its one probe."""
    (breaker,), _ = board.read([route])
    state = breaker.state(time.time())
    return state == CLOSED_S or (state == HALF_OPEN_S and board.claim_probe(route))


def succeeded(route: Route) -> None:
    board.succeeded(route)


def failed(route: Route) -> None:
    """A retryable failure of ``route`` (connect, timeout, 429, 5xx, broken body)."""
    board.failed(route)


def state(route: Route) -> str:
    """``closed``, ``open`` or ``half_open``."""
    return states([route])[0]


def states(routes: Sequence[Route]) -> list[str]:
    """The state of each of ``routes``, read in one round trip."""
    now = time.time()
    return [breaker.state(now) for breaker in board.read(routes)[0]]
