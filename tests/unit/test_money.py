import pytest

from lumyx import money


def test_docs_formula_in_integer_micro_credits():
    # gpt-5.2: $1.75 in / $14 out per 1M tokens; 25 in + 150 out tokens.
    price_in, price_out = money.usd_price_to_micro(1.75), money.usd_price_to_micro(14.0)
    usd = 25 / 1e6 * 1.75 + 150 / 1e6 * 14.0
    assert money.cost_micro(25, 150, price_in, price_out) == round(usd * money.MICRO_PER_USD)


def test_cost_rounds_up_to_a_whole_micro_credit():
    assert money.cost_micro(1, 0, 1, 0) == 1
    assert money.cost_micro(0, 0, 10**9, 10**9) == 0


@pytest.mark.parametrize("value", ["abc", "nan", "inf", True, -1])
def test_bad_prices_are_rejected(value):
    with pytest.raises(ValueError):
        money.usd_price_to_micro(value)


def test_credit_amounts():
    assert money.credits_to_micro("142.5") == 142_500_000
    assert money.credits_to_micro(-3) == -3_000_000
    with pytest.raises(ValueError):
        money.credits_to_micro("0.0000001")
    assert money.format_credits(142_500_000, 2) == "142.50"
