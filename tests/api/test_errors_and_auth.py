"""Every bad input gets the documented status and error shape, never a 500."""

from __future__ import annotations

import pytest
import requests
from openai import AuthenticationError, NotFoundError, OpenAI

CHAT = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}


def error_of(response: requests.Response, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == type_ and body["error"]["code"] == status
    assert body["error"]["message"]
    return body["error"]["message"]


@pytest.mark.parametrize("prefix", ["/v1", "/api/v1"])
def test_both_base_urls_serve_chat(live, key, prefix):
    response = requests.post(
        live.url + prefix + "/chat/completions", json=CHAT, timeout=10, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200


def test_x_api_key_header_works(live, key):
    response = requests.post(live.url + "/v1/chat/completions", json=CHAT, headers={"x-api-key": key}, timeout=10)
    assert response.status_code == 200


def test_nova_prefix_names_the_same_key(live, key):
    nova = "nova_" + key[len("lx-") :]
    assert requests.get(live.url + "/v1/models", headers={"Authorization": f"Bearer {nova}"}, timeout=5).ok


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer lx-wrong"},
        {"Authorization": "Basic abc"},
        {"x-api-key": "lx-nope"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_bad_key_is_401(live, headers):
    response = requests.post(live.url + "/v1/chat/completions", json=CHAT, headers=headers, timeout=5)
    error_of(response, 401, "unauthorized")


def test_sdk_raises_authentication_error(live):
    client = OpenAI(base_url=live.url + "/v1", api_key="lx-not-a-real-key", max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        client.models.list()
    assert caught.value.body == {"message": "Invalid API key provided.", "type": "unauthorized", "code": 401}


def test_unknown_model_is_404(openai_client):
    with pytest.raises(NotFoundError) as caught:
        openai_client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["type"] == "model_not_found"


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_malformed_bodies(api, data, needle):
    response = api("POST", "/v1/chat/completions", data=data, headers={"Content-Type": "application/json"})
    assert needle in error_of(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "patch, param",
    [
        ({"model": None}, "model"),
        ({"model": 42}, "model"),
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": -1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"stream": "yes"}, "stream"),
        ({"stop": [1, 2]}, "stop"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"tools": {"name": "x"}}, "tools"),
        ({"tools": [{"type": "function"}]}, "tools[0]"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"response_format": {"type": "yaml"}}, "response_format"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"frequency_penalty": 5}, "frequency_penalty"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_wrong_types_and_missing_fields(api, patch, param):
    body = {**CHAT, **patch}
    body = {k: v for k, v in body.items() if v is not None}
    response = api("POST", "/v1/chat/completions", json=body)
    error_of(response, 400, "invalid_request")
    assert response.json()["error"]["param"] == param


def test_oversized_body_is_413(api):
    big = "x" * (33 * 1024 * 1024)
    response = api(
        "POST",
        "/v1/chat/completions",
        data=b'{"model": "lumyx-local", "messages": "' + big.encode() + b'"}',
        headers={"Content-Type": "application/json"},
    )
    error_of(response, 413, "request_too_large")


def test_unknown_endpoint_and_wrong_method(api):
    error_of(api("POST", "/v1/nothing-here", json={}), 404, "not_found")
    error_of(api("GET", "/v1/chat/completions"), 405, "invalid_request")


def test_completions_and_embeddings_validate_too(api):
    error_of(api("POST", "/v1/completions", json={"model": "lumyx-local"}), 400, "invalid_request")
    error_of(api("POST", "/v1/embeddings", json={"model": "lumyx-local-embed", "input": 5}), 400, "invalid_request")
    error_of(
        api("POST", "/v1/embeddings", json={"model": "lumyx-local-embed", "input": "x", "encoding_format": "hex"}),
        400,
        "invalid_request",
    )


def test_revoked_key_stops_working(app, live, account):
    from sqlalchemy import update

    from lumyx.db import db
    from lumyx.db.models import ApiKey
    from lumyx.db.models._types import utcnow

    user_id, _email, key = account
    with app.app_context():
        db.session.execute(update(ApiKey).where(ApiKey.user_id == user_id).values(revoked_at=utcnow()))
        db.session.commit()
    import time

    time.sleep(int(live.env.get("LUMYX_AUTH_CACHE_SECONDS", "10")) + 0.5)
    response = requests.get(live.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert response.status_code == 401
