"""The ``provider`` object of a request, on chat/completions, messages and
responses, against the stand-in's three routes of one model (one per upstream
format): which route the stand-in's request log shows was asked, in what order;
bad preferences answer 400 naming what is wrong, before any upstream call; the
routing fields never reach an upstream."""

from __future__ import annotations

import uuid

import pytest

from tests.support.upstream_log import asked, bodies

PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}
ROUTES = {
    "fake-openai": ("openai", "route-openai"),
    "fake-anthropic": ("anthropic", "route-anthropic"),
    "fake-responses": ("responses", "route-responses"),
}


def marker() -> str:
    return "mark-" + uuid.uuid4().hex[:12]


def body(client: str, model: str, text: str, **extra) -> dict:
    if client == "responses":
        return {"model": model, "input": text, **extra}
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}], **extra}


def post(api, client: str, model: str, text: str, **extra):
    headers = {"anthropic-version": "2023-06-01"} if client == "anthropic" else {}
    return api("POST", PATHS[client], json=body(client, model, text, **extra), headers=headers)


@pytest.mark.parametrize("client", PATHS)
def test_without_preferences_the_catalog_order_serves(api, upstream, client):
    mark = marker()
    response = post(api, client, "three-routes", mark)
    assert response.status_code == 200, response.text
    assert asked(upstream, mark) == [ROUTES["fake-openai"]]


@pytest.mark.parametrize("client", PATHS)
@pytest.mark.parametrize(
    ("prefs", "served_by"),
    [
        ({"order": ["fake-responses"]}, "fake-responses"),
        ({"order": ["fake-anthropic", "fake-openai"]}, "fake-anthropic"),
        ({"only": ["fake-anthropic"]}, "fake-anthropic"),
        ({"only": ["fake-responses", "fake-anthropic"]}, "fake-anthropic"),
        ({"ignore": ["fake-openai"]}, "fake-anthropic"),
        ({"ignore": ["FAKE-OPENAI", "fake-anthropic"]}, "fake-responses"),
        ({"order": ["fake-responses"], "allow_fallbacks": False}, "fake-responses"),
        ({"sort": "price"}, "fake-openai"),
    ],
)
def test_each_preference_picks_the_route(api, upstream, client, prefs, served_by):
    mark = marker()
    response = post(api, client, "three-routes", mark, provider=prefs)
    assert response.status_code == 200, response.text
    assert asked(upstream, mark) == [ROUTES[served_by]]
    assert response.json()["model"] == "three-routes"


@pytest.mark.parametrize("sort", ["latency", "throughput"])
def test_sorting_by_what_was_measured_serves_in_catalog_order_before_any_measurement(api, upstream, sort):
    # The server's workers keep their measurements for the session: this model's
    # routes are asked by this test only (and the route it asks is then the one measured).
    mark = marker()
    response = post(api, "openai", "three-routes-unmeasured", mark, provider={"sort": sort})
    assert response.status_code == 200, response.text
    assert asked(upstream, mark)[0] == ("openai", "unmeasured-openai")


def test_routes_after_the_ordered_ones_still_serve_when_those_fail(api, upstream):
    # fallback-chat: dead, wrong-key, fake-openai (503), fake-openai (answers).
    mark = marker()
    response = post(api, "openai", "fallback-chat", mark, provider={"order": ["dead"]})
    assert response.status_code == 200, response.text
    assert asked(upstream, mark)[-1] == ("openai", "upstream-fallback")


def test_no_fallbacks_stops_at_the_ordered_providers(api, upstream):
    mark = marker()
    response = post(api, "openai", "fallback-chat", mark, provider={"order": ["dead"], "allow_fallbacks": False})
    assert response.status_code == 503 and response.json()["error"]["type"] == "model_unavailable"
    assert asked(upstream, mark) == [], "no other route was tried"


def test_no_fallbacks_without_an_order_is_the_first_route_alone(api, upstream):
    mark = marker()
    prefs = {"ignore": ["dead", "wrong-key"], "allow_fallbacks": False}
    response = post(api, "openai", "fallback-chat", mark, provider=prefs)
    assert response.status_code == 502, response.text
    assert asked(upstream, mark) == [("openai", "fake-status-503")]


@pytest.mark.parametrize("client", PATHS)
def test_unknown_provider_ids_are_400_naming_them_before_any_upstream_call(api, upstream, client):
    mark = marker()
    response = post(api, client, "three-routes", mark, provider={"only": ["fake-openai", "OpenRouter", "azure"]})
    assert response.status_code == 400, response.text
    if client == "anthropic":
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
    else:
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("invalid_request", 400, "provider.only")
    assert "'OpenRouter', 'azure'" in error["message"]
    assert asked(upstream, mark) == []


@pytest.mark.parametrize(
    ("prefs", "param"),
    [
        ("fake-openai", "provider"),
        ({"sort": "cheapest"}, "provider.sort"),
        ({"allow_fallbacks": "no"}, "provider.allow_fallbacks"),
        ({"max_price": {"prompt": "1"}}, "provider.max_price.prompt"),
        ({"data_collection": "deny"}, "provider.data_collection"),
    ],
)
def test_a_bad_preference_is_400_naming_it(api, prefs, param):
    response = post(api, "openai", "three-routes", marker(), provider=prefs)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


@pytest.mark.parametrize("client", PATHS)
def test_no_model_under_max_price_is_400_saying_so_and_never_a_dearer_route(api, upstream, client):
    mark = marker()
    response = post(api, client, "gpt-5.2", mark, provider={"max_price": {"prompt": 1, "completion": 20}})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "provider.max_price (prompt $1, completion $20 per 1M tokens)" in message
    assert "'gpt-5.2' costs $1.75 prompt and $14 completion" in message
    if client != "anthropic":
        assert response.json()["error"]["param"] == "provider.max_price"
    assert asked(upstream, mark) == []


def test_a_model_within_max_price_serves(api, upstream):
    mark = marker()
    response = post(api, "openai", "gpt-5.2", mark, provider={"max_price": {"prompt": 1.75, "completion": 14}})
    assert response.status_code == 200, response.text
    assert asked(upstream, mark) == [("openai", "upstream-gpt")]


def test_preferences_that_leave_the_model_no_route_are_400(api, upstream):
    mark = marker()
    response = post(api, "openai", "gpt-5.2", mark, provider={"only": ["fake-anthropic"]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "provider"
    assert "'gpt-5.2' is served by fake-openai" in response.json()["error"]["message"]
    assert asked(upstream, mark) == []


@pytest.mark.parametrize(
    ("client", "model"), [("openai", "gpt-5.2"), ("anthropic", "lumyx-plus_v1"), ("responses", "responses-pro")]
)
def test_the_routing_fields_never_reach_the_upstream(api, upstream, client, model):
    mark = marker()
    extra = {"provider": {"sort": "price"}, "models": ["lumyx-local"], "route": "fallback"}
    response = post(api, client, model, mark, **extra)
    assert response.status_code == 200, response.text
    (sent,) = bodies(upstream, mark)
    assert not {"provider", "models", "route"} & set(sent), "the same-format pass-through drops them"


@pytest.mark.parametrize("stream", [False, True])
def test_preferences_steer_streams_too(api, upstream, stream):
    mark = marker()
    response = post(api, "anthropic", "three-routes", mark, stream=stream, provider={"order": ["fake-responses"]})
    assert response.status_code == 200, response.text
    assert asked(upstream, mark) == [ROUTES["fake-responses"]]
