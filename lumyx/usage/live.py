"""How the catalog's routes are doing right now: each route's circuit breaker
(shared by every worker, lumyx.routing.breakers) and what this worker measured
on it over the last minutes (lumyx.routing.measurements).

Every breaker the catalog's routes have is read in one round trip. A model is
down right now when every route that has its provider key is open: its
requests are not sent until a route's cool-down ends (or, every route being
open, only to probe one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lumyx.catalog.snapshot import ModelInfo, Route
from lumyx.routing import breakers, measurements
from lumyx.routing.measurements import WINDOW_S, RouteStats, route_key

AVAILABLE, DOWN, NOT_CONFIGURED = "available", "down", "not_configured"
__all__ = ["AVAILABLE", "DOWN", "NOT_CONFIGURED", "WINDOW_S", "RouteNow", "routes_now", "status", "statuses"]


@dataclass(frozen=True, slots=True)
class RouteNow:
    """One route (``provider_id/upstream_model``), the models it serves, its
    breaker's state and this worker's measurements (None: no requests lately)."""

    key: str
    route: Route
    models: tuple[str, ...]
    keyed: bool
    state: str
    stats: RouteStats | None


def _keyed(route: Route) -> bool:
    return route.provider.api_key() is not None


def _states(routes: list[Route]) -> dict[str, str]:
    """The breaker state of each route key, in one round trip."""
    return dict(zip((route_key(r) for r in routes), breakers.states(routes), strict=True)) if routes else {}


def routes_now(models: Iterable[ModelInfo]) -> list[RouteNow]:
    """Every route of ``models`` once (routes shared by models are one breaker), in catalog order."""
    found: dict[str, tuple[Route, list[str]]] = {}
    for model in models:
        for route in model.routes:
            found.setdefault(route_key(route), (route, []))[1].append(model.id)
    keyed = [route for route, _ids in found.values() if _keyed(route)]
    states = _states(keyed)
    stats = measurements.all_stats()
    return [
        RouteNow(key, route, tuple(ids), key in states, states.get(key, breakers.CLOSED_S), stats.get(key))
        for key, (route, ids) in found.items()
    ]


def statuses(models: Iterable[ModelInfo]) -> dict[str, str]:
    """Each model's status right now: AVAILABLE, DOWN (every route with a key is
    open) or NOT_CONFIGURED (no route has its provider key)."""
    models = list(models)
    keyed = {route_key(r): r for m in models for r in m.routes if _keyed(r)}
    states = _states(list(keyed.values()))
    result = {}
    for model in models:
        mine = [states[route_key(r)] for r in model.routes if route_key(r) in states]
        if not mine:
            result[model.id] = NOT_CONFIGURED
        elif all(state == breakers.OPEN_S for state in mine):
            result[model.id] = DOWN
        else:
            result[model.id] = AVAILABLE
    return result


def status(model: ModelInfo) -> str:
    return statuses([model])[model.id]
