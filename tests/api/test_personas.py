"""Personas: CRUD at /personas (key-authenticated, per account) and their use in
chat completions and messages, with the official SDKs against the live server."""

from __future__ import annotations

import time
import uuid

import anthropic
import pytest
import requests


def _slug(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_persona(api):
    def make(**fields) -> dict:
        body = {"name": "Helper", "slug": _slug(), "model": "gpt-5.2", **fields}
        response = api("POST", "/api/v1/personas", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return make


def _seen(upstream, path: str, marker: str) -> dict:
    """The upstream's recorded request whose body mentions ``marker``."""
    for record in reversed(upstream.requests(path)):
        if marker in str(record.get("body")):
            return record["body"]
    raise AssertionError(f"the upstream saw no request to {path} with {marker!r}")


# -- management ----------------------------------------------------------------


def test_crud_round_trip(api):
    slug = _slug("crud")
    body = {
        "name": "Code reviewer",
        "slug": slug,
        "description": "Reviews diffs",
        "system_prompt": "You review code.",
        "model": "gpt-5.2",
        "defaults": {
            "temperature": 0.2,
            "max_tokens": 300,
            "stop": ["END"],
            "reasoning": {"effort": "low", "exclude": True},
        },
        "tools": [{"type": "function", "function": {"name": "lint", "parameters": {"type": "object"}}}],
        "http_tools": [
            {
                "name": "fetch_pr",
                "url": "https://git.example.com/pr",
                "method": "get",
                "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}},
            }
        ],
    }
    created = api("POST", "/api/v1/personas", json=body)
    assert created.status_code == 201, created.text
    persona = created.json()
    assert persona["object"] == "persona" and persona["id"] == persona["slug"] == slug
    assert persona["defaults"] == body["defaults"] and persona["model"] == "gpt-5.2"
    assert persona["tools"] == [{"type": "function", "function": {"name": "lint", "parameters": {"type": "object"}}}]
    http_tool = persona["http_tools"][0]
    assert http_tool["method"] == "GET" and http_tool["url"] == "https://git.example.com/pr"
    assert isinstance(persona["created_at"], int) and persona["created_at"] == persona["updated_at"]

    assert api("GET", f"/v1/personas/{slug}").json() == persona
    assert slug in [p["slug"] for p in api("GET", "/v1/personas", params={"limit": 100}).json()["data"]]

    patched = api(
        "PATCH",
        f"/api/v1/personas/{slug}",
        json={"name": "Strict reviewer", "defaults": {"top_p": 0.5}, "http_tools": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Strict reviewer" and patched.json()["defaults"] == {"top_p": 0.5}
    assert patched.json()["http_tools"] == [] and patched.json()["tools"] == persona["tools"]
    assert patched.json()["system_prompt"] == "You review code."

    renamed = api("PATCH", f"/api/v1/personas/{slug}", json={"slug": slug + "-2"})
    assert renamed.status_code == 200 and renamed.json()["id"] == slug + "-2"
    assert api("GET", f"/api/v1/personas/{slug}").status_code == 404

    deleted = api("DELETE", f"/v1/personas/{slug}-2")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": slug + "-2", "object": "persona.deleted", "deleted": True}
    missing = api("GET", f"/v1/personas/{slug}-2")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found" and missing.json()["error"]["code"] == 404
    assert api("DELETE", f"/v1/personas/{slug}-2").status_code == 404


def test_slug_from_name_and_duplicates_are_409(api):
    name = "Travel Agent " + uuid.uuid4().hex[:6]
    created = api("POST", "/v1/personas", json={"name": name, "model": "lumyx-local"})
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    assert slug == name.lower().replace(" ", "-")
    again = api("POST", "/v1/personas", json={"name": "Other", "slug": slug, "model": "lumyx-local"})
    assert again.status_code == 409
    assert again.json()["error"]["param"] == "slug" and again.json()["error"]["code"] == 409
    second = api("POST", "/v1/personas", json={"name": "Second", "model": "lumyx-local"}).json()["slug"]
    clash = api("PATCH", f"/v1/personas/{second}", json={"slug": slug})
    assert clash.status_code == 409 and clash.json()["error"]["param"] == "slug"


BAD_CREATES = [
    ({"model": "gpt-5.2"}, "name"),
    ({"name": 5, "model": "gpt-5.2"}, "name"),
    ({"name": "x", "slug": "Not A Slug", "model": "gpt-5.2"}, "slug"),
    ({"name": "x", "slug": "-lead", "model": "gpt-5.2"}, "slug"),
    ({"name": "!!!", "model": "gpt-5.2"}, "slug"),
    ({"name": "x"}, "model"),
    ({"name": "x", "model": "no-such-model"}, "model"),
    ({"name": "x", "model": "lumyx-local-embed"}, "model"),
    ({"name": "x", "model": "gpt-5.2", "system_prompt": ["a"]}, "system_prompt"),
    ({"name": "x", "model": "gpt-5.2", "defaults": [1]}, "defaults"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"temperature": 3}}, "defaults.temperature"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"temperature": "hot"}}, "defaults.temperature"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"max_tokens": 0}}, "defaults.max_tokens"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"logit_bias": {}}}, "defaults.logit_bias"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"stop": ["a", "b", "c", "d", "e"]}}, "defaults.stop"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"reasoning": {"effort": "huge"}}}, "defaults.reasoning.effort"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"reasoning": {"max_tokens": -1}}}, "defaults.reasoning.max_tokens"),
    ({"name": "x", "model": "gpt-5.2", "defaults": {"reasoning": {"budget": 1}}}, "defaults.reasoning.budget"),
    ({"name": "x", "model": "gpt-5.2", "tools": {"a": 1}}, "tools"),
    ({"name": "x", "model": "gpt-5.2", "tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
    (
        {"name": "x", "model": "gpt-5.2", "tools": [{"type": "function", "function": {"name": "a", "parameters": 1}}]},
        "tools[0].function.parameters",
    ),
    ({"name": "x", "model": "plain-chat", "tools": [{"type": "function", "function": {"name": "a"}}]}, "tools"),
    ({"name": "x", "model": "gpt-5.2", "http_tools": [{"name": "a", "url": "ftp://h/x"}]}, "http_tools[0].url"),
    ({"name": "x", "model": "gpt-5.2", "http_tools": [{"name": "a", "url": "http://u:p@h/x"}]}, "http_tools[0].url"),
    (
        {"name": "x", "model": "gpt-5.2", "http_tools": [{"name": "a", "url": "http://h/x", "method": "TRACE"}]},
        "http_tools[0].method",
    ),
    (
        {"name": "x", "model": "gpt-5.2", "http_tools": [{"name": "calculator", "url": "http://h/x"}]},
        "http_tools[0].name",
    ),
    (
        {"name": "x", "model": "gpt-5.2", "http_tools": [{"name": "a", "url": "http://h/", "headers": {}}]},
        "http_tools[0].headers",
    ),
    (
        {
            "name": "x",
            "model": "gpt-5.2",
            "tools": [{"type": "function", "function": {"name": "a"}}],
            "http_tools": [{"name": "a", "url": "http://h/x"}],
        },
        "http_tools[0].name",
    ),
    ({"name": "x", "model": "gpt-5.2", "colour": "blue"}, "colour"),
]


@pytest.mark.parametrize("body,param", BAD_CREATES, ids=[p for _, p in BAD_CREATES])
def test_bad_input_is_400_naming_the_field(api, body, param):
    response = api("POST", "/api/v1/personas", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and error["param"] == param and error["message"]


def test_bad_bodies_and_updates(api, make_persona):
    assert api("POST", "/v1/personas", data=b"{nope", headers={"content-type": "application/json"}).status_code == 400
    assert api("POST", "/v1/personas", json=["a"]).status_code == 400
    slug = make_persona()["slug"]
    for body, param in (
        ({"slug": None}, "slug"),
        ({"name": ""}, "name"),
        ({"model": "nope"}, "model"),
        ({"defaults": {"seed": "x"}}, "defaults.seed"),
    ):
        response = api("PATCH", f"/v1/personas/{slug}", json=body)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    assert api("PATCH", f"/v1/personas/{slug}", json=[1]).status_code == 400
    assert api("GET", "/v1/personas/UPPER%20case").status_code == 404
    assert api("GET", "/v1/personas", params={"limit": 0}).json()["error"]["param"] == "limit"
    assert api("GET", "/v1/personas", params={"limit": "many"}).status_code == 400
    assert api("GET", "/v1/personas", params={"page": -1}).json()["error"]["param"] == "page"
    assert api("GET", "/v1/personas", params={"page": 1, "after": "a"}).json()["error"]["param"] == "after"


def test_list_is_paginated(live, app):
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"pages-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", plan="enterprise"
        )
        key = keys.create_key(user, "pages")[1]
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {key}"
    url = live.url + "/api/v1/personas"
    for letter in "edcba":
        created = session.post(url, json={"name": letter, "slug": f"s-{letter}", "model": "lumyx-local"})
        assert created.status_code == 201
    first = session.get(url, params={"limit": 2}).json()
    assert first["object"] == "list" and [p["slug"] for p in first["data"]] == ["s-a", "s-b"]
    assert first["has_more"] is True and first["first_id"] == "s-a" and first["last_id"] == "s-b"
    assert [p["slug"] for p in session.get(url, params={"limit": 2, "page": 2}).json()["data"]] == ["s-c", "s-d"]
    last = session.get(url, params={"limit": 2, "page": 3}).json()
    assert [p["slug"] for p in last["data"]] == ["s-e"] and last["has_more"] is False
    after = session.get(url, params={"limit": 2, "after": first["last_id"]}).json()
    assert [p["slug"] for p in after["data"]] == ["s-c", "s-d"] and after["has_more"] is True
    assert session.get(url, params={"page": 9}).json() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
        "page": 9,
    }
    assert len(session.get(url).json()["data"]) == 5


def test_accounts_never_see_each_others_personas(live, api, make_persona, other_key, openai_client):
    slug = make_persona(system_prompt="secret prompt")["slug"]
    other = requests.Session()
    other.headers["authorization"] = f"Bearer {other_key}"
    assert other.get(f"{live.url}/v1/personas/{slug}").status_code == 404
    assert other.patch(f"{live.url}/v1/personas/{slug}", json={"name": "mine"}).status_code == 404
    assert other.delete(f"{live.url}/v1/personas/{slug}").status_code == 404
    assert slug not in str(other.get(f"{live.url}/v1/personas", params={"limit": 100}).json())
    used = other.post(
        f"{live.url}/v1/chat/completions",
        json={"model": f"persona:{slug}", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert used.status_code == 404 and used.json()["error"]["param"] == "model"
    by_field = other.post(
        f"{live.url}/v1/chat/completions",
        json={"model": "lumyx-local", "persona": slug, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert by_field.status_code == 404 and by_field.json()["error"]["param"] == "persona"
    # Same slug on the other account: its own persona, independent of the first.
    mine = other.post(f"{live.url}/v1/personas", json={"name": "x", "slug": slug, "model": "lumyx-local"})
    assert mine.status_code == 201
    assert api("GET", f"/v1/personas/{slug}").json()["model"] == "gpt-5.2"
    assert requests.get(f"{live.url}/v1/personas", timeout=10).status_code == 401


# -- using a persona -------------------------------------------------------------


def test_persona_in_chat_completions_explicit_fields_win(openai_client, make_persona, upstream):
    persona = make_persona(
        system_prompt="You are Captain Persona.",
        defaults={
            "temperature": 0.3,
            "top_p": 0.8,
            "max_tokens": 77,
            "stop": ["END"],
            "seed": 5,
            "presence_penalty": 0.5,
            "reasoning": {"effort": "low"},
        },
    )
    marker = uuid.uuid4().hex[:10]
    response = openai_client.chat.completions.create(
        model=f"persona:{persona['slug']}",
        temperature=0.9,
        seed=11,
        messages=[{"role": "system", "content": "Client system."}, {"role": "user", "content": f"hello {marker}"}],
    )
    assert response.model == "gpt-5.2"
    assert response.choices[0].message.content == f"Echo: hello {marker}"
    sent = _seen(upstream, "/v1/chat/completions", marker)
    assert sent["model"] == "upstream-gpt"
    assert sent["messages"][:2] == [
        {"role": "system", "content": "You are Captain Persona."},
        {"role": "system", "content": "Client system."},
    ]
    assert (sent["temperature"], sent["seed"]) == (0.9, 11), "the request's own values win"
    assert (sent["top_p"], sent["max_tokens"], sent["stop"], sent["presence_penalty"]) == (0.8, 77, ["END"], 0.5)
    assert sent["reasoning_effort"] == "low" and "persona" not in sent

    # The `persona` field with an explicit model: the model named wins, the rest applies.
    marker = uuid.uuid4().hex[:10]
    other = make_persona(model="lumyx-plus_v1", system_prompt="Field persona.", defaults={"max_tokens": 50})
    openai_client.chat.completions.create(
        model="gpt-5.2",
        max_tokens=20,
        reasoning_effort="high",
        messages=[{"role": "user", "content": marker}],
        extra_body={"persona": other["slug"]},
    )
    sent = _seen(upstream, "/v1/chat/completions", marker)
    assert sent["model"] == "upstream-gpt" and sent["messages"][0]["content"] == "Field persona."
    assert sent["max_tokens"] == 20 and sent["reasoning_effort"] == "high" and "persona" not in sent


def test_persona_tools_apply_when_the_request_has_none(openai_client, make_persona):
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    persona = make_persona(tools=[weather])
    response = openai_client.chat.completions.create(
        model=f"persona:{persona['slug']}", messages=[{"role": "user", "content": "Paris"}]
    )
    assert response.choices[0].finish_reason == "tool_calls"
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.fixture
def claude(live, key):
    return anthropic.Anthropic(api_key=key, base_url=live.url + "/api/v1", max_retries=0, timeout=30)


def test_persona_in_messages_native_and_translated(claude, make_persona, upstream):
    native = make_persona(
        model="lumyx-plus_v1",
        system_prompt="You are Captain Persona.",
        defaults={"temperature": 0.4, "stop": "STOP", "seed": 3},
    )
    marker = uuid.uuid4().hex[:10]
    message = claude.messages.create(
        model=f"persona:{native['slug']}",
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": f"hi {marker}"}],
        extra_body={"temperature": 1.0},
    )
    assert message.model == "lumyx-plus_v1" and marker in message.content[0].text
    sent = _seen(upstream, "/v1/messages", marker)
    assert sent["model"] == "claude-sonnet-4-5-20250929"
    assert sent["system"] == "You are Captain Persona.\n\nBe brief."
    assert sent["temperature"] == 1.0 and sent["stop_sequences"] == ["STOP"] and "seed" not in sent
    assert sent["max_tokens"] == 64 and "persona" not in sent

    translated = make_persona(model="gpt-5.2", system_prompt="Translated persona.", defaults={"top_p": 0.7})
    marker = uuid.uuid4().hex[:10]
    message = claude.messages.create(
        model=f"persona:{translated['slug']}", max_tokens=64, messages=[{"role": "user", "content": f"hey {marker}"}]
    )
    assert message.model == "gpt-5.2"
    sent = _seen(upstream, "/v1/chat/completions", marker)
    assert sent["messages"][0] == {"role": "system", "content": "Translated persona."} and sent["top_p"] == 0.7

    marker = uuid.uuid4().hex[:10]
    claude.messages.create(
        model="lumyx-plus_v1",
        max_tokens=2048,
        messages=[{"role": "user", "content": marker}],
        extra_body={"persona": native["slug"]},
    )
    sent = _seen(upstream, "/v1/messages", marker)
    assert sent["system"] == "You are Captain Persona." and sent["temperature"] == 0.4
    counted = claude.messages.count_tokens(
        model=f"persona:{native['slug']}", messages=[{"role": "user", "content": "count"}]
    )
    assert counted.input_tokens > 0


def test_unknown_persona_is_404_in_both_formats(openai_client, claude):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.chat.completions.create(model="persona:nobody-here", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["param"] == "model"
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="persona:nobody-here", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(
            model="gpt-5.2", messages=[{"role": "user", "content": "x"}], extra_body={"persona": 7}
        )
    assert caught.value.body["param"] == "persona"


def test_billing_and_usage_name_the_underlying_model(openai_client, make_persona, account, app):
    from lumyx.db import db
    from lumyx.db.models import UsageRecord

    persona = make_persona(defaults={"max_tokens": 40})
    raw = openai_client.chat.completions.with_raw_response.create(
        model=f"persona:{persona['slug']}", messages=[{"role": "user", "content": "bill me"}]
    )
    request_id = raw.headers["x-request-id"]
    assert raw.parse().model == "gpt-5.2"
    deadline = time.monotonic() + 10
    row = None
    while row is None and time.monotonic() < deadline:
        with app.app_context():
            row = db.session.get(UsageRecord, request_id)
        time.sleep(0.05)
    assert row is not None, "settled after the response"
    assert row.user_id == account[0] and row.model_id == "gpt-5.2" and row.cost > 0
    assert row.input_tokens == raw.parse().usage.prompt_tokens
