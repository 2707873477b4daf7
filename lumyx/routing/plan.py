"""The routes a call tries, in order.

1. The client's provider preferences arrange the model's routes
   (lumyx.routing.preferences; none: the catalog's order). When they fix the
   order (``order`` or ``sort``) it is kept: no balancing, no stickiness.
2. The routes' breakers, and the route the conversation last used, are read
   in one round trip (models with one route read no conversation). A call with
   one route to try is sent to it whatever its breaker says (step 5), so its
   breaker is read at most once a second per worker, only to keep this worker's
   view of it current (a success closes a breaker this worker saw open).
3. An open route is left out; a half-open one whose probe this call takes
   goes first (it is the probe), any other half-open one is left out.
4. The route the conversation last used goes first while it is closed; else,
   for ``routing: balance``, one closed route picked by weight; the others
   follow in order, as fallbacks.
5. When every route is left out, the last is tried all the same: a call is
   never refused without an upstream being asked.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lumyx.catalog.snapshot import ModelInfo, Route
from lumyx.routing import breakers, measurements, preferences, sticky

if TYPE_CHECKING:
    from lumyx.gateway.call import CallInput


ONE_ROUTE_READ_S = 1.0


@dataclass(slots=True)
class Plan:
    routes: list[Route]
    conversation: str | None = None  # the conversation's store key (lumyx.routing.sticky)
    seen: str | None = None  # what the store held for it before the call
    probe: Route | None = field(default=None)  # the half-open route this call probes


def plan(call: CallInput, model: ModelInfo | None = None) -> Plan:
    model = model or call.model
    routes, pinned = list(model.routes), False
    if call.preferences is not None:
        arranged, pinned = preferences.arrange(call.preferences, routes, measurements.stats)
        routes = list(arranged)
    if not routes:
        return Plan([])
    if len(routes) == 1 and breakers.board.read_lately(routes[0], ONE_ROUTE_READ_S):
        return Plan(routes)  # tried whatever its breaker says (step 5)
    conversation = None if pinned or len(routes) == 1 else sticky.conversation_key(call)
    board = breakers.board
    states, extra = board.read(routes, (conversation,) if conversation else ())
    seen = extra[0] if extra else None
    now = time.time()
    closed: list[Route] = []
    probe = None
    for route, breaker in zip(routes, states, strict=True):
        state = breaker.state(now)
        if state == breakers.CLOSED_S:
            closed.append(route)
        elif state == breakers.HALF_OPEN_S and probe is None and breaker.probe_until <= now:
            if board.claim_probe(route):
                probe = route
    if not pinned and len(closed) > 1:
        closed = _first_choice(model, closed, sticky.decode(seen)[0])
    chosen = [probe, *closed] if probe is not None else closed
    return Plan(chosen or [routes[-1]], conversation, seen, probe)


def _first_choice(model: ModelInfo, closed: list[Route], remembered: str | None) -> list[Route]:
    """``closed`` with the conversation's route, or a balanced model's pick, first."""
    first = None
    if remembered is not None:
        first = next((route for route in closed if sticky.route_tag(route) == remembered), None)
    if first is None and model.routing == "balance":
        candidates = [route for route in closed if route.weight > 0 and route.provider.api_key() is not None]
        if candidates:
            first = random.choices(candidates, weights=[route.weight for route in candidates])[0]
    if first is None or first is closed[0]:
        return closed
    return [first, *(route for route in closed if route is not first)]
