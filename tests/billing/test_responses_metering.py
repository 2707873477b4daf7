"""A model served by an ``openai-responses`` upstream is metered on the usage the
upstream reported, whatever the client's format, whole or streamed, and
charged exactly for it."""

from __future__ import annotations

import pytest
import requests

from lumyx import money
from tests.billing.test_metering import MICRO, wait_for_row
from tests.support.catalog import UPSTREAM_KEY

PRICES = {"input": 125_000_000, "output": 1_000_000_000}  # µcr per 1M tokens ($1.25 / $10)
ASK = [{"role": "user", "content": "What is machine learning?"}]


def reported_usage(upstream) -> dict:
    """The usage the stand-in reports for the body the gateway last sent it (its
    answers are deterministic: the same body, asked again whole)."""
    body = dict(upstream.last_request("/v1/responses")["body"])
    body.pop("stream", None)
    answer = requests.post(
        upstream.url + "/v1/responses", json=body, headers={"Authorization": f"Bearer {UPSTREAM_KEY}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["usage"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/chat/completions", {"max_tokens": 100, "messages": ASK}),
        ("/v1/chat/completions", {"stream": True, "messages": ASK}),
        ("/v1/chat/completions", {"reasoning_effort": "low", "stream": True, "messages": ASK}),
        ("/v1/messages", {"max_tokens": 100, "messages": ASK}),
        ("/v1/messages", {"max_tokens": 100, "stream": True, "messages": ASK}),
    ],
    ids=["chat", "chat stream", "chat stream reasoning", "messages", "messages stream"],
)
def test_the_upstream_usage_is_metered_and_charged_exactly(make_account, books, post, upstream, path, body):
    user_id, key = make_account(10)
    response = post(key, path, {"model": "responses-pro", **body})
    assert response.status_code == 200, response.text
    usage = reported_usage(upstream)
    expected = money.cost_micro(usage["input_tokens"], usage["output_tokens"], PRICES["input"], PRICES["output"])
    row = wait_for_row(books, response.headers["x-request-id"])
    assert (row.input_tokens, row.output_tokens) == (usage["input_tokens"], usage["output_tokens"])
    assert row.reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"]
    assert row.cached_tokens == usage["input_tokens_details"]["cached_tokens"]
    assert row.tokens_reported and not row.partial and row.status_code == 200 and row.cost == expected > 0
    assert row.provider_id == "fake-responses" and row.model_id == "responses-pro"
    if "reasoning_effort" in body:
        assert row.reasoning_tokens > 0 and row.thinking_used
    balance, held = books.settled(user_id)
    assert balance == 10 * MICRO - expected and held == 0
    books.consistent(user_id)


def test_a_stream_that_fails_midway_is_billed_for_what_was_delivered(make_account, books, post):
    user_id, key = make_account(10)
    body = {
        "model": "responses-pro",
        "stream": True,
        "messages": [{"role": "user", "content": "hi [[scenario:error-event:5]]"}],
    }
    response = post(key, "/v1/chat/completions", body)
    assert response.status_code == 200 and '"upstream_error"' in response.text
    row = wait_for_row(books, response.headers["x-request-id"])
    assert row.partial and not row.tokens_reported and row.status_code == 502
    assert row.input_tokens > 0 and row.output_tokens > 0
    balance, held = books.settled(user_id)
    assert held == 0 and balance == 10 * MICRO - row.cost
    books.consistent(user_id)
