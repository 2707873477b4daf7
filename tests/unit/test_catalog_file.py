import pytest

from lumyx.catalog import file as catalog_file

GOOD = """
providers:
  - {id: p, kind: openai, base_url: "http://x/v1", api_key_env: K}
models:
  - id: m
    pricing: {input: 1.75, output: 14}
    capabilities: [tools]
    routes: [{provider: p, model: up}]
"""


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_good_catalog_parses(ctx):
    providers, models = catalog_file.parse(GOOD)
    assert providers[0]["base_url"] == "http://x/v1"
    assert models[0]["price_input"] == 175_000_000 and models[0]["routes"] == [{"provider": "p", "model": "up"}]


@pytest.mark.parametrize(
    "text, field",
    [
        ("providers: [{id: p, kind: nope, base_url: 'http://x'}]", "providers[0].kind"),
        ("providers: [{id: p, kind: openai}]", "providers[0].base_url"),
        ("providers: [{id: p, kind: openai, base_url: 'ftp://x'}]", "providers[0].base_url"),
        (GOOD.replace("input: 1.75", "input: cheap"), "models[0].pricing.input"),
        (GOOD.replace("[tools]", "[telepathy]"), "models[0].capabilities"),
        (GOOD.replace("provider: p,", "provider: q,"), "models[0].routes[0].provider"),
        (GOOD.replace("routes: [{provider: p, model: up}]", "routes: []"), "models[0].routes"),
        (GOOD + "  - id: m\n    routes: [{provider: p}]\n", "models[1].id"),
        (GOOD.replace("output: 14}", "output: 14, cache_read: -1}"), "models[0].pricing.cache_read"),
        (GOOD.replace("output: 14}", "output: 14, cache_write: lots}"), "models[0].pricing.cache_write"),
        (GOOD.replace("output: 14}", "output: 14, cache_write_1h: 0.000000001}"), "models[0].pricing.cache_write_1h"),
        (GOOD.replace("    routes:", "    routing: random\n    routes:"), "models[0].routing"),
        (GOOD.replace("model: up}", "model: up, weight: -1}"), "models[0].routes[0].weight"),
        (GOOD.replace("model: up}", "model: up, weight: yes}"), "models[0].routes[0].weight"),
        (
            GOOD.replace("    routes:", "    routing: balance\n    routes:").replace(
                "model: up}", "model: up, weight: 0}"
            ),
            "models[0].routes",
        ),
        ("models: {a: 1}", "models"),
        ("[unclosed", "not valid YAML"),
    ],
)
def test_each_problem_names_the_bad_field(ctx, text, field):
    with pytest.raises(catalog_file.CatalogError) as info:
        catalog_file.parse(text)
    assert str(info.value).startswith(field)


def test_a_balanced_model_keeps_its_routes_weights(ctx):
    text = GOOD.replace("    routes:", "    routing: balance\n    routes:").replace(
        "routes: [{provider: p, model: up}]", "routes: [{provider: p, model: up, weight: 3}, {provider: p, model: b}]"
    )
    _providers, models = catalog_file.parse(text)
    assert models[0]["routing"] == "balance"
    assert models[0]["routes"] == [{"provider": "p", "model": "up", "weight": 3}, {"provider": "p", "model": "b"}]
    assert catalog_file.parse(GOOD)[1][0]["routing"] == "fallback"


def test_cache_prices_default_to_the_input_price_and_the_five_minute_write(ctx):
    _providers, models = catalog_file.parse(GOOD)
    assert (models[0]["price_cache_read"], models[0]["price_cache_write"], models[0]["price_cache_write_1h"]) == (
        175_000_000,
        175_000_000,
        175_000_000,
    )
    text = GOOD.replace("output: 14}", "output: 14, cache_read: 0.175, cache_write: 2.1875}")
    _providers, models = catalog_file.parse(text)
    assert (models[0]["price_cache_read"], models[0]["price_cache_write"], models[0]["price_cache_write_1h"]) == (
        17_500_000,
        218_750_000,
        218_750_000,
    )
    _providers, models = catalog_file.parse(text.replace("2.1875}", "2.1875, cache_write_1h: 3.5}"))
    assert models[0]["price_cache_write_1h"] == 350_000_000


def test_the_default_catalog_carries_the_providers_cache_prices(ctx):
    from pathlib import Path

    _providers, models = catalog_file.parse(Path("catalog/default.yaml").read_text())
    by_id = {m["id"]: m for m in models}
    claude = by_id["lumyx-plus_v1"]  # Anthropic: read 0.1x, 5-minute write 1.25x, 1-hour write 2x
    assert claude["price_cache_read"] * 10 == claude["price_input"]
    assert claude["price_cache_write"] * 4 == claude["price_input"] * 5
    assert claude["price_cache_write_1h"] == claude["price_input"] * 2
    gpt = by_id["gpt-5.2"]  # OpenAI: cached input at a tenth, writes at the input price
    assert gpt["price_cache_read"] * 10 == gpt["price_input"] and gpt["price_cache_write"] == gpt["price_input"]
