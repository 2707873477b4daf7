"""The model catalog: the pure filter service, the live HTMX filtering, and a model's page."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from html import unescape

import pytest
from werkzeug.datastructures import MultiDict

from lumyx.catalog import filters as cf
from lumyx.catalog.snapshot import ModelInfo, ProviderInfo, Route

LOCAL = ProviderInfo("local", "local", "", None, 600)
KEYED = ProviderInfo("keyed", "openai", "https://example.invalid/v1", "LUMYX_TEST_WEB_KEYED", 600)
NOKEY = ProviderInfo("nokey", "openai", "https://example.invalid/v1", "LUMYX_TEST_WEB_NEVER_SET", 600)


def model(
    mid,
    *,
    name=None,
    price=(0, 0),
    context=0,
    caps=(),
    inputs=("text",),
    outputs=("text",),
    providers=(LOCAL,),
    description="",
):
    return ModelInfo(
        id=mid,
        name=name or mid,
        description=description,
        context_length=context,
        max_output_tokens=0,
        price_input=int(Decimal(price[0]) * 100_000_000),
        price_output=int(Decimal(price[1]) * 100_000_000),
        input_modalities=tuple(inputs),
        output_modalities=tuple(outputs),
        capabilities=frozenset(caps),
        routes=tuple(Route(p, mid) for p in providers),
        created=0,
        api_object={},
    )


MODELS = [
    model(
        "alpha-chat",
        name="Alpha Chat",
        price=("3", "15"),
        context=200_000,
        caps=("tools", "reasoning"),
        providers=(KEYED,),
        description="Strong at long documents",
    ),
    model(
        "beta-vision",
        name="Beta Vision",
        price=("0.4", "1.6"),
        context=128_000,
        caps=("vision", "json_mode"),
        inputs=("text", "image"),
        providers=(NOKEY, KEYED),
    ),
    model("gamma-free", name="Gamma Free", context=32_768, caps=("tools",)),
    model("delta-embed", name="Delta Embed", price=("0.02", "0"), outputs=("embeddings",), providers=(NOKEY,)),
]


def ids(query: cf.CatalogQuery) -> list[str]:
    return [m.id for m in cf.apply(MODELS, query)]


@pytest.fixture(autouse=True)
def keyed_env(monkeypatch):
    monkeypatch.setenv("LUMYX_TEST_WEB_KEYED", "sk-test")
    monkeypatch.delenv("LUMYX_TEST_WEB_NEVER_SET", raising=False)


def test_no_sort_lists_served_models_first_then_failing_then_those_needing_a_key():
    assert ids(cf.CatalogQuery()) == ["alpha-chat", "beta-vision", "gamma-free", "delta-embed"]
    backwards = [m.id for m in cf.apply(MODELS[::-1], cf.CatalogQuery())]
    assert backwards == ["gamma-free", "beta-vision", "alpha-chat", "delta-embed"]
    down = [m.id for m in cf.apply(MODELS, cf.CatalogQuery(), down={"alpha-chat"})]
    assert down == ["beta-vision", "gamma-free", "alpha-chat", "delta-embed"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"q": "vision"}, ["beta-vision"]),
        ({"q": "LONG documents"}, ["alpha-chat"]),
        ({"q": "keyed"}, ["alpha-chat", "beta-vision"]),  # provider ids are searched too
        ({"capability": ["tools"]}, ["alpha-chat", "gamma-free"]),
        ({"capability": ["tools", "reasoning"]}, ["alpha-chat"]),
        ({"capability": ["vision"]}, ["beta-vision"]),
        ({"capability": ["json_mode"]}, ["beta-vision"]),
        ({"capability": ["embeddings"]}, ["delta-embed"]),
        ({"capability": ["tools,reasoning"]}, ["alpha-chat"]),  # comma-separated works too
        ({"modality": "image"}, ["beta-vision"]),
        ({"free": "1"}, ["gamma-free"]),
        ({"provider": "nokey"}, ["beta-vision", "delta-embed"]),
        ({"min_context": "128000"}, ["alpha-chat", "beta-vision"]),
        ({"min_context": "128,000"}, ["alpha-chat", "beta-vision"]),
        ({"max_price": "1.6"}, ["beta-vision", "gamma-free", "delta-embed"]),
        ({"max_price": "$0.5"}, ["gamma-free", "delta-embed"]),
        ({"available": "1"}, ["alpha-chat", "beta-vision", "gamma-free"]),
        ({"capability": ["tools"], "free": "1", "q": "gamma"}, ["gamma-free"]),
        ({"q": "nothing like this"}, []),
    ],
)
def test_each_filter(params, expected):
    assert ids(cf.parse(MultiDict(params))) == expected


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["alpha-chat", "beta-vision", "delta-embed", "gamma-free"]),
        ("price", ["gamma-free", "delta-embed", "beta-vision", "alpha-chat"]),
        ("price_desc", ["alpha-chat", "beta-vision", "delta-embed", "gamma-free"]),
        ("context", ["alpha-chat", "beta-vision", "gamma-free", "delta-embed"]),
        ("bogus", ["alpha-chat", "beta-vision", "gamma-free", "delta-embed"]),
    ],
)
def test_sorting(sort, expected):
    assert ids(cf.parse({"sort": sort})) == expected


def test_malformed_values_are_left_out():
    query = cf.parse(
        MultiDict(
            {
                "capability": ["teleport", "tools"],
                "min_context": "lots",
                "max_price": "-1",
                "free": "maybe",
                "q": "x" * 500,
            }
        )
    )
    assert query.capabilities == ("tools",) and query.min_context == 0 and query.max_price is None
    assert not query.free and len(query.text) == cf.MAX_QUERY_CHARS
    assert cf.parse({"max_price": "NaN"}).max_price is None


def test_a_query_survives_the_url():
    params = MultiDict(
        {
            "q": "chat",
            "capability": ["reasoning", "tools"],
            "modality": "image",
            "free": "on",
            "available": "1",
            "provider": "keyed",
            "min_context": "1000",
            "max_price": "2.50",
            "sort": "price",
        }
    )
    query = cf.parse(params)
    assert cf.parse(MultiDict(cf.to_params(query))) == query
    assert query.capabilities == ("tools", "reasoning") and query.active
    assert not cf.CatalogQuery(sort="name").active


def test_what_a_model_offers():
    alpha, beta, _gamma, delta = MODELS
    assert cf.capabilities_of(delta) == ["embeddings"]
    assert cf.provider_ids(beta) == ["nokey", "keyed"]
    assert cf.is_available(beta) and not cf.is_available(delta)
    assert cf.missing_keys(delta) == ["LUMYX_TEST_WEB_NEVER_SET"]
    assert cf.facets(MODELS) == cf.Facets(("keyed", "local", "nokey"), ("image", "text"))


# --------------------------------------------------------------------------- the pages


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-model-id="([^"]+)"', html)


def test_the_catalog_lists_every_model_with_prices_and_status(web):
    html = web.get("/models").get_data(as_text=True)
    listed = rows(html)
    assert {"lumyx-local", "gpt-5.2", "lumyx-local-embed", "nokey-chat"} <= set(listed)
    assert "$1.75" in html and "$14.00" in html and "400K" in html
    nokey = html[html.index('data-model-id="nokey-chat"') :].split("</tr>")[0]
    assert "Needs a provider key" in nokey
    gpt = html[html.index('data-model-id="gpt-5.2"') :].split("</tr>")[0]
    assert "Available" in gpt and "reasoning" in gpt and "vision" in gpt
    assert 'hx-get="/models"' in html and 'hx-push-url="true"' in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=embed", {"lumyx-local-embed", "fake-embed"}),
        ("capability=reasoning", {"lumyx-local", "gpt-5.2", "lumyx-plus_v1", "responses-pro"}),
        ("capability=embeddings", {"lumyx-local-embed", "fake-embed"}),
        ("capability=vision&free=1", {"lumyx-local"}),
        ("modality=image&sort=price_desc", ["lumyx-plus_v1", "gpt-5.2", "lumyx-local"]),
        ("provider=fake-anthropic", {"lumyx-plus_v1", "three-routes", "three-routes-unmeasured", "priced-cheap"}),
        ("min_context=300000", {"gpt-5.2"}),
        (
            "max_price=3&capability=tools&free=",
            {"lumyx-local", "fallback-chat", "three-routes", "priced-down", "priced-cheap"},
        ),
        (
            "capability=tools&sort=context",
            [
                "gpt-5.2",
                "lumyx-plus_v1",
                "responses-pro",
                "lumyx-local",
                "cache-claude",
                "fallback-chat",
                "priced-cheap",
                "priced-dear",
                "priced-down",
                "three-routes",
            ],
        ),
    ],
)
def test_filters_through_the_url(web, query, expected):
    found = rows(web.get("/models?" + query).get_data(as_text=True))
    assert (found if isinstance(expected, list) else set(found)) == expected


def test_available_only_hides_models_without_a_provider_key(web):
    found = rows(web.get("/models?available=1").get_data(as_text=True))
    assert "nokey-chat" not in found and "gpt-5.2" in found


def test_htmx_gets_only_the_results_and_the_url_reproduces_the_view(web):
    partial = web.htmx("/models?capability=reasoning&sort=name")
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="results"') and "<html" not in html
    assert "HX-Request" in partial.headers["Vary"]
    assert rows(html) == ["gpt-5.2", "lumyx-local", "lumyx-plus_v1", "responses-pro"]
    assert 'href="http://localhost/models?capability=reasoning&amp;sort=name"' in html
    full = web.get("/models?capability=reasoning&sort=name").get_data(as_text=True)
    assert rows(full) == rows(html) and "<html" in full
    assert 'value="reasoning" checked' in full and '<option value="name" selected>' in full
    restore = web.get(
        "/models?capability=reasoning", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.get_data(as_text=True), "a history restore gets the whole page"


def test_no_match_says_so(web):
    html = web.get("/models?q=no-such-model-anywhere").get_data(as_text=True)
    assert "No model matches these filters" in html and "<strong>0</strong>" in html


def test_a_model_page_has_details_an_example_and_recent_availability(web, app, account):
    from lumyx.db import db
    from lumyx.db.models import UsageRecord
    from lumyx.db.models._types import utcnow
    from lumyx.usage import health as model_health

    with app.app_context():
        for status in (200, 200, 200, 502):
            db.session.add(
                UsageRecord(
                    id="req_" + uuid.uuid4().hex,
                    user_id=account[0],
                    model_id="plain-chat",
                    provider_id="fake-openai" if status == 200 else None,
                    operation="chat",
                    status_code=status,
                    error_code="upstream_error" if status == 502 else None,
                    latency_ms=100,
                    created_at=utcnow(),
                )
            )
        db.session.commit()
    model_health.clear_cache()
    html = unescape(web.get("/models/plain-chat").get_data(as_text=True))
    with app.app_context():
        health = model_health.of("plain-chat")  # other suites may have used the model too
    assert health.upstream >= 4 and health.upstream_errors >= 1
    assert "Plain chat (no capabilities)" in html and "8.2K" in html and "1,000 tokens" in html
    assert f"{health.success_rate * 100:.1f}%" in html and f"over {health.upstream:,} requests" in html
    assert 'data-sample-id="model-chat-curl"' in html and 'data-sample-id="model-chat-python"' in html
    assert '"model": "plain-chat"' in html and 'base_url="http://localhost/v1"' in html
    assert "fake-openai" in html

    embed = web.get("/models/lumyx-local-embed").get_data(as_text=True)
    assert 'data-sample-id="model-embed-curl"' in embed and "/v1/embeddings" in embed
    with app.app_context():
        db.session.execute(db.delete(UsageRecord).where(UsageRecord.model_id == "fake-embed"))
        db.session.commit()
    model_health.clear_cache()
    quiet = web.get("/models/fake-embed").get_data(as_text=True)  # other suites may have used it: cleared
    assert "Not served by this instance in the last 24 hours" in quiet


def test_a_model_without_a_provider_key_says_which_variable_to_set(web):
    html = web.get("/models/nokey-chat").get_data(as_text=True)
    assert "Needs a provider key" in html and "LUMYX_TEST_NEVER_SET_KEY" in html


def test_model_ids_with_slashes_and_unknown_models(web):
    assert web.get("/models/no-such/model").status_code == 404
    assert "There is no model" in web.get("/models/no-such-model").get_data(as_text=True)


def test_the_home_page_lists_the_models_served_first_and_counts_them_as_the_catalog_does(web):
    catalog = web.get("/models").get_data(as_text=True)
    statuses = re.findall(
        r'<tr data-model-id="[^"]+">.*?class="badge (ok|bad|warn)"[^>]*>(Available|Unavailable right now|Needs a provider key)<',
        catalog,
        re.S,
    )
    served = sum(1 for _cls, word in statuses if word == "Available")
    assert served and any(word == "Needs a provider key" for _cls, word in statuses)
    # The catalog's default order: served models first.
    words = [word for _cls, word in statuses]
    assert words.index("Needs a provider key") > max(i for i, w in enumerate(words) if w == "Available")
    home = web.get("/").get_data(as_text=True)
    assert re.search(rf'id="served-models">{served} of {len(rows(catalog))} models are served', home)
    listed = re.findall(r'<tr data-model-id="([^"]+)">.*?class="badge \w+">([^<]+)<', home, re.S)
    listed_status = [status for _id, status in listed]
    assert listed_status[: min(served, 8)] == ["Available"] * min(served, 8)
    assert [mid for mid, _s in listed] == rows(catalog)[: len(listed)]
