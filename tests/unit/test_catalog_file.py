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
        ("models: {a: 1}", "models"),
        ("[unclosed", "not valid YAML"),
    ],
)
def test_each_problem_names_the_bad_field(ctx, text, field):
    with pytest.raises(catalog_file.CatalogError) as info:
        catalog_file.parse(text)
    assert str(info.value).startswith(field)
