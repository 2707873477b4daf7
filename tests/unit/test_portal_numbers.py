"""The portal's number rules: the best-value credit package, the order models are
listed in, how the usage page writes money and times, and when it draws a chart."""

from __future__ import annotations

from datetime import datetime

import pytest

from lumyx.billing import payments
from lumyx.billing.payments import Package
from lumyx.catalog import filters
from lumyx.catalog.snapshot import ModelInfo, ProviderInfo, Route
from lumyx.web import render
from lumyx.web.dashboard import figures

# --------------------------------------------------------------------------- credit packages


def test_the_best_value_is_the_lowest_price_per_credit_of_the_packs_on_sale():
    best = payments.best_value(payments.PACKAGES.values())
    per_credit = {p.id: p.cents / p.credits for p in payments.PACKAGES.values()}
    assert best is not None and per_credit[best.id] == min(per_credit.values())
    assert best.id == "power"  # $75 for 15,000 credits: $0.0050 a credit, below Popular's $0.0075


def test_best_value_compares_exactly_and_keeps_the_first_of_equals():
    # 1/3 and 2/6 cents a credit are equal; floats would not always agree.
    a, b = Package("a", "A", 3, 1), Package("b", "B", 6, 2)
    assert payments.best_value([a, b]) is a and payments.best_value([b, a]) is b
    assert payments.best_value([Package("x", "X", 100, 101), a]) is a
    assert payments.best_value([]) is None


# --------------------------------------------------------------------------- models served first

LOCAL = ProviderInfo("local", "local", "", None, 600)
NOKEY = ProviderInfo("nokey", "openai", "https://example.invalid/v1", "LUMYX_TEST_NUMBERS_NEVER_SET", 600)


def _model(mid: str, provider: ProviderInfo) -> ModelInfo:
    return ModelInfo(
        id=mid,
        name=mid,
        description="",
        context_length=0,
        max_output_tokens=0,
        price_input=0,
        price_output=0,
        input_modalities=("text",),
        output_modalities=("text",),
        capabilities=frozenset(),
        routes=(Route(provider, mid),),
        created=0,
        api_object={},
    )


def test_models_served_come_first_then_failing_then_those_needing_a_key(monkeypatch):
    monkeypatch.delenv("LUMYX_TEST_NUMBERS_NEVER_SET", raising=False)
    models = [_model("k1", NOKEY), _model("a1", LOCAL), _model("k2", NOKEY), _model("a2", LOCAL), _model("a3", LOCAL)]
    assert [m.id for m in filters.available_first(models)] == ["a1", "a2", "a3", "k1", "k2"]
    assert [m.id for m in filters.available_first(models, down={"a1"})] == ["a2", "a3", "a1", "k1", "k2"]


# --------------------------------------------------------------------------- money on the usage page


@pytest.mark.parametrize(
    "cost, usd, credits",
    [
        (0, "$0.000000", "0.0000"),
        (0.00225, "$0.002250", "0.2250"),
        (0.000001, "$0.000001", "0.0001"),
        (1.1, "$1.100000", "110.0000"),
        (1234.5, "$1,234.500000", "123,450.0000"),
        (0.0000005, "$0.000001", "0.0001"),  # half a millionth rounds up, as the Usage API does
        ("0.1", "$0.100000", "10.0000"),
        (None, "$0.000000", "0.0000"),
    ],
)
def test_a_cost_is_usd_to_six_decimals_and_the_same_amount_in_credits_to_four(cost, usd, credits):
    assert figures.usd(cost) == usd
    assert figures.usd_as_credits(cost) == credits


@pytest.mark.parametrize(
    "credits, shown, usd",
    [
        (25, "25.00", "$0.2500"),
        (0.999999, "0.99", "$0.0099"),
        (1234.567891, "1,234.56", "$12.3456"),
        (0, "0.00", "$0.0000"),
    ],
)
def test_a_balance_is_never_shown_as_more_than_it_is(credits, shown, usd):
    assert figures.balance(credits) == shown
    assert figures.balance_usd(credits) == usd


def test_times_of_requests_are_to_the_second_in_the_accounts_zone():
    moment = datetime(2026, 3, 19, 14, 30, 5)
    assert render.when(moment, "America/New_York", seconds=True) == "2026-03-19 10:30:05 EDT"
    assert render.when("2026-03-19T14:30:05.250Z", None, seconds=True) == "2026-03-19 14:30:05 UTC"
    assert render.when(moment, "UTC") == "2026-03-19 14:30 UTC"


# --------------------------------------------------------------------------- charts


def _report(days: list[tuple[int, int, float]], by_model: list[tuple[str, int]] = ()) -> dict:
    return {
        "daily": [
            {"date": f"2026-03-{i + 1:02d}", "requests": n, "tokens": t, "cost": c} for i, (n, t, c) in enumerate(days)
        ],
        "by_model": [{"model_id": m, "requests": n, "tokens": 0, "cost": 0.0} for m, n in by_model],
    }


def test_an_account_without_usage_gets_no_chart_at_all():
    charts = figures.charts(_report([(0, 0, 0.0)] * 30))
    assert charts == {"requests": None, "tokens": None, "cost": None, "models": None}


def test_requests_and_tokens_are_two_charts_each_on_its_own_scale():
    days = [(0, 0, 0.0)] * 28 + [(3, 12_000, 0.0)] + [(1, 500, 0.0)]
    charts = figures.charts(_report(days, [("lumyx-local", 4)]))
    assert charts["requests"]["datasets"] == [{"label": "Requests", "data": [0] * 28 + [3, 1]}]
    assert charts["tokens"]["datasets"] == [{"label": "Tokens", "data": [0] * 28 + [12_000, 500]}]
    assert charts["requests"]["labels"][-1] == "03-30" and len(charts["tokens"]["labels"]) == 30
    assert charts["requests"]["unit"] == charts["tokens"]["unit"] == "count"
    assert charts["cost"] is None  # free requests only: nothing spent, no chart
    assert charts["models"]["labels"] == ["lumyx-local"] and charts["models"]["datasets"][0]["data"] == [4]


def test_the_cost_chart_is_usd_per_day():
    charts = figures.charts(_report([(1, 10, 0.00225), (2, 20, 0.0)]))
    assert charts["cost"]["unit"] == "usd" and charts["cost"]["datasets"][0]["data"] == [0.00225, 0.0]
