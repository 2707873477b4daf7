"""Every request is metered and charged exactly, in one transaction with its usage row."""

from __future__ import annotations

import time

import pytest
import requests

from lumyx import money

MICRO = 1_000_000
GPT = {"input": 175_000_000, "output": 1_400_000_000}  # µcr per 1M tokens ($1.75 / $14)
PLUS = {"input": 300_000_000, "output": 1_500_000_000}  # $3 / $15


def cost(prices: dict, input_tokens: int, output_tokens: int) -> int:
    return money.cost_micro(input_tokens, output_tokens, prices["input"], prices["output"])


def wait_for_row(books, request_id: str, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = books.usage(request_id)
        if row is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no usage row for {request_id}")


@pytest.mark.parametrize(
    "path, body, prices, model",
    [
        (
            "/v1/chat/completions",
            {
                "model": "gpt-5.2",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "What is machine learning?"}],
            },
            GPT,
            "gpt-5.2",
        ),
        (
            "/v1/messages",
            {
                "model": "lumyx-plus_v1",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "What is machine learning?"}],
            },
            PLUS,
            "lumyx-plus_v1",
        ),
    ],
)
def test_a_priced_request_is_charged_by_the_docs_formula(make_account, books, post, path, body, prices, model):
    user_id, key = make_account(10)
    response = post(key, path, body)
    assert response.status_code == 200, response.text
    usage = response.json()["usage"]
    input_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
    output_tokens = usage.get("completion_tokens", usage.get("output_tokens"))
    expected = cost(prices, input_tokens, output_tokens)
    row = wait_for_row(books, response.headers["x-request-id"])
    assert (row.input_tokens, row.output_tokens, row.cost) == (input_tokens, output_tokens, expected)
    assert row.model_id == model and row.status_code == 200 and row.tokens_reported and not row.partial
    assert row.latency_ms >= 0
    balance, held = books.settled(user_id)
    assert balance == 10 * MICRO - expected and held == 0
    entry = books.ledger(user_id)[-1]
    assert entry.kind == "usage" and entry.amount == -expected and entry.ref == row.id
    books.consistent(user_id)


def test_zero_balance_is_402_before_any_upstream_call(make_account, books, post, upstream):
    user_id, key = make_account(0)
    before = upstream.stats()["requests"]
    response = post(key, "/v1/chat/completions", {"model": "gpt-5.2", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 402
    assert response.json()["error"]["type"] == "insufficient_credits" and response.json()["error"]["code"] == 402
    assert upstream.stats()["requests"] == before + 0
    anthropic_style = post(
        key,
        "/v1/messages",
        {"model": "lumyx-plus_v1", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert anthropic_style.status_code == 402 and anthropic_style.json()["error"]["type"] == "billing_error"
    row = books.usage(response.headers.get("x-request-id") or "") if "x-request-id" in response.headers else None
    assert row is None or row.cost == 0
    books.consistent(user_id)


def test_a_hold_above_the_balance_is_402_when_max_tokens_is_explicit(make_account, books, post):
    user_id, key = make_account(5)  # $0.05: about 3,500 output tokens of gpt-5.2
    response = post(
        key,
        "/v1/chat/completions",
        {"model": "gpt-5.2", "max_tokens": 100_000, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 402
    assert books.settled(user_id) == (5 * MICRO, 0)


def test_without_max_tokens_the_answer_is_limited_to_what_the_balance_covers(make_account, books, post, upstream):
    user_id, key = make_account(5)
    response = post(key, "/v1/chat/completions", {"model": "gpt-5.2", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    sent = upstream.last_request("/v1/chat/completions")["body"]
    affordable = sent["max_completion_tokens"]
    assert 3_400 < affordable < 3_600
    assert cost(GPT, 0, affordable) <= 5 * MICRO
    books.consistent(user_id)


def test_free_models_cost_nothing_and_write_usage_rows(make_account, books, post):
    user_id, key = make_account(0)
    response = post(
        key, "/v1/chat/completions", {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert response.status_code == 200
    row = wait_for_row(books, response.headers["x-request-id"])
    assert row.cost == 0 and row.output_tokens > 0
    assert books.ledger(user_id) == []


def test_upstream_failure_charges_nothing_and_releases_the_hold(make_account, books, post):
    user_id, key = make_account(10)
    response = post(
        key,
        "/v1/chat/completions",
        {"model": "gpt-5.2", "max_tokens": 50, "messages": [{"role": "user", "content": "x [[scenario:status-500]]"}]},
    )
    assert response.status_code == 502
    row = wait_for_row(books, response.headers["x-request-id"])
    assert row.status_code == 502 and row.cost == 0 and row.error_code == "upstream_error"
    assert books.settled(user_id) == (10 * MICRO, 0)


def test_usage_missing_upstream_is_counted_with_a_tokenizer_and_marked(make_account, books, post):
    user_id, key = make_account(10)
    response = post(
        key,
        "/v1/chat/completions",
        {
            "model": "gpt-5.2",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "count my words please [[scenario:no-usage]]"}],
        },
    )
    assert response.status_code == 200 and "usage" not in response.json()
    row = wait_for_row(books, response.headers["x-request-id"])
    assert not row.tokens_reported
    assert row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost == cost(GPT, row.input_tokens, row.output_tokens) > 0
    books.consistent(user_id)


@pytest.mark.parametrize("path, model", [("/v1/chat/completions", "gpt-5.2"), ("/v1/messages", "lumyx-plus_v1")])
def test_stream_dropped_upstream_is_billed_for_what_was_delivered(make_account, books, post, path, model):
    user_id, key = make_account(10)
    response = post(
        key,
        path,
        {
            "model": model,
            "max_tokens": 500,
            "stream": True,
            "messages": [{"role": "user", "content": "a b c d e f g h i j k l m n o p [[scenario:long:200,drop:40]]"}],
        },
    )
    assert response.status_code == 200
    row = wait_for_row(books, response.headers["x-request-id"])
    assert row.partial and row.status_code == 502 and not row.tokens_reported
    assert 10 <= row.output_tokens < 200, "billed for the delivered part, not the whole answer"
    prices = GPT if model == "gpt-5.2" else PLUS
    assert row.cost == cost(prices, row.input_tokens, row.output_tokens)
    books.consistent(user_id)


def test_client_disconnect_mid_stream_is_billed_for_what_was_delivered(make_account, books, live):
    user_id, key = make_account(10)
    response = requests.post(
        live.url + "/v1/chat/completions",
        stream=True,
        timeout=30,
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": "gpt-5.2",
            "max_tokens": 2000,
            "stream": True,
            "messages": [{"role": "user", "content": "tell me everything [[scenario:long:1000]]"}],
        },
    )
    request_id = response.headers["x-request-id"]
    lines = response.iter_lines()
    for _ in range(20):
        next(lines)
    response.close()
    row = wait_for_row(books, request_id, seconds=10)
    assert row.partial and row.status_code == 499
    assert 0 < row.output_tokens < 1000
    assert row.cost == cost(GPT, row.input_tokens, row.output_tokens)
    books.consistent(user_id)


def test_reasoning_tokens_are_billed_as_output(make_account, books, post):
    user_id, key = make_account(10)
    response = post(
        key,
        "/v1/chat/completions",
        {
            "model": "gpt-5.2",
            "max_tokens": 500,
            "reasoning": {"effort": "low"},
            "messages": [{"role": "user", "content": "think"}],
        },
    )
    usage = response.json()["usage"]
    row = wait_for_row(books, response.headers["x-request-id"])
    assert row.thinking_used and row.reasoning_tokens == usage["completion_tokens_details"]["reasoning_tokens"] > 0
    assert row.cost == cost(GPT, usage["prompt_tokens"], usage["completion_tokens"])


class TestFreeModelDailyCap:
    def test_fifty_a_day_then_429_until_midnight(self, make_account, post, books):
        user_id, key = make_account(0)
        body = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}
        for i in range(50):
            assert post(key, "/v1/chat/completions", body).status_code == 200, i
        over = post(key, "/v1/chat/completions", body)
        assert over.status_code == 429
        error = over.json()["error"]
        assert error["type"] == "rate_limit_exceeded" and error["code"] == 429
        assert "America/New_York" in error["message"]
        assert 0 < int(over.headers["retry-after"]) <= 86400 + 3600
        anthropic_style = post(key, "/v1/messages", {**body, "max_tokens": 5})
        assert anthropic_style.status_code == 429 and anthropic_style.json()["error"]["type"] == "rate_limit_error"
        assert post(key, "/v1/chat/completions", {**body, "model": "gpt-5.2"}).status_code == 402, (
            "priced models are not capped, only paid for"
        )

    def test_the_day_is_the_accounts_local_day(self, app):
        from lumyx.billing.free_cap import local_day

        tokyo_day, tokyo_reset = local_day("Asia/Tokyo")
        ny_day, ny_reset = local_day("America/New_York")
        assert tokyo_reset.hour == 15 and tokyo_reset.minute == 0  # midnight JST in UTC
        assert ny_reset.hour in (4, 5)  # midnight in New York (EDT/EST)
        assert local_day("Not/AZone")[0] == ny_day

    def test_a_request_that_got_no_answer_does_not_count(self, make_account, post, app):
        from lumyx.billing import free_cap

        user_id, key = make_account(0)
        for _ in range(3):
            assert (
                post(
                    key,
                    "/v1/chat/completions",
                    {"model": "failing-chat", "messages": [{"role": "user", "content": "x"}]},
                ).status_code
                == 502
            )
        with app.app_context():
            assert free_cap.used(user_id, "America/New_York") == 0
