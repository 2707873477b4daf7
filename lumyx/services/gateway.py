"""The request path: resolve the model, try its routes in order, shape the
answer for the client, and finish the call exactly once.

A route is abandoned for the next one when it fails before any byte went to
the client: connect error, timeout, HTTP 429/5xx (and 401/403/404, which
point at the route's own configuration), a malformed body, or a stream whose
first event never arrives. After the first byte, a failure ends the stream
with an error event and the call is marked partial.
"""
from __future__ import annotations

import logging
from typing import Iterator

from ..errors import ApiError
from ..providers import ADAPTERS, WIRE_OF_KIND, UpstreamFailure
from ..providers.sse import OPENAI_DONE, openai_event
from ..providers.streaming import StreamBroken
from . import openai_relay
from .calls import Call
from .catalog import Catalog, ModelInfo
from .keys import touch as touch_key

log = logging.getLogger("lumyx.gateway")


def resolve(catalog: Catalog, model_id) -> ModelInfo:
    model = catalog.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise ApiError(404, "model_not_found", f"The model '{model_id}' does not exist or is not available.",
                       param="model")
    return model


def _final_error(call: Call, missing: list[str], failures: list[UpstreamFailure]) -> ApiError:
    if not failures:
        names = ", ".join(sorted(set(missing)))
        return ApiError(503, "model_unavailable",
                        f"The model '{call.model.id}' is unavailable: its provider key is not configured "
                        f"(set {names} on the server).")
    last = failures[-1]
    if last.reason == "unsupported":
        return ApiError(400, "invalid_request", last.message)
    if last.status is not None and not last.retryable:
        return ApiError(400, "invalid_request", f"Upstream rejected the request: {last.message}")
    if last.status == 429:
        headers = {"retry-after": last.retry_after} if last.retry_after else {}
        return ApiError(429, "rate_limit_exceeded",
                        f"The upstream provider of '{call.model.id}' is rate limiting; retry shortly.",
                        headers=headers)
    if last.reason == "connect" or last.status in (401, 403, 404):
        return ApiError(503, "model_unavailable",
                        f"The model '{call.model.id}' is temporarily unavailable; no provider could serve it.")
    if last.reason == "timeout":
        return ApiError(502, "upstream_error", f"The upstream provider of '{call.model.id}' timed out.")
    return ApiError(502, "upstream_error",
                    f"The upstream provider of '{call.model.id}' failed ({last.message}).")


def _shape_request(call: Call, route, wire: str) -> tuple[str, dict]:
    if call.client_wire == "openai" and wire == "openai":
        return call.operation, openai_relay.request(call, route.model)
    raise UpstreamFailure("unsupported", f"The model '{call.model.id}' cannot serve this endpoint.",
                          retryable=False)


def serve(call: Call) -> dict | Iterator[bytes]:
    """The client's answer: a response body, or an iterator of SSE bytes."""
    missing: list[str] = []
    failures: list[UpstreamFailure] = []
    for route in call.model.routes:
        provider = route.provider
        if provider.api_key() is None:
            missing.append(provider.api_key_env)
            continue
        wire = WIRE_OF_KIND[provider.kind]
        try:
            operation, body = _shape_request(call, route, wire)
            reply = ADAPTERS[provider.kind].send(provider, operation, body, stream=call.stream,
                                                 client_headers=call.client_headers)
            if call.stream:
                first = _first_event(reply)
                call.route = route
                return _stream(call, reply, first)
            call.route = route
            return openai_relay.response(call, reply.body)
        except UpstreamFailure as failure:
            log.warning("route %s/%s failed for %s: %s", provider.id, route.model, call.request_id, failure.reason)
            failures.append(failure)
            if not failure.retryable:
                break
    error = _final_error(call, missing, failures)
    call.status, call.error_code = error.status, error.code
    raise error


def _first_event(reply) -> dict | None:
    try:
        return next(reply.events, None)
    except StreamBroken as broken:
        reply.close()
        raise UpstreamFailure(broken.reason, broken.message) from None


def _stream(call: Call, reply, first: dict | None) -> Iterator[bytes]:
    try:
        if first is not None:
            out = openai_relay.chunk(call, first)
            if out is not None:
                yield openai_event(out)
            for event in reply.events:
                out = openai_relay.chunk(call, event)
                if out is not None:
                    yield openai_event(out)
        yield OPENAI_DONE
    except StreamBroken as broken:
        call.partial, call.status, call.error_code = True, 502, "upstream_error"
        error = ApiError(502, "upstream_error", f"The upstream stream failed: {broken.message}")
        yield openai_event(error.openai_body())
        yield OPENAI_DONE
    except GeneratorExit:
        call.partial, call.status, call.error_code = True, 499, "client_closed"
        reply.close()
        raise
    finally:
        reply.close()


def finish(call: Call, keys) -> None:
    """Runs once per call, after the client has its answer."""
    if call.finished:
        return
    call.finished = True
    route = f"{call.route.provider.id}/{call.route.model}" if call.route else "-"
    log.info("%s %s %s via %s status=%s latency_ms=%d in=%d out=%d%s", call.request_id, call.operation,
             call.model.id, route, call.status, call.latency_ms, call.usage.input_tokens,
             call.usage.output_tokens, " partial" if call.partial else "")
    if keys.due_for_touch(call.key.key_id):
        try:
            touch_key(call.key.key_id)
        except Exception:
            log.exception("could not record key use")
