"""The client's say in routing: the ``provider`` object of a request, as
OpenRouter names its fields, read once (:func:`parse`) and applied to a model's
routes by a pure function (:func:`arrange`).

* ``only`` / ``ignore`` — catalog provider ids whose routes may / may not serve.
* ``order`` — providers tried first, in that order; the model's other routes
  follow unless ``allow_fallbacks`` is false.
* ``allow_fallbacks: false`` — only the routes ``order`` names, or without
  ``order`` only the first route left.
* ``sort`` — ``price``, ``latency`` or ``throughput``: the routes not named in
  ``order``, best first. Every route of a model is charged the model's catalog
  price, so ``price`` keeps the catalog's order (the routes tie); ``latency``
  (lowest first) and ``throughput`` (highest tokens/s first) read what this
  instance measured, measured routes first, the others after in catalog order.
* ``max_price`` — ``{prompt, completion}`` USD per 1M tokens: a model dearer
  on either side may not serve (:func:`priced_out`); never a silent dearer one.

Provider ids are matched without regard to case; an id the catalog does not
know answers 400 naming it, as does any field this gateway cannot honour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR
from typing import TYPE_CHECKING

from lumyx import money
from lumyx.errors import ApiError, bad_request

if TYPE_CHECKING:
    from lumyx.catalog.snapshot import Catalog, ModelInfo, Route
    from lumyx.routing.measurements import RouteStats

SORTS = ("price", "latency", "throughput")
FIELDS = ("order", "only", "ignore", "allow_fallbacks", "sort", "max_price")
PRICE_SIDES = ("prompt", "completion")
MAX_IDS = 64


@dataclass(frozen=True, slots=True)
class Preferences:
    """A request's routing preferences; provider ids as the catalog spells them,
    prices in µcr per 1M tokens like :class:`~lumyx.catalog.snapshot.ModelInfo`'s."""

    order: tuple[str, ...] = ()
    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    allow_fallbacks: bool = True
    sort: str | None = None
    max_prompt: int | None = None
    max_completion: int | None = None

    def admits(self, route: Route) -> bool:
        """``only`` and ``ignore`` let ``route`` serve."""
        provider = route.provider.id
        return (self.only is None or provider in self.only) and provider not in self.ignore


def parse(raw, catalog: Catalog) -> Preferences | None:
    """The ``provider`` object of a request (None when it has none); raises a 400
    (``param`` ``provider…``) for a bad field or provider ids the catalog lacks."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("'provider' must be an object.", "provider")
    unknown = [name for name in raw if name not in FIELDS]
    if unknown:
        raise bad_request(
            f"'provider' has fields this gateway does not support: {', '.join(unknown)} "
            f"(supported: {', '.join(FIELDS)}).",
            f"provider.{unknown[0]}",
        )
    ids = {provider_id.lower(): provider_id for provider_id in catalog.providers}
    order = _ids(raw, "order", ids)
    only = _ids(raw, "only", ids)
    ignore = _ids(raw, "ignore", ids)
    allow_fallbacks = raw.get("allow_fallbacks")
    if allow_fallbacks is not None and not isinstance(allow_fallbacks, bool):
        raise bad_request("'provider.allow_fallbacks' must be a boolean.", "provider.allow_fallbacks")
    sort = raw.get("sort")
    if sort is not None and sort not in SORTS:
        raise bad_request(f"'provider.sort' must be one of {', '.join(SORTS)}.", "provider.sort")
    max_prompt, max_completion = _max_price(raw.get("max_price"))
    return Preferences(
        order=tuple(dict.fromkeys(order or ())),
        only=None if only is None else frozenset(only),
        ignore=frozenset(ignore or ()),
        allow_fallbacks=allow_fallbacks is not False,
        sort=sort,
        max_prompt=max_prompt,
        max_completion=max_completion,
    )


def _ids(raw: dict, name: str, known: dict[str, str]) -> list[str] | None:
    """The catalog ids a list of provider ids names; 400 naming the unknown ones."""
    value = raw.get(name)
    if value is None:
        return None
    param = f"provider.{name}"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"'{param}' must be an array of provider ids.", param)
    if len(value) > MAX_IDS:
        raise bad_request(f"'{param}' names at most {MAX_IDS} providers.", param)
    unknown = [v for v in value if v.lower() not in known]
    if unknown:
        listed = ", ".join(repr(v) for v in dict.fromkeys(unknown))
        raise bad_request(
            f"'{param}' names unknown provider{'s' if len(unknown) > 1 else ''}: {listed} "
            f"(known: {', '.join(sorted(known.values()))}).",
            param,
        )
    return [known[v.lower()] for v in value]


def _max_price(value) -> tuple[int | None, int | None]:
    """(prompt, completion) µcr per 1M tokens from ``max_price`` (USD per 1M)."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise bad_request("'provider.max_price' must be an object with prompt and/or completion.", "provider.max_price")
    unknown = [name for name in value if name not in PRICE_SIDES]
    if unknown:
        raise bad_request(
            f"'provider.max_price' supports prompt and completion only, not {', '.join(unknown)}.",
            f"provider.max_price.{unknown[0]}",
        )
    return tuple(_usd_per_million(value.get(side), f"provider.max_price.{side}") for side in PRICE_SIDES)


def _usd_per_million(value, param: str) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            raise ValueError("a string")
        usd = money.to_decimal(value)
    except ValueError:
        raise bad_request(f"'{param}' must be a number (USD per 1M tokens).", param) from None
    if usd < 0:
        raise bad_request(f"'{param}' must be 0 or more.", param)
    # Rounded down to the µcr: a limit never admits a price above it.
    return int((usd * money.MICRO_PER_USD).to_integral_value(rounding=ROUND_FLOOR))


def priced_out(prefs: Preferences | None, model: ModelInfo) -> bool:
    """``max_price`` excludes ``model``: its prompt or completion price is above it."""
    if prefs is None:
        return False
    return (prefs.max_prompt is not None and model.price_input > prefs.max_prompt) or (
        prefs.max_completion is not None and model.price_output > prefs.max_completion
    )


def admitted(prefs: Preferences | None, routes: Sequence[Route]) -> list[Route]:
    """The routes ``only`` and ``ignore`` leave, in their order."""
    return list(routes) if prefs is None else [route for route in routes if prefs.admits(route)]


def arrange(
    prefs: Preferences | None,
    routes: Sequence[Route],
    stats_of: Callable[[Route], RouteStats | None],
) -> tuple[list[Route], bool]:
    """(the routes to try, in order; pinned). ``pinned``: the client fixed the order
    (``order`` or ``sort`` given), so balancing and stickiness leave it as it is.
    ``stats_of`` gives a route's measurements (None: none yet)."""
    if prefs is None:
        return list(routes), False
    left = admitted(prefs, routes)
    first = [route for provider in prefs.order for route in left if route.provider.id == provider]
    rest = _sorted([route for route in left if route.provider.id not in prefs.order], prefs.sort, stats_of)
    pinned = bool(prefs.order or prefs.sort)
    if not prefs.allow_fallbacks:
        return (first if prefs.order else rest[:1]), pinned
    return first + rest, pinned


def _sorted(routes: list[Route], sort: str | None, stats_of: Callable[[Route], RouteStats | None]) -> list[Route]:
    """``routes`` best first by ``sort``; unmeasured routes after, in their order."""
    if sort not in ("latency", "throughput"):
        return routes  # price: every route of a model has the model's price
    measured, unmeasured = [], []
    for route in routes:
        stats = stats_of(route)
        value = None if stats is None else stats.latency_s if sort == "latency" else stats.tokens_per_s
        (unmeasured if value is None else measured).append((value, route))
    measured.sort(key=lambda pair: pair[0] if sort == "latency" else -pair[0])  # stable: ties keep their order
    return [route for _value, route in measured] + [route for _value, route in unmeasured]


def unmeasured(_route: Route) -> None:
    """The measurements of a route none were kept of: ``latency`` and ``throughput``
    then keep the catalog's order."""
    return None


def serves(prefs: Preferences | None, model: ModelInfo) -> bool:
    """``model`` is within ``max_price`` and has a route the preferences leave."""
    if prefs is None:
        return True
    return not priced_out(prefs, model) and bool(arrange(prefs, model.routes, unmeasured)[0])


def nothing_serves(prefs: Preferences, models: Sequence[ModelInfo]) -> ApiError:
    """The 400 for preferences that leave none of ``models`` (the call's model and
    its fallbacks) a route: each model with why, never a silent dearer route."""
    reasons = []
    for model in models:
        if priced_out(prefs, model):
            reasons.append(
                f"'{model.id}' costs ${_usd(model.price_input)} prompt and ${_usd(model.price_output)} completion"
            )
        else:
            providers = ", ".join(dict.fromkeys(route.provider.id for route in model.routes))
            reasons.append(f"'{model.id}' is served by {providers}, which the provider preferences exclude")
    if all(priced_out(prefs, model) for model in models):
        limits = ", ".join(
            f"{side} ${_usd(limit)}"
            for side, limit in (("prompt", prefs.max_prompt), ("completion", prefs.max_completion))
            if limit is not None
        )
        message = f"No model of this request is priced within provider.max_price ({limits} per 1M tokens): "
        param = "provider.max_price"
    else:
        message = "No route of this request's models matches its provider preferences: "
        param = "provider"
    return bad_request(message + "; ".join(reasons) + ".", param)


def _usd(micro_per_million: int) -> str:
    return format(money.micro_price_to_usd(micro_per_million).normalize(), "f")
