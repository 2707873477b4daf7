"""Traces of API calls: OpenTelemetry spans following the GenAI semantic
conventions, exported over OTLP/HTTP (protobuf).

Only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
is set does :func:`configure` (run by each server worker after the fork) make a
tracer with a batch span processor; the standard ``OTEL_*`` variables apply
(service name ``lumyx`` unless ``OTEL_SERVICE_NAME`` names another,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_TRACES_SAMPLER``…).
Without it nothing of the SDK is imported and no span object is ever made:
every function here returns at its first line.

One span per call, ``{gen_ai.operation.name} {gen_ai.request.model}`` (``chat
gpt-5.2``), from the gateway's start to the end of the answer (for a stream, its
last event or the client leaving); one child span per upstream attempt,
``{gen_ai.operation.name} {upstream model}``, ending when the route answered (a
stream: its first event) or failed, so a fallback shows as failed children
before the one that served.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from lumyx.money import MICRO_PER_USD

# The gateway's operations as gen_ai.operation.name values.
OPERATIONS = {
    "chat": "chat",
    "messages": "chat",
    "responses": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "count_tokens": "count_tokens",
}

_tracer = None  # set by configure() when spans are exported
_NOTHING = contextlib.nullcontext()


def wanted() -> bool:
    """Whether this process exports spans: an OTLP endpoint is set and the SDK is not disabled."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return bool(endpoint) and os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def configure() -> None:
    """In a server worker, after the fork: the tracer and its exporter, when wanted."""
    global _tracer
    if _tracer is not None or not wanted():
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    resource = Resource.create({} if named else {SERVICE_NAME: "lumyx"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracer = provider.get_tracer("lumyx")


def shutdown() -> None:
    """Exports what is still queued (a worker on its way out)."""
    if _tracer is None:
        return
    from opentelemetry import trace

    trace.get_tracer_provider().shutdown()


def begin(call):
    """The span of ``call`` (a gateway call), started now; None when not tracing."""
    if _tracer is None:
        return None
    from opentelemetry.trace import SpanKind

    request = call.input
    operation = OPERATIONS.get(request.operation, request.operation)
    return _tracer.start_span(
        f"{operation} {request.model.id}",
        kind=SpanKind.SERVER,
        attributes={
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": request.model.id,
            "lumyx.request_id": request.request_id,
            "lumyx.key_id": request.key.key_id,
            "lumyx.client_format": request.client_format,
            "lumyx.stream": request.stream,
        },
    )


def current(span):
    """A context manager under which new spans are children of ``span``."""
    if span is None:
        return _NOTHING
    from opentelemetry.trace import use_span

    return use_span(span, end_on_exit=False)


def attempt(request, route):
    """The span of one upstream attempt of ``request`` (a CallInput) on ``route``; None when not tracing."""
    if _tracer is None:
        return None
    from opentelemetry.trace import SpanKind

    operation = OPERATIONS.get(request.operation, request.operation)
    provider = route.provider
    return _tracer.start_span(
        f"{operation} {route.model}",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider.id,
            "gen_ai.system": provider.id,
            "gen_ai.request.model": route.model,
            "lumyx.route": f"{provider.id}/{route.model}",
            "lumyx.provider.kind": provider.kind,
        },
    )


def attempt_answered(span) -> None:
    if span is None:
        return
    span.set_attribute("lumyx.attempt.outcome", "answered")
    span.end()


def attempt_failed(span, failure) -> None:
    """``failure``: the attempt's UpstreamFailure (reason, message, status)."""
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("lumyx.attempt.outcome", "failed")
    span.set_attribute("error.type", failure.reason)
    if failure.status is not None:
        span.set_attribute("http.response.status_code", failure.status)
    span.set_status(Status(StatusCode.ERROR, str(failure.message)[:500]))
    span.end()


def attempt_raised(span, exc: BaseException) -> None:
    """Ends an attempt that raised something other than an upstream failure (a
    request no upstream format can express, a bug): its span is exported all the same."""
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("lumyx.attempt.outcome", "failed")
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
    span.end()


def end(call, answer_id: Callable) -> None:
    """Ends ``call``'s span with what its answer showed; ``answer_id(call.input)``
    is the id the client got for it (or None)."""
    span = call.trace
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    request, outcome, usage = call.input, call.outcome, call.usage
    attributes = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "http.response.status_code": outcome.status,
        "lumyx.latency_ms": call.latency_ms,
        "lumyx.partial": outcome.partial,
    }
    if usage.cached_tokens:
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
    if usage.cache_write_tokens or usage.cache_write_1h_tokens:
        attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write_tokens + usage.cache_write_1h_tokens
    if usage.reasoning_tokens:
        attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
    if outcome.route is not None:
        attributes["gen_ai.response.model"] = outcome.route.model
        attributes["gen_ai.provider.name"] = attributes["gen_ai.system"] = outcome.route.provider.id
        attributes["lumyx.route"] = f"{outcome.route.provider.id}/{outcome.route.model}"
        attributes["lumyx.cost_usd"] = call.cost / MICRO_PER_USD
    if request.model.id != span.attributes.get("gen_ai.request.model"):
        attributes["lumyx.served_model"] = request.model.id  # one of the client's fallback models
    if outcome.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = (outcome.finish_reason,)
    identity = answer_id(request)
    if identity:
        attributes["gen_ai.response.id"] = identity
    if outcome.upstream_id:
        attributes["lumyx.upstream_id"] = outcome.upstream_id
    span.set_attributes(attributes)
    if outcome.status >= 400 or outcome.error_code:
        span.set_attribute("error.type", outcome.error_code or str(outcome.status))
        span.set_status(Status(StatusCode.ERROR, outcome.error_code or ""))
    span.end()
