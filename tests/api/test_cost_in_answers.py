"""Every answer's usage carries its cost in USD (``usage.cost``, ``usage.cost_details``),
and the official SDKs still parse the answers, body and stream."""

from __future__ import annotations

import anthropic
import pytest
from openai import OpenAI

MICRO_PER_USD = 100_000_000


def charged_usd(app, request_id: str) -> float:
    import time

    from lumyx.db import db
    from lumyx.db.models import UsageRecord

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.app_context():
            row = db.session.get(UsageRecord, request_id)
            if row is not None:
                return row.cost / MICRO_PER_USD
        time.sleep(0.05)
    raise AssertionError(f"no usage row for {request_id}")


@pytest.fixture
def anthropic_client(live, key):
    return anthropic.Anthropic(base_url=live.url, api_key=key, max_retries=0, timeout=30)


def test_chat_completions_body_and_stream(openai_client: OpenAI, app):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-5.2", max_tokens=20, messages=[{"role": "user", "content": "Say hi"}]
    )
    answer = raw.parse()
    assert answer.usage.cost > 0  # the SDK keeps the extra fields
    assert answer.usage.cost == charged_usd(app, raw.headers["x-request-id"])
    assert answer.usage.model_extra["cost_details"]["upstream_inference_cost"] == answer.usage.cost

    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-5.2",
        max_tokens=20,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Say hi"}],
    ) as response:
        request_id = response.headers["x-request-id"]
        chunks = list(response.parse())
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1 and usage[0].cost == charged_usd(app, request_id) > 0


def test_completions_and_embeddings(openai_client: OpenAI, app):
    raw = openai_client.completions.with_raw_response.create(model="gpt-5.2", prompt="Once upon", max_tokens=10)
    assert raw.parse().usage.cost == charged_usd(app, raw.headers["x-request-id"]) > 0
    raw = openai_client.embeddings.with_raw_response.create(model="fake-embed", input="hello")
    assert raw.parse().usage.cost == charged_usd(app, raw.headers["x-request-id"]) > 0


def test_responses_body_and_stream(openai_client: OpenAI, app):
    raw = openai_client.responses.with_raw_response.create(model="responses-pro", input="Say hi", max_output_tokens=20)
    answer = raw.parse()
    assert answer.usage.cost == charged_usd(app, raw.headers["x-request-id"]) > 0
    with openai_client.responses.with_streaming_response.create(
        model="gpt-5.2", input="Say hi", max_output_tokens=20, stream=True
    ) as response:
        request_id = response.headers["x-request-id"]
        events = list(response.parse())
    completed = [e for e in events if e.type == "response.completed"]
    assert completed[0].response.usage.cost == charged_usd(app, request_id) > 0


def test_messages_body_and_stream(anthropic_client: anthropic.Anthropic, app):
    raw = anthropic_client.messages.with_raw_response.create(
        model="lumyx-plus_v1", max_tokens=20, messages=[{"role": "user", "content": "Say hi"}]
    )
    answer = raw.parse()
    assert answer.usage.cost == charged_usd(app, raw.headers["x-request-id"]) > 0
    with anthropic_client.messages.stream(
        model="gpt-5.2", max_tokens=20, messages=[{"role": "user", "content": "Say hi"}]
    ) as stream:
        deltas = [event for event in stream if event.type == "message_delta"]
        request_id = stream.response.headers["x-request-id"]
    assert len(deltas) == 1 and deltas[0].usage.cost == charged_usd(app, request_id) > 0


def test_a_free_model_answer_costs_zero(openai_client: OpenAI):
    answer = openai_client.chat.completions.create(model="lumyx-local", messages=[{"role": "user", "content": "hi"}])
    assert answer.usage.cost == 0
