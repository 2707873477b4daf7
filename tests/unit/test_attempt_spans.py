"""The span of each upstream attempt ends whatever the attempt did, so an operator's
trace shows it: answered, failed upstream, or raised something else."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lumyx.catalog.snapshot import Route
from lumyx.gateway import routing
from lumyx.observability import tracing
from tests.unit.pipeline_support import FakeAdapter, call, chat_reply, model, provider, status_failure


@pytest.fixture
def spans(monkeypatch):
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", tracer_provider.get_tracer("test"))
    return exporter


def two_routes():
    return model(Route(provider("first", "openai"), "up-1"), Route(provider("second", "openai"), "up-2"))


def test_a_failed_attempt_and_the_one_that_answered_are_both_exported(spans):
    adapters = {"openai": FakeAdapter(first=status_failure(503), second=chat_reply())}
    sent = routing.send(call(two_routes()).input, None, adapters)
    assert sent.route.provider.id == "second"
    outcomes = [
        (s.attributes["lumyx.route"], s.attributes["lumyx.attempt.outcome"]) for s in spans.get_finished_spans()
    ]
    assert outcomes == [("first/up-1", "failed"), ("second/up-2", "answered")]
    assert spans.get_finished_spans()[0].status.status_code is StatusCode.ERROR


def test_an_attempt_that_raises_something_else_still_ends_its_span(spans):
    adapters = {"openai": FakeAdapter(first=RuntimeError("adapter bug"), second=chat_reply())}
    with pytest.raises(RuntimeError):
        routing.send(call(two_routes()).input, None, adapters)
    (span,) = spans.get_finished_spans()
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.status.status_code is StatusCode.ERROR and "adapter bug" in span.status.description
