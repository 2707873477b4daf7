"""Billing's arithmetic in process, in integer micro-credits (µcr): the hold a
priced request makes, the output cap a small balance affords, and what a call
costs from the tokens metered. Prices are µcr per million tokens: 1 USD per
million is 100,000,000 (100 credits = 1 USD, 1 credit = 1,000,000 µcr)."""

from __future__ import annotations

import dataclasses

import pytest

from lumyx import money
from lumyx.billing import admission, arithmetic
from lumyx.errors import ApiError
from lumyx.gateway import tokens
from lumyx.gateway.meter import Meter, Usage, billed_usage
from tests.unit.pipeline_support import model

USD = money.MICRO_PER_USD  # µcr per million tokens at 1 USD per million
PRICED = model(price_input=1 * USD, price_output=2 * USD, max_output_tokens=1000)  # $1 in / $2 out per 1M


def test_the_hold_is_the_prompt_bound_plus_the_largest_answer_at_the_models_prices():
    # 1,000 prompt tokens at $1/M and 500 answer tokens at $2/M: $0.002 = 0.2 credits.
    assert arithmetic.hold_amount(PRICED, 1000, 500) == 200_000
    assert arithmetic.hold_amount(PRICED, 1000, 500) == money.credits_to_micro("0.2")


def test_every_priced_request_holds_at_least_one_micro_credit():
    cheap = model(price_input=1, price_output=1)
    assert arithmetic.hold_amount(cheap, 0, 0) == 1
    assert arithmetic.hold_amount(cheap, 10, 10) == 1  # 20 µcr-tokens per million round up to 1


@pytest.mark.parametrize(
    "asked, model_limit, expected",
    [(300, 1000, 300), (5000, 1000, 1000), (None, 1000, 1000), (None, 0, 4096), (9000, 0, 9000)],
)
def test_the_largest_answer_is_the_clients_limit_capped_at_the_models(asked, model_limit, expected):
    assert arithmetic.largest_answer(model(max_output_tokens=model_limit), asked) == expected


def test_an_embedding_model_answers_no_output_tokens():
    assert arithmetic.largest_answer(model(embedding=True), 500) == 0


def test_the_hold_bounds_the_prompt_at_two_characters_a_token():
    body = {"messages": [{"role": "user", "content": "x" * 2000}]}
    assert tokens.input_bound(body) >= 1000 > tokens.estimate_input(body) // 2


def test_a_small_balance_caps_the_answer_at_what_it_affords():
    # 50,000 µcr: the 100-token prompt costs 10,000, the other 40,000 buy 200 tokens at $2/M.
    assert arithmetic.output_cap(PRICED, 50_000, 100) == 200
    assert arithmetic.hold_amount(PRICED, 100, 200) == 50_000


def test_a_balance_that_affords_too_little_output_gets_no_cap():
    affords_15 = 10_000 + 15 * 200  # the prompt, then 15 tokens at 200 µcr each
    assert arithmetic.output_cap(PRICED, affords_15, 100) is None
    assert arithmetic.output_cap(PRICED, affords_15 + 200, 100) == arithmetic.MIN_CAPPED_OUTPUT
    assert arithmetic.output_cap(PRICED, 5_000, 100) is None  # not even the prompt


def test_cost_rounds_up_to_the_micro_credit():
    assert arithmetic.cost(PRICED, 1, 0) == 100  # exact
    assert arithmetic.cost(model(price_input=3, price_output=0), 1, 0) == 1  # 3e-6 µcr rounds up
    assert arithmetic.cost(model(price_input=1_500_001, price_output=0), 1, 0) == 2


def test_free_models_cost_nothing():
    assert arithmetic.cost(model(), 10**6, 10**6) == 0


# -- what a call costs, from what was metered ----------------------------------------

BODY = {"messages": [{"role": "user", "content": "How many tokens is this?"}]}


def metered(usage: Usage | None = None, parts: tuple[str, ...] = ()) -> Meter:
    return Meter(usage=usage or Usage(), output_parts=list(parts))


def test_the_upstreams_report_is_billed_as_reported():
    reported = Usage(input_tokens=120, output_tokens=30, reasoning_tokens=10, reported=True)
    usage = billed_usage(metered(reported, ("some text",)), BODY, answered=True, partial=False)
    assert (usage.input_tokens, usage.output_tokens, usage.reported) == (120, 30, True)
    assert arithmetic.cost(PRICED, usage.input_tokens, usage.output_tokens) == 120 * 100 + 30 * 200


def test_without_a_report_the_tokens_are_counted_with_the_tokenizer():
    answer = "The answer is forty-two, and here is why."
    usage = billed_usage(metered(parts=(answer,)), BODY, answered=True, partial=False)
    assert usage.input_tokens == tokens.estimate_input(BODY) > 0
    assert usage.output_tokens == tokens.count(answer) > 0
    assert usage.reported is False
    assert arithmetic.cost(PRICED, usage.input_tokens, usage.output_tokens) == (
        usage.input_tokens * 100 + usage.output_tokens * 200
    )


def test_a_stream_that_ended_early_is_billed_for_what_was_delivered():
    promised = Usage(input_tokens=50, output_tokens=900, reported=True)  # the upstream's running count
    usage = billed_usage(metered(promised, ("only ", "this")), BODY, answered=True, partial=True)
    assert usage.input_tokens == 50 and usage.output_tokens == tokens.count("only this")
    assert usage.reported is False


def test_a_call_no_route_answered_costs_nothing():
    usage = billed_usage(metered(), BODY, answered=False, partial=False)
    assert (usage.input_tokens, usage.output_tokens) == (0, 0)
    assert arithmetic.cost(PRICED, usage.input_tokens, usage.output_tokens) == 0


# -- admission's decisions, with the hold statements stood in for -----------------------


@pytest.fixture
def balance(monkeypatch):
    """An account's unreserved balance in µcr, and what its key's limit has left
    (``key_left``, for a key with a limit); holds succeed only within both."""
    state = {"available": 0, "held": [], "key_left": 0}

    def hold(_user_id, amount, _ref, *, model_id, api_key_id=None, key_limited=False):
        if amount > state["available"] or (key_limited and amount > state["key_left"]):
            return False
        state["available"] -= amount
        state["key_left"] -= amount
        state["held"].append(amount)
        return True

    def available(_user_id, key_id=None):
        return state["available"] if key_id is None else min(state["available"], state["key_left"])

    monkeypatch.setattr(admission.holds, "hold", hold)
    monkeypatch.setattr(admission.holds, "available", available)
    monkeypatch.setattr(admission.holds, "key_left", lambda _key_id: max(state["key_left"], 0))
    monkeypatch.setattr(admission.holds, "track", lambda _ref: None)
    return state


def admit(body: dict, prompt_tokens: int = 100, key_limit: int | None = None):
    return admission.admit(
        request_id="req_1",
        user_id=3,
        key_id=7,
        timezone="UTC",
        model=PRICED,
        body=body,
        prompt_tokens=prompt_tokens,
        free_daily_limit=50,
        key_limit=key_limit,
    )


def test_a_balance_that_covers_the_worst_case_holds_it(balance):
    balance["available"] = 10**9
    admitted = admit({"max_tokens": 500})
    assert admitted.hold == arithmetic.hold_amount(PRICED, 100, 500) and admitted.output_cap is None


def test_without_a_client_limit_a_small_balance_limits_the_answer(balance):
    balance["available"] = 50_000  # the model's 1,000-token answer would need 210,000
    admitted = admit({})
    assert (admitted.output_cap, admitted.hold) == (200, 50_000)


def test_a_client_limit_the_balance_cannot_cover_is_402(balance):
    balance["available"] = 50_000
    with pytest.raises(ApiError) as refused:
        admit({"max_tokens": 1000})
    assert (refused.value.status, refused.value.code) == (402, "insufficient_credits")
    assert "0.2100" in refused.value.message and balance["held"] == []


CACHED = model(price_input=3 * USD, price_output=15 * USD)  # $3 in / $15 out per 1M, like Claude Sonnet
CACHED = dataclasses.replace(
    CACHED, price_cache_read=USD * 3 // 10, price_cache_write=USD * 375 // 100, price_cache_write_1h=6 * USD
)


@pytest.mark.parametrize(
    "kind, price_usd_per_million",
    [("cached_tokens", "0.3"), ("cache_write_tokens", "3.75"), ("cache_write_1h_tokens", "6"), (None, "3")],
)
def test_each_prompt_token_kind_is_charged_at_its_own_price(kind, price_usd_per_million):
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    if kind:
        setattr(usage, kind, 1_000_000)
    assert arithmetic.charge(CACHED, usage).total == money.usd_price_to_micro(price_usd_per_million)


def test_a_claude_code_turn_is_charged_a_seventh_of_all_input_pricing():
    # 50,000 prompt tokens read from the cache, 300 new ones, 400 output tokens at $3/$15 (read $0.30).
    usage = Usage(input_tokens=50_300, cached_tokens=50_000, output_tokens=400)
    priced = arithmetic.charge(CACHED, usage)
    # 300 × 3 + 50,000 × 0.3 + 400 × 15 = 21,900 USD-millionths = $0.0219
    assert priced.total == 2_190_000 and priced.usd == 0.0219
    assert arithmetic.cost(CACHED, 50_300, 400) == 15_690_000  # what all-input pricing charged: $0.1569, 7x more
    assert sum(priced.parts.values()) == priced.total


def test_the_charge_rounds_up_once_per_request_not_per_kind():
    cheap = dataclasses.replace(model(price_input=1, price_output=1), price_cache_read=1, price_cache_write=1)
    usage = Usage(input_tokens=3, cached_tokens=1, cache_write_tokens=1, output_tokens=1)
    assert arithmetic.charge(cheap, usage).total == 1  # 4 µcr-tokens per million: 1 µcr, not 4


def test_cache_prices_default_to_the_input_price():
    plain = model(price_input=2 * USD, price_output=0)
    usage = Usage(input_tokens=30, cached_tokens=10, cache_write_tokens=10, cache_write_1h_tokens=10)
    assert arithmetic.charge(plain, usage).total == arithmetic.cost(plain, 30, 0) == 6_000


def test_more_cached_than_prompt_tokens_never_charges_a_negative_input():
    usage = Usage(input_tokens=10, cached_tokens=50)
    assert arithmetic.charge(CACHED, usage).total == 50 * 30


def test_the_hold_prices_every_prompt_token_at_the_highest_prompt_price():
    # 1,000 prompt tokens at the 1-hour write's $6/M and 100 answer tokens at $15/M.
    assert arithmetic.hold_amount(CACHED, 1000, 100) == 1000 * 600 + 100 * 1500
    usage = Usage(input_tokens=1000, cache_write_1h_tokens=1000, output_tokens=100)
    assert arithmetic.charge(CACHED, usage).total == arithmetic.hold_amount(CACHED, 1000, 100)


def test_a_key_limit_short_of_the_worst_case_is_refused_as_the_keys(balance):
    balance["available"], balance["key_left"] = 10**9, arithmetic.hold_amount(PRICED, 100, 500) - 1
    with pytest.raises(ApiError) as refused:
        admit({"max_tokens": 500}, key_limit=5 * 10**6)
    assert refused.value.status == 402 and refused.value.code == "key_limit_exceeded"
    assert "key_limit_exceeded" in refused.value.message and "5.00 credits" in refused.value.message
    assert balance["held"] == []


def test_a_balance_short_under_a_roomy_key_limit_is_refused_as_the_balances(balance):
    balance["available"], balance["key_left"] = 1000, 10**9
    with pytest.raises(ApiError) as refused:
        admit({"max_tokens": 500}, key_limit=10**12)
    assert refused.value.status == 402 and refused.value.code == "insufficient_credits"


def test_an_answer_without_max_tokens_is_capped_to_what_the_key_has_left(balance):
    balance["available"], balance["key_left"] = 10**12, 200 * 500 + arithmetic.cost(PRICED, 100, 0)
    admitted = admit({}, key_limit=10**9)
    assert admitted.output_cap == 500 and admitted.hold == arithmetic.hold_amount(PRICED, 100, 500)
    assert balance["key_left"] >= 0
