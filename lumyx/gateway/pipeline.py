"""The request path: resolve the model, try its routes in order, shape the
answer for the client, and finish the call exactly once.

A client speaks the OpenAI or the Anthropic format, and so does each route's
upstream; when the two differ the request, the response and the stream are
translated (:mod:`lumyx.translate`), otherwise they pass through with the few
rewrites of :mod:`.openai_relay` and :mod:`.anthropic_relay`.

A route is abandoned for the next one when it fails before any byte went to
the client: connect error, timeout, HTTP 429/5xx (and 401/403/404, which
point at the route's own configuration), a malformed body, a request its
format cannot express, or a stream whose first event never arrives. After the
first byte, a failure ends the stream with an error event and the call is
marked partial.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lumyx.accounts.keys import touch as touch_key
from lumyx.billing import charges as billing
from lumyx.catalog.snapshot import Catalog, ModelInfo
from lumyx.errors import DATABASE_DOWN, ApiError
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway import streams, tokens
from lumyx.gateway.call import Call
from lumyx.providers import ADAPTERS, WIRE_OF_KIND, UpstreamFailure
from lumyx.providers.base import CHAT, COUNT_TOKENS, MESSAGES
from lumyx.providers.streaming import StreamBroken
from lumyx.translate import (
    TranslationError,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)

log = logging.getLogger("lumyx.gateway")
DEFAULT_MAX_TOKENS = 4096


def resolve(catalog: Catalog, model_id) -> ModelInfo:
    model = catalog.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise ApiError(
            404, "model_not_found", f"The model '{model_id}' does not exist or is not available.", param="model"
        )
    return model


def _final_error(call: Call, missing: list[str], failures: list[UpstreamFailure]) -> ApiError:
    if not failures:
        names = ", ".join(sorted(set(missing)))
        return ApiError(
            503,
            "model_unavailable",
            f"The model '{call.model.id}' is unavailable: its provider key is not configured "
            f"(set {names} on the server).",
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
            f"The upstream provider of '{call.model.id}' is rate limiting; retry shortly.",
            headers=headers,
        )
    if last.reason == "connect" or last.status in (401, 403, 404):
        return ApiError(
            503,
            "model_unavailable",
            f"The model '{call.model.id}' is temporarily unavailable; no provider could serve it.",
        )
    if last.reason == "timeout":
        return ApiError(502, "upstream_error", f"The upstream provider of '{call.model.id}' timed out.")
    return ApiError(502, "upstream_error", f"The upstream provider of '{call.model.id}' failed ({last.message}).")


def _upstream_request(call: Call, route, wire: str) -> tuple[str, dict]:
    """(operation, body) to send on this route, in the upstream's format."""
    try:
        if call.client_wire == wire:
            relay = openai_relay if wire == "openai" else anthropic_relay
            return call.operation, relay.request(call, route.model, call.body)
        if call.client_wire == "openai" and call.operation == CHAT:
            default = call.output_cap or min(call.model.max_output_tokens or DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS)
            body = openai_request_to_anthropic(call.body, default_max_tokens=default)
            return MESSAGES, anthropic_relay.request(call, route.model, body)
        if call.client_wire == "anthropic" and call.operation == MESSAGES:
            return CHAT, openai_relay.request(call, route.model, anthropic_request_to_openai(call.body))
    except TranslationError as exc:
        raise UpstreamFailure("unsupported", str(exc.message), retryable=True, param=exc.param) from None
    raise UpstreamFailure("unsupported", f"The model '{call.model.id}' cannot serve this endpoint.", retryable=False)


def _client_response(call: Call, wire: str, body: dict) -> dict:
    if wire == "openai":
        body = openai_relay.response(call, body)
        if call.client_wire == "anthropic":
            return openai_response_to_anthropic(body, model=call.model.id)
        return body
    body = anthropic_relay.response(call, body)
    if call.client_wire == "anthropic":
        return body
    body = anthropic_response_to_openai(body, model=call.model.id)
    if call.exclude_reasoning:
        for choice in body.get("choices") or ():
            choice.get("message", {}).pop("reasoning_content", None)
            choice.get("message", {}).pop("reasoning_details", None)
    return body


def _shaper(call: Call, wire: str):
    if call.client_wire == "openai":
        if wire == "openai":
            return streams.OpenAIToOpenAI(call, call.include_usage)
        return streams.AnthropicToOpenAI(call, call.include_usage, call.exclude_reasoning)
    if wire == "anthropic":
        return streams.AnthropicToAnthropic(call)
    return streams.OpenAIToAnthropic(call, tokens.estimate_input(call.body))


def serve(call: Call, free_daily_limit: int) -> dict | Iterator[bytes]:
    """The client's answer: a response body, or an iterator of SSE bytes."""
    if call.operation == COUNT_TOKENS:
        return _count_tokens(call)
    billing.admit(call, free_daily_limit)
    missing: list[str] = []
    failures: list[UpstreamFailure] = []
    for route in call.model.routes:
        provider = route.provider
        if provider.api_key() is None:
            missing.append(provider.api_key_env)
            continue
        wire = WIRE_OF_KIND[provider.kind]
        try:
            operation, body = _upstream_request(call, route, wire)
            reply = ADAPTERS[provider.kind].send(
                provider, operation, body, stream=call.stream, client_headers=call.client_headers
            )
            if call.stream:
                first = _first_event(reply)
                call.route = route
                return _stream(call, reply, first, _shaper(call, wire))
            call.route = route
            return _client_response(call, wire, reply.body)
        except UpstreamFailure as failure:
            log.warning("route %s/%s failed for %s: %s", provider.id, route.model, call.request_id, failure.reason)
            failures.append(failure)
            if not failure.retryable:
                break
    error = _final_error(call, missing, failures)
    call.status, call.error_code = error.status, error.code
    raise error


def _count_tokens(call: Call) -> dict:
    """Anthropic upstreams count for themselves; for any other, or when they fail, estimate."""
    for route in call.model.routes:
        provider = route.provider
        if provider.kind != "anthropic" or provider.api_key() is None:
            continue
        try:
            body = anthropic_relay.request(call, route.model, call.body)
            reply = ADAPTERS[provider.kind].send(
                provider, COUNT_TOKENS, body, stream=False, client_headers=call.client_headers
            )
            if isinstance(reply.body.get("input_tokens"), int):
                call.route = route
                return {"input_tokens": reply.body["input_tokens"]}
        except UpstreamFailure as failure:
            log.warning("count_tokens on %s failed for %s: %s", provider.id, call.request_id, failure.reason)
    return {"input_tokens": tokens.estimate_input(call.body)}


def _first_event(reply) -> dict | None:
    try:
        return next(reply.events, None)
    except StreamBroken as broken:
        reply.close()
        raise UpstreamFailure(broken.reason, broken.message) from None


def _stream(call: Call, reply, first: dict | None, shaper) -> Iterator[bytes]:
    call.abort_upstream = reply.cancel
    try:
        if first is not None:
            yield from shaper.feed(first)
            for event in reply.events:
                yield from shaper.feed(event)
        if not shaper.ended:
            raise StreamBroken("protocol", "upstream stream ended before its final event")
        yield from shaper.end()
    except StreamBroken as broken:
        if call.client_gone:  # we dropped the upstream because the client left
            call.partial, call.status, call.error_code = True, 499, "client_closed"
            return
        call.partial, call.status, call.error_code = True, 502, "upstream_error"
        yield from shaper.fail(ApiError(502, "upstream_error", f"The upstream stream failed: {broken.message}"))
    except GeneratorExit:
        call.partial, call.status, call.error_code = True, 499, "client_closed"
        raise
    finally:
        call.abort_upstream = None
        reply.close()


def finish(call: Call, keys) -> None:
    """Runs once per call, after the client has its answer."""
    if call.finished:
        return
    call.finished = True
    if call.operation != COUNT_TOKENS:
        try:
            billing.settle(call)
        except DATABASE_DOWN as exc:
            log.error(
                "could not settle %s, the database is unreachable (%s); its hold is released by the janitor",
                call.request_id,
                type(exc).__name__,
            )
        except Exception:
            log.exception("could not settle %s; its hold is released by the janitor", call.request_id)
    route = f"{call.route.provider.id}/{call.route.model}" if call.route else "-"
    log.info(
        "%s %s %s via %s status=%s latency_ms=%d in=%d out=%d%s",
        call.request_id,
        call.operation,
        call.model.id,
        route,
        call.status,
        call.latency_ms,
        call.usage.input_tokens,
        call.usage.output_tokens,
        " partial" if call.partial else "",
    )
    if keys.due_for_touch(call.key.key_id):
        try:
            touch_key(call.key.key_id)
        except DATABASE_DOWN:
            log.error("could not record key use, the database is unreachable")
        except Exception:
            log.exception("could not record key use")
