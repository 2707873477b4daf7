"""Model fallbacks: a call's model first, then the ``models`` its client listed
after it, each tried on its own routes (:func:`lumyx.gateway.routing.send`)
until one answers.

* :func:`candidates` — the models that may serve: those the client's
  ``max_price`` and ``only``/``ignore`` leave a route, and of those the ones
  with a provider key configured (none: the model's own 503, before any hold).
* Admission holds for the dearest candidate's worst case
  (:func:`lumyx.billing.arithmetic.dearest`), so a fallback to a dearer model
  is covered up front.
* :func:`send` — the next model is tried whenever one could not serve,
  whatever its routes' last failure was (a model whose upstream rejected the
  request may still be served by another); when none could, the last one's
  error is the client's. The call then carries the model that served: the
  answer's ``model``, the usage row and the price it is billed at are that
  model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from lumyx.catalog.snapshot import ModelInfo
from lumyx.gateway import routing
from lumyx.gateway.call import CallInput
from lumyx.gateway.routing import Dispatch
from lumyx.providers.adapters import ADAPTERS
from lumyx.routing import preferences


def candidates(call: CallInput) -> list[ModelInfo]:
    """The models that may serve ``call``, in order; raises the 400 of preferences
    that leave none a route, or the first model's 503 when no provider key is set."""
    models = [call.model, *call.fallbacks]
    if call.preferences is not None:
        models = [model for model in models if preferences.serves(call.preferences, model)]
        if not models:
            raise preferences.nothing_serves(call.preferences, [call.model, *call.fallbacks])
    if len(models) == 1:
        unavailable = routing.unavailable(models[0])
        if unavailable is not None:
            raise unavailable
        return models
    available = [model for model in models if routing.unavailable(model) is None]
    if not available:
        raise routing.unavailable(models[0])
    return available


def send(
    call: CallInput, models: list[ModelInfo], output_cap: int | None, adapters: Mapping = ADAPTERS
) -> tuple[CallInput, Dispatch]:
    """(the call as the model that served it, or the last one tried; where it went)."""
    thinking = False
    for model in models:
        attempt = call if model is call.model else replace(call, model=model)
        sent = routing.send(attempt, output_cap, adapters)
        thinking = sent.thinking = thinking or sent.thinking
        if sent.error is None:
            break
    return attempt, sent
