"""``POST /v1/responses`` is charged exactly for the usage its answer reports, on
a model of each upstream kind, whole and streamed; a stream that breaks is
billed for what was delivered. Nothing is held afterwards and the books agree."""

from __future__ import annotations

import orjson
import pytest

from lumyx import money
from tests.billing.test_metering import MICRO, wait_for_row

# Catalog model -> (USD per 1M input tokens, per 1M output tokens), as tests/support/catalog.py lists them.
PRICED = {"gpt-5.2": (1.75, 14.0), "lumyx-plus_v1": (3.0, 15.0), "responses-pro": (1.25, 10.0)}
PROVIDERS = {"gpt-5.2": "fake-openai", "lumyx-plus_v1": "fake-anthropic", "responses-pro": "fake-responses"}


def expected_cost(model: str, usage: dict) -> int:
    price_in, price_out = (money.usd_price_to_micro(p) for p in PRICED[model])
    return money.cost_micro(usage["input_tokens"], usage["output_tokens"], price_in, price_out)


def completed_usage(text: str) -> dict:
    """The usage of a stream's ``response.completed`` event."""
    for block in text.split("\n\n"):
        if block.startswith("event: response.completed\n"):
            return orjson.loads(block.split("data: ", 1)[1])["response"]["usage"]
    raise AssertionError("the stream has no response.completed event")


@pytest.mark.parametrize("model", list(PRICED))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_response_is_charged_exactly_for_its_usage(make_account, books, post, model, stream):
    user_id, key = make_account(10)
    body = {"model": model, "input": "What is machine learning?", "reasoning": {"effort": "low"}, "stream": stream}
    answer = post(key, "/v1/responses", body)
    assert answer.status_code == 200, answer.text
    usage = completed_usage(answer.text) if stream else answer.json()["usage"]
    row = wait_for_row(books, answer.headers["x-request-id"])
    assert (row.operation, row.model_id, row.provider_id) == ("responses", model, PROVIDERS[model])
    assert (row.input_tokens, row.output_tokens) == (usage["input_tokens"], usage["output_tokens"])
    assert row.reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"]
    assert row.cached_tokens == usage["input_tokens_details"]["cached_tokens"]
    assert row.tokens_reported and not row.partial and row.stream is stream
    assert row.cost == expected_cost(model, usage) > 0
    balance, held = books.settled(user_id)
    assert (balance, held) == (10 * MICRO - row.cost, 0)
    books.consistent(user_id)


@pytest.mark.parametrize("model", ["gpt-5.2", "lumyx-plus_v1"])
def test_a_broken_stream_is_billed_for_what_was_delivered(make_account, books, post, model):
    user_id, key = make_account(10)
    body = {"model": model, "input": "[[scenario:long:40,drop:8]] go", "stream": True}
    answer = post(key, "/v1/responses", body)
    assert answer.status_code == 200 and "event: response.failed" in answer.text
    row = wait_for_row(books, answer.headers["x-request-id"])
    assert row.partial and not row.tokens_reported and row.status_code == 502
    assert row.input_tokens > 0 and row.output_tokens > 0
    balance, held = books.settled(user_id)
    assert held == 0 and balance == 10 * MICRO - row.cost
    books.consistent(user_id)
