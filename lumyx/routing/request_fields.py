"""The routing fields of a request, as OpenRouter names them, on chat/completions,
messages and responses: ``models`` (fallback model ids, tried in order after
``model``), ``provider`` (:mod:`lumyx.routing.preferences`) and the legacy
``route: "fallback"`` (accepted; ``models`` alone already means fallback).

:func:`take` lifts them off the body before anything else reads it, so they are
never forwarded upstream; without ``model``, the first of ``models`` is the
model. :func:`choose` resolves the model and checks them: each fallback must
exist (404), be allowed by the key (403) and serve the request (400, the
same capability checks as the model), all up front, before any hold or
upstream call; preferences that leave no model a route answer 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from lumyx.accounts.keys import KeyContext
from lumyx.catalog.snapshot import Catalog, ModelInfo
from lumyx.errors import ApiError, bad_request
from lumyx.gateway import pipeline as gateway
from lumyx.routing import preferences
from lumyx.routing.preferences import Preferences
from lumyx.wire.capabilities import require_capabilities

FIELDS = ("models", "provider", "route")
MAX_MODELS = 10


@dataclass(frozen=True, slots=True)
class Asked:
    """The routing fields as the client sent them (``models``: the fallbacks)."""

    models: tuple[str, ...] = ()
    provider: object = None


NOTHING_ASKED = Asked()


def take(body: dict) -> tuple[dict, Asked]:
    """(the body without the routing fields, what they asked)."""
    if not any(name in body for name in FIELDS):
        return body, NOTHING_ASKED
    body = dict(body)
    models, provider, route = (body.pop(name, None) for name in FIELDS)
    if route is not None and route != "fallback":
        raise bad_request("'route' may only be \"fallback\" (list fallback models in 'models').", "route")
    if models is None:
        models = []
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise bad_request("'models' must be an array of model ids.", "models")
    if len(models) > MAX_MODELS:
        raise bad_request(f"'models' lists at most {MAX_MODELS} models.", "models")
    if body.get("model") is None and models:
        body["model"], models = models[0], models[1:]
    return body, Asked(tuple(models), provider)


def choose(
    catalog: Catalog, asked: Asked, key: KeyContext, body: dict, endpoint: str, *, has_image: bool
) -> tuple[ModelInfo, Preferences | None, tuple[ModelInfo, ...]]:
    """(the model, the preferences, the fallback models) of a request to ``endpoint``
    whose body (the routing fields taken) is ``body``: the model and each fallback
    resolved for ``key`` and checked for what the request needs."""
    model = gateway.resolve(catalog, body["model"], key)
    check = partial(require_capabilities, body=body, endpoint=endpoint, has_image=has_image)
    check(model)
    return model, *resolve(asked, catalog, key, model, check)


def resolve(
    asked: Asked, catalog: Catalog, key: KeyContext, model: ModelInfo, check: Callable[[ModelInfo], None]
) -> tuple[Preferences | None, tuple[ModelInfo, ...]]:
    """(the preferences, the fallback models) of a request to ``model``; ``check``
    raises the 400 of a model that cannot serve the request."""
    if asked is NOTHING_ASKED:
        return None, ()
    prefs = preferences.parse(asked.provider, catalog)
    fallbacks: dict[str, ModelInfo] = {}
    for i, model_id in enumerate(asked.models):
        param = f"models[{i}]"
        try:
            fallback = gateway.resolve(catalog, model_id, key)
            check(fallback)
        except ApiError as error:
            raise ApiError(error.status, error.code, f"{error.message} ({param})", param=param) from None
        if fallback.id != model.id:
            fallbacks.setdefault(fallback.id, fallback)
    candidates = (model, *fallbacks.values())
    if not any(preferences.serves(prefs, candidate) for candidate in candidates):
        raise preferences.nothing_serves(prefs, candidates)
    return prefs, tuple(fallbacks.values())
