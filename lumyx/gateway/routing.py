"""Sending a call on its model's routes, in the order its plan gives
(lumyx.routing.plan: preferences, balancing, the conversation's route, circuit
breakers), until one answers.

Each attempt is reported: to the route's breaker (a retryable failure counts
against it; an answer, even a rejection of the request, closes it), to the
route's measurements, and, once a route answered, as the conversation's route.
A route is skipped when its provider's key is not configured, and abandoned
for the next one when it fails before any byte went to the client: connect
error, timeout, HTTP 429/5xx (and 401/403/404, which point at the route's own
configuration), a malformed body, a request its format cannot express, or a
stream whose first event never arrives. An upstream that rejects the request
itself (HTTP 400/422) is not asked again elsewhere. When every route failed,
the last failure decides what the client sees (:func:`final_error`, the
README's "Routing and failures" table).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from lumyx.catalog.snapshot import ModelInfo, Route
from lumyx.errors import ApiError
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import tokens
from lumyx.gateway.call import Call, CallInput, UpstreamRequest
from lumyx.gateway.formats import PAIRS, Translation, cannot_serve
from lumyx.observability import metrics, tracing
from lumyx.providers.adapters import ADAPTERS, WIRE_OF_KIND
from lumyx.providers.base import COUNT_TOKENS, UpstreamFailure, UpstreamReply
from lumyx.providers.streaming import StreamBroken
from lumyx.routing import breakers, measurements, sticky
from lumyx.routing.plan import Plan, plan
from lumyx.translate import TranslationError

log = logging.getLogger("lumyx.gateway")


@dataclass(slots=True)
class Dispatch:
    """Where a call went: the route that answered, or (``error``) what the client gets."""

    route: Route | None = None
    translation: Translation | None = None
    reply: UpstreamReply | None = None
    first: dict | None = None  # a stream's first event, read before the route was chosen
    thinking: bool = False  # a route was asked to reason
    error: ApiError | None = None
    fell_back: bool = False  # the route that answered is not the first of the plan


def send(call: CallInput, output_cap: int | None, adapters: Mapping = ADAPTERS) -> Dispatch:
    """Tries the model's routes in order; ``output_cap`` is the admission's (or None)."""
    missing: list[str] = []
    failures: list[UpstreamFailure] = []
    thinking = False
    chosen = plan(call)
    for route in chosen.routes:
        provider = route.provider
        if provider.api_key() is None:
            missing.append(provider.api_key_env)
            continue
        started = time.perf_counter()
        span = tracing.attempt(call, route)
        try:
            translation = PAIRS.get((call.client_format, WIRE_OF_KIND[provider.kind]))
            if translation is None:
                raise cannot_serve(call)
            upstream = _upstream_request(translation, call, output_cap, route.model)
            thinking = thinking or upstream.thinking
            reply = adapters[provider.kind].send(
                provider, upstream.operation, upstream.body, stream=call.stream, client_headers=call.client_headers
            )
            first = _first_event(reply) if call.stream else None
            _answered(chosen, route, time.perf_counter() - started, call.stream)
            tracing.attempt_answered(span)
            return Dispatch(route, translation, reply, first, thinking, fell_back=route is not chosen.routes[0])
        except UpstreamFailure as failure:
            log.warning("route %s/%s failed for %s: %s", provider.id, route.model, call.request_id, failure.reason)
            _failed(route, failure, time.perf_counter() - started)
            tracing.attempt_failed(span, failure)
            failures.append(failure)
            if not failure.retryable:
                break
        except Exception as exc:
            tracing.attempt_raised(span, exc)
            raise
    return Dispatch(thinking=thinking, error=final_error(call.model.id, missing, failures))


def _answered(chosen: Plan, route: Route, seconds: float, stream: bool) -> None:
    measurements.record(route, True, seconds, seconds if stream else None)
    breakers.succeeded(route)
    if chosen.conversation is not None:
        sticky.remember(chosen.conversation, route, chosen.seen)


def _failed(route: Route, failure: UpstreamFailure, seconds: float) -> None:
    if failure.reason == "unsupported":  # the request, not the route: nothing to count
        return
    metrics.upstream_failed(route.provider.id, failure.reason, failure.status)
    if failure.retryable:
        measurements.record(route, False, seconds)
        breakers.failed(route)
    else:  # the upstream answered: it rejected the request itself
        measurements.record(route, True, seconds)
        breakers.succeeded(route)


def finished(call: Call) -> None:
    """The call ended (lumyx.gateway.pipeline.finish): its route's output speed."""
    outcome = call.outcome
    if outcome.route is None or outcome.usage is None or not outcome.usage.output_tokens:
        return
    seconds = call.latency_ms / 1000
    if outcome.first_event_ms is not None:
        seconds -= outcome.first_event_ms / 1000
    measurements.output(outcome.route, outcome.usage.output_tokens, seconds)


def unavailable(model: ModelInfo) -> ApiError | None:
    """503 ``model_unavailable`` when no route of ``model`` has its provider's key
    configured, so none could serve it; read from the environment, no database."""
    missing = []
    for route in model.routes:
        if route.provider.api_key() is not None:
            return None
        missing.append(route.provider.api_key_env)
    return final_error(model.id, missing, [])


def _upstream_request(
    translation: Translation, call: CallInput, output_cap: int | None, upstream_model: str
) -> UpstreamRequest:
    try:
        return translation.request(call, output_cap, upstream_model)
    except TranslationError as exc:
        raise UpstreamFailure("unsupported", str(exc.message), retryable=True, param=exc.param) from None


def _first_event(reply: UpstreamReply) -> dict | None:
    try:
        return next(reply.events, None)
    except StreamBroken as broken:
        reply.close()
        raise UpstreamFailure(broken.reason, broken.message) from None


def final_error(model_id: str, missing: list[str], failures: list[UpstreamFailure]) -> ApiError:
    """What the client sees when no route served: ``missing`` names the unset key
    variables of the routes skipped, ``failures`` the failures of those tried."""
    if not failures:
        names = ", ".join(sorted(set(missing)))
        return ApiError(
            503,
            "model_unavailable",
            f"The model '{model_id}' is unavailable: its provider key is not configured (set {names} on the server).",
        )
    last = failures[-1]
    if last.reason == "unsupported":
        return ApiError(400, "invalid_request", last.message, param=last.param)
    if last.status is not None and not last.retryable:
        return ApiError(400, "invalid_request", f"Upstream rejected the request: {last.message}")
    if last.status == 429:
        headers = {"retry-after": last.retry_after} if last.retry_after else {}
        return ApiError(
            429,
            "rate_limit_exceeded",
            f"The upstream provider of '{model_id}' is rate limiting; retry shortly.",
            headers=headers,
        )
    if last.reason == "connect" or last.status in (401, 403, 404):
        return ApiError(
            503,
            "model_unavailable",
            f"The model '{model_id}' is temporarily unavailable; no provider could serve it.",
        )
    if last.reason == "timeout":
        return ApiError(502, "upstream_error", f"The upstream provider of '{model_id}' timed out.")
    return ApiError(502, "upstream_error", f"The upstream provider of '{model_id}' failed ({last.message}).")


def count_tokens(call: CallInput, adapters: Mapping = ADAPTERS) -> tuple[Route | None, dict]:
    """(the route that counted, ``{"input_tokens"}``): Anthropic upstreams count for
    themselves; for any other, or when they fail, the count is estimated."""
    for route in call.model.routes:
        provider = route.provider
        if provider.kind != "anthropic" or provider.api_key() is None:
            continue
        try:
            body, _thinking = anthropic_relay.rewrite(call, route.model, call.body)
            reply = adapters[provider.kind].send(
                provider, COUNT_TOKENS, body, stream=False, client_headers=call.client_headers
            )
            if isinstance(reply.body.get("input_tokens"), int):
                return route, {"input_tokens": reply.body["input_tokens"]}
        except UpstreamFailure as failure:
            log.warning("count_tokens on %s failed for %s: %s", provider.id, call.request_id, failure.reason)
    return None, {"input_tokens": tokens.estimate_input(call.body)}
