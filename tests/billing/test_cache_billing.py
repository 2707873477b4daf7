"""Cache-aware prices, exact to the micro-credit, on every format and direction.

The upstream stand-ins report cache tokens as each provider does: Anthropic
caches up to the last ``cache_control`` block (5 minutes, or ``ttl: 1h``) and
reports ``cache_creation_input_tokens`` (split by lifetime) and
``cache_read_input_tokens``; OpenAI and the Responses API read a repeated
prefix of 1,024+ tokens from the cache (``cached_tokens``), and with the
``cache-writes`` scenario an OpenAI-format upstream reports the prefix it
wrote (``cache_write_tokens``, as OpenRouter does).

Each answer's ``usage.cost`` (USD) must be what the contract's formula gives
for the tokens the upstream reported, rounded up once to the µcr, and exactly
what the account was charged and its usage row records.
"""

from __future__ import annotations

import uuid
from fractions import Fraction

import orjson
import pytest

MICRO_PER_USD = 100_000_000
# USD per 1M tokens: input, cache read, 5-minute write, 1-hour write, output (tests/support/catalog.py)
PRICES = {
    "cache-claude": (3, Fraction("0.3"), Fraction("3.75"), 6, 15),
    "cache-gpt": (Fraction("1.75"), Fraction("0.175"), Fraction("2.1875"), Fraction("2.1875"), 14),
    "cache-responses": (Fraction("1.25"), Fraction("0.125"), Fraction("1.25"), Fraction("1.25"), 10),
}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}


def expected_micro(model: str, tokens: dict) -> int:
    """The contract's formula, computed here independently: USD, then µcr rounded up."""
    price_in, read, write, write_1h, out = PRICES[model]
    uncached = tokens["input"] - tokens["read"] - tokens["write"] - tokens["write_1h"]
    usd = (
        uncached * price_in
        + tokens["read"] * read
        + tokens["write"] * write
        + tokens["write_1h"] * write_1h
        + tokens["output"] * out
    ) / 1_000_000
    micro = usd * MICRO_PER_USD
    return -(-micro.numerator // micro.denominator)


def long_text(nonce: str) -> str:
    words = " ".join(f"clause{i} of the agreement {nonce} says nothing new" for i in range(260))
    return f"Reference document {nonce}. {words}"


def request_body(client: str, model: str, nonce: str, question: str, *, ttl: str | None, stream: bool) -> dict:
    """A long cacheable prefix (marked with cache_control where the format has it) and a short question."""
    marker = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    document = long_text(nonce)
    if client == "anthropic":
        body = {
            "model": model,
            "max_tokens": 40,
            "system": [{"type": "text", "text": document, "cache_control": marker}],
            "messages": [{"role": "user", "content": question}],
        }
    elif client == "openai":
        body = {
            "model": model,
            "max_tokens": 40,
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": document, "cache_control": marker}]},
                {"role": "user", "content": question},
            ],
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
    else:
        body = {
            "model": model,
            "max_output_tokens": 40,
            "instructions": document,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": question}]}],
        }
    if stream:
        body["stream"] = True
    return body


def sse_payloads(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            out.append(orjson.loads(line[5:].strip()))
    return out


def final_usage(client: str, response, stream: bool) -> dict:
    """The usage object of the answer (of its final usage event when streamed)."""
    if not stream:
        return response.json()["usage"]
    events = sse_payloads(response.text)
    if client == "openai":
        found = [e["usage"] for e in events if e.get("usage")]
    elif client == "anthropic":
        # message_delta repeats the counts; the split of the writes by lifetime is message_start's.
        start = [e["message"]["usage"] for e in events if e.get("type") == "message_start"]
        split = {"cache_creation": start[0]["cache_creation"]} if start and "cache_creation" in start[0] else {}
        found = [{**split, **e["usage"]} for e in events if e.get("type") == "message_delta"]
    else:
        found = [e["response"]["usage"] for e in events if e.get("type") == "response.completed"]
    assert found, response.text[:500]
    return found[-1]


def reported_tokens(client: str, usage: dict) -> dict:
    """The token kinds as the client's format reports them (every prompt token in ``input``)."""
    if client == "anthropic":
        split = usage.get("cache_creation") or {}
        writes = usage.get("cache_creation_input_tokens", 0)
        one_hour = split.get("ephemeral_1h_input_tokens", 0)
        read = usage.get("cache_read_input_tokens", 0)
        return {
            "input": usage["input_tokens"] + read + writes,
            "read": read,
            "write": writes - one_hour,
            "write_1h": one_hour,
            "output": usage["output_tokens"],
        }
    if client == "openai":
        details = usage.get("prompt_tokens_details") or {}
        prompt, output = usage["prompt_tokens"], usage["completion_tokens"]
    else:
        details = usage.get("input_tokens_details") or {}
        prompt, output = usage["input_tokens"], usage["output_tokens"]
    writes = details.get("cache_write_tokens", 0)
    one_hour = details.get("cache_write_1h_tokens", 0)
    return {
        "input": prompt,
        "read": details.get("cached_tokens", 0),
        "write": writes - one_hour,
        "write_1h": one_hour,
        "output": output,
    }


def row_tokens(row) -> dict:
    return {
        "input": row.input_tokens,
        "read": row.cached_tokens,
        "write": row.cache_write_tokens,
        "write_1h": row.cache_write_1h_tokens,
        "output": row.output_tokens,
    }


def charged(make_account, books, post, client, model, body):
    """(the answer's usage, the tokens it reports, the µcr charged) of one request."""
    user_id, key = make_account(50)
    before = books.balance(user_id)[0]
    response = post(key, PATHS[client], body)
    assert response.status_code == 200, response.text[:500]
    usage = final_usage(client, response, body.get("stream", False))
    after, held = books.settled(user_id)
    assert held == 0
    row = books.usage(response.headers["x-request-id"])
    tokens = reported_tokens(client, usage)
    assert row_tokens(row) == tokens, "the usage row keeps every token kind the answer reports"
    expected = expected_micro(model, tokens)
    assert before - after == row.cost == expected, "charged by the contract's formula, rounded up once"
    assert usage["cost"] == pytest.approx(expected / MICRO_PER_USD, abs=1e-12), "usage.cost is what was charged"
    details = usage["cost_details"]
    assert details["upstream_inference_cost"] == usage["cost"]
    parts = sum(details[f"{kind}_cost"] for kind in ("input", "cache_read", "cache_write", "cache_write_1h", "output"))
    assert parts - 1e-12 <= usage["cost"] < parts + 1 / MICRO_PER_USD + 1e-12, "the parts add up to the cost"
    books.consistent(user_id)
    return usage, tokens, expected


# Every client format on every upstream format; streamed and not.
DIRECTIONS = [
    (client, model)
    for client in ("anthropic", "openai", "responses")
    for model in ("cache-claude", "cache-gpt", "cache-responses")
]


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("client, model", DIRECTIONS)
def test_a_cache_write_then_a_cache_read_are_charged_at_their_prices(make_account, books, post, client, model, stream):
    nonce = uuid.uuid4().hex
    first = request_body(client, model, nonce, "What does clause 7 say?", ttl=None, stream=stream)
    _usage, wrote, _cost = charged(make_account, books, post, client, model, first)
    second = request_body(client, model, nonce, "And clause 9?", ttl=None, stream=stream)
    _usage, read, _cost = charged(make_account, books, post, client, model, second)
    if (client, model) == ("responses", "cache-claude"):
        # The Responses API has no cache_control; Anthropic caches only what a request marks.
        assert read["read"] == 0
        return
    assert read["read"] > 1000, "the repeated long prefix is read from the cache"
    if model == "cache-claude" and client == "anthropic" or (model == "cache-claude" and client == "openai"):
        assert wrote["write"] > 1000 and wrote["read"] == 0, "Anthropic reports the prefix it wrote"
    uncached = read["input"] - read["read"] - read["write"] - read["write_1h"]
    assert uncached < 200, "only the new question is uncached (OpenAI caches in steps of 128 tokens)"


@pytest.mark.parametrize("client", ["anthropic", "openai"])
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_a_one_hour_cache_write_is_charged_at_the_one_hour_price(make_account, books, post, client, stream):
    body = request_body(client, "cache-claude", uuid.uuid4().hex, "Summarise it.", ttl="1h", stream=stream)
    _usage, tokens, cost = charged(make_account, books, post, client, "cache-claude", body)
    assert tokens["write_1h"] > 1000 and tokens["write"] == 0
    # Priced at $6/M, not the input's $3/M nor the 5-minute write's $3.75/M.
    assert cost > expected_micro("cache-claude", {**tokens, "write": tokens["write_1h"], "write_1h": 0})


@pytest.mark.parametrize("client", ["openai", "anthropic", "responses"])
def test_cache_writes_an_openai_format_upstream_reports_are_charged(make_account, books, post, client):
    body = request_body(
        client, "cache-gpt", uuid.uuid4().hex, "Go on. [[scenario:cache-writes]]", ttl=None, stream=False
    )
    _usage, tokens, _cost = charged(make_account, books, post, client, "cache-gpt", body)
    assert tokens["write"] > 1000 and tokens["read"] == 0


def test_a_claude_code_turn_costs_what_the_providers_price_list_says(make_account, books, post):
    """The issue's turn: ~the whole prompt from the cache, a few new tokens, a short answer."""
    nonce = uuid.uuid4().hex
    charged(
        make_account,
        books,
        post,
        "anthropic",
        "cache-claude",
        request_body("anthropic", "cache-claude", nonce, "hi", ttl=None, stream=False),
    )
    usage, tokens, cost = charged(
        make_account,
        books,
        post,
        "anthropic",
        "cache-claude",
        request_body("anthropic", "cache-claude", nonce, "next step", ttl=None, stream=True),
    )
    full_price = expected_micro("cache-claude", {**tokens, "read": 0})
    assert cost * 3 < full_price, "cache reads at a tenth of the input price"
