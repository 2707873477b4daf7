"""The client's routing preferences (the ``provider`` object): how they are read
(unknown providers and bad fields answer 400 naming them) and how they arrange
a model's routes — a pure function of the preferences, the routes and what was
measured of them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lumyx.catalog.snapshot import Catalog, Route
from lumyx.errors import ApiError
from lumyx.routing import preferences
from lumyx.routing.preferences import Preferences, arrange, parse, priced_out
from tests.unit.pipeline_support import model, provider

PROVIDERS = {name: provider(name) for name in ("alpha", "beta", "gamma", "delta")}
CATALOG = Catalog({}, PROVIDERS, None)
A, B, C = (Route(PROVIDERS[name], f"up-{name}") for name in ("alpha", "beta", "gamma"))
ROUTES = (A, B, C)


@dataclass(frozen=True)
class Stats:
    """What an instance measured of a route (the fields arrange reads)."""

    latency_s: float | None = None
    tokens_per_s: float | None = None


def no_stats(_route):
    return None


def names(routes) -> list[str]:
    return [route.provider.id for route in routes]


def refused(raw) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse(raw, CATALOG)
    assert caught.value.status == 400 and caught.value.code == "invalid_request"
    return caught.value


# -- parse ----------------------------------------------------------------------------


def test_no_provider_object_is_no_preferences():
    assert parse(None, CATALOG) is None


def test_every_field_is_read():
    prefs = parse(
        {
            "order": ["gamma", "alpha", "gamma"],
            "only": ["alpha", "gamma"],
            "ignore": ["beta"],
            "allow_fallbacks": False,
            "sort": "latency",
            "max_price": {"prompt": 1.5, "completion": 0.000001},
        },
        CATALOG,
    )
    assert prefs == Preferences(
        order=("gamma", "alpha"),
        only=frozenset({"alpha", "gamma"}),
        ignore=frozenset({"beta"}),
        allow_fallbacks=False,
        sort="latency",
        max_prompt=150_000_000,
        max_completion=100,
    )


def test_provider_ids_match_without_regard_to_case():
    assert parse({"order": ["Alpha"], "ignore": ["BETA"]}, CATALOG).order == ("alpha",)


def test_unknown_provider_ids_are_400_naming_each_of_them():
    error = refused({"only": ["alpha", "openrouter", "Azure", "openrouter"]})
    assert error.param == "provider.only"
    assert "'openrouter', 'Azure'" in error.message and "known: alpha, beta, delta, gamma" in error.message
    assert refused({"order": ["nope"]}).param == "provider.order"
    assert refused({"ignore": ["nope"]}).param == "provider.ignore"


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("alpha", "provider"),
        ({"order": "alpha"}, "provider.order"),
        ({"only": [1]}, "provider.only"),
        ({"allow_fallbacks": "no"}, "provider.allow_fallbacks"),
        ({"sort": "cheapest"}, "provider.sort"),
        ({"sort": {"by": "price"}}, "provider.sort"),
        ({"max_price": 1}, "provider.max_price"),
        ({"max_price": {"prompt": -1}}, "provider.max_price.prompt"),
        ({"max_price": {"completion": "2"}}, "provider.max_price.completion"),
        ({"max_price": {"completion": True}}, "provider.max_price.completion"),
        ({"max_price": {"request": 0.01}}, "provider.max_price.request"),
        ({"data_collection": "deny"}, "provider.data_collection"),
    ],
)
def test_bad_fields_are_400_naming_the_parameter(raw, param):
    assert refused(raw).param == param


def test_a_max_price_is_rounded_down_to_the_micro_credit():
    assert parse({"max_price": {"prompt": 0.123456789}}, CATALOG).max_prompt == 12_345_678


# -- arrange --------------------------------------------------------------------------


def test_without_preferences_the_catalog_order_stands_unpinned():
    assert arrange(None, ROUTES, no_stats) == ([A, B, C], False)
    assert arrange(Preferences(), ROUTES, no_stats) == ([A, B, C], False)


def test_only_and_ignore_filter_the_routes():
    assert names(arrange(Preferences(only=frozenset({"gamma", "alpha"})), ROUTES, no_stats)[0]) == ["alpha", "gamma"]
    assert names(arrange(Preferences(ignore=frozenset({"alpha"})), ROUTES, no_stats)[0]) == ["beta", "gamma"]
    both = Preferences(only=frozenset({"alpha", "beta"}), ignore=frozenset({"alpha"}))
    assert names(arrange(both, ROUTES, no_stats)[0]) == ["beta"]


def test_order_comes_first_then_the_rest_and_pins_it():
    routes, pinned = arrange(Preferences(order=("gamma", "beta")), ROUTES, no_stats)
    assert names(routes) == ["gamma", "beta", "alpha"] and pinned


def test_order_skips_providers_the_model_lacks_or_only_excludes():
    prefs = Preferences(order=("delta", "gamma", "beta"), only=frozenset({"alpha", "beta"}))
    assert names(arrange(prefs, ROUTES, no_stats)[0]) == ["beta", "alpha"]


def test_order_keeps_every_route_of_a_provider_in_catalog_order():
    second_alpha = Route(PROVIDERS["alpha"], "up-alpha-2")
    routes = arrange(Preferences(order=("alpha",)), (B, A, second_alpha), no_stats)[0]
    assert routes == [A, second_alpha, B]


def test_no_fallbacks_with_an_order_is_only_the_ordered_providers():
    prefs = Preferences(order=("gamma", "alpha"), allow_fallbacks=False)
    assert arrange(prefs, ROUTES, no_stats) == ([C, A], True)


def test_no_fallbacks_without_an_order_is_only_the_first_route_left():
    assert arrange(Preferences(allow_fallbacks=False), ROUTES, no_stats) == ([A], False)
    prefs = Preferences(allow_fallbacks=False, ignore=frozenset({"alpha"}))
    assert arrange(prefs, ROUTES, no_stats)[0] == [B]


def test_sort_by_price_keeps_the_catalog_order_since_routes_share_the_models_price():
    assert arrange(Preferences(sort="price"), ROUTES, no_stats) == ([A, B, C], True)


MEASURED = {A: Stats(latency_s=0.9, tokens_per_s=40.0), B: None, C: Stats(latency_s=0.2, tokens_per_s=90.0)}


def test_sort_by_latency_puts_the_fastest_measured_route_first_and_the_unmeasured_last():
    routes, pinned = arrange(Preferences(sort="latency"), ROUTES, MEASURED.get)
    assert names(routes) == ["gamma", "alpha", "beta"] and pinned


def test_sort_by_throughput_puts_the_most_tokens_per_second_first():
    stats = {**MEASURED, A: Stats(latency_s=0.9, tokens_per_s=120.0)}
    assert names(arrange(Preferences(sort="throughput"), ROUTES, stats.get)[0]) == ["alpha", "gamma", "beta"]


def test_a_measurement_without_the_sorted_figure_counts_as_unmeasured():
    stats = {A: Stats(latency_s=0.5), B: Stats(latency_s=0.4, tokens_per_s=10.0), C: None}
    assert names(arrange(Preferences(sort="throughput"), ROUTES, stats.get)[0]) == ["beta", "alpha", "gamma"]


def test_sort_without_any_measurements_keeps_the_catalog_order():
    assert arrange(Preferences(sort="latency"), ROUTES, no_stats)[0] == [A, B, C]


def test_sort_orders_only_the_routes_order_leaves():
    prefs = Preferences(order=("alpha",), sort="latency")
    assert names(arrange(prefs, ROUTES, MEASURED.get)[0]) == ["alpha", "gamma", "beta"]


def test_sort_then_no_fallbacks_is_the_best_route_alone():
    assert arrange(Preferences(sort="latency", allow_fallbacks=False), ROUTES, MEASURED.get)[0] == [C]


# -- max_price ----------------------------------------------------------------------


CHEAP = model(A, model_id="cheap", price_input=100_000_000, price_output=400_000_000)
DEAR = model(A, model_id="dear", price_input=300_000_000, price_output=1_500_000_000)


@pytest.mark.parametrize(
    ("prompt", "completion", "out"),
    [
        (None, None, set()),
        (1.0, None, {"dear"}),
        (3.0, 15.0, set()),
        (3.0, 14.99, {"dear"}),
        (0.99, 100, {"cheap", "dear"}),
        (None, 0, {"cheap", "dear"}),
    ],
)
def test_max_price_excludes_models_priced_above_it_on_either_side(prompt, completion, out):
    prefs = parse({"max_price": {"prompt": prompt, "completion": completion}}, CATALOG)
    assert {m.id for m in (CHEAP, DEAR) if priced_out(prefs, m)} == out


def test_nothing_serves_names_each_model_and_why():
    prefs = parse({"max_price": {"prompt": 0.5}}, CATALOG)
    error = preferences.nothing_serves(prefs, [CHEAP, DEAR])
    assert (error.status, error.param) == (400, "provider.max_price")
    assert "prompt $0.5 per 1M tokens" in error.message
    assert "'cheap' costs $1 prompt and $4 completion" in error.message
    assert "'dear' costs $3 prompt and $15 completion" in error.message
    only = parse({"only": ["beta"], "max_price": {"prompt": 2}}, CATALOG)
    assert not preferences.serves(only, CHEAP) and not preferences.serves(only, DEAR)
    error = preferences.nothing_serves(only, [CHEAP, DEAR])
    assert error.param == "provider"
    assert "'cheap' is served by alpha, which the provider preferences exclude" in error.message
