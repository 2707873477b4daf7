"""GET /generation?id=<id>: any answer's id (every format, route and translation,
streamed or not) finds its request, in OpenRouter's shape, for its own account only."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
import requests

MICRO_PER_USD = 100_000_000
# Catalog prices of the suite's paid models (tests/support/catalog.py), µcr per 1M tokens.
PRICES = {"gpt-5.2": (175_000_000, 1_400_000_000), "lumyx-plus_v1": (300_000_000, 1_500_000_000)}
PRICES["responses-pro"] = (125_000_000, 1_000_000_000)
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}
PREFIX = {"openai": "chatcmpl-", "anthropic": "msg_", "responses": "resp_"}
UPSTREAM = {"gpt-5.2": "upstream-gpt", "lumyx-plus_v1": "claude-sonnet-4-5-20250929"}
UPSTREAM["responses-pro"] = "upstream-responses"
PROVIDER = {"gpt-5.2": "fake-openai", "lumyx-plus_v1": "fake-anthropic", "responses-pro": "fake-responses"}


def _body(client: str, model: str, stream: bool, text: str) -> dict:
    if client == "responses":
        return {"model": model, "input": text, "max_output_tokens": 60, "stream": stream}
    return {"model": model, "max_tokens": 60, "stream": stream, "messages": [{"role": "user", "content": text}]}


def _sse(response: requests.Response) -> list[dict]:
    events = []
    for line in response.iter_lines():
        if line.startswith(b"data: ") and line != b"data: [DONE]":
            events.append(orjson.loads(line[6:]))
    return events


def _seen(client: str, answer) -> tuple[set[str], str | None, dict]:
    """(the ids the client was given, the finish reason it saw, the usage it saw)."""
    if isinstance(answer, dict):
        usage = answer.get("usage") or {}
        if client == "openai":
            return {answer["id"]}, answer["choices"][0]["finish_reason"], usage
        if client == "anthropic":
            return {answer["id"]}, answer["stop_reason"], usage
        reason = (answer.get("incomplete_details") or {}).get("reason") or answer["status"]
        return {answer["id"]}, reason, usage
    ids, reason, usage = set(), None, {}
    for event in answer:
        if client == "openai":
            ids.add(event["id"])
            reason = next((c["finish_reason"] for c in event["choices"] if c.get("finish_reason")), reason)
            usage = event.get("usage") or usage
        elif client == "anthropic":
            if event["type"] == "message_start":
                ids.add(event["message"]["id"])
                usage = dict(event["message"]["usage"])
            elif event["type"] == "message_delta":
                reason = event["delta"]["stop_reason"]
                usage.update(event["usage"])
        elif isinstance(event.get("response"), dict):
            ids.add(event["response"]["id"])
            if event["type"] in ("response.completed", "response.incomplete"):
                response = event["response"]
                reason = (response.get("incomplete_details") or {}).get("reason") or response["status"]
                usage = response["usage"]
    return ids, reason, usage


def _generation(live, key: str, some_id: str, prefix: str = "/api/v1", wait: float = 10) -> requests.Response:
    """GET /generation, polled while it answers 404: a request is recorded once its answer ended."""
    deadline = time.monotonic() + wait
    while True:
        response = requests.get(
            f"{live.url}{prefix}/generation", params={"id": some_id}, headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code != 404 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def _balance(app, user_id: int) -> int:
    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        balance = db.session.get(User, user_id).balance
        db.session.rollback()
        return balance


CASES = [
    (client, model, stream)
    for client, models in (
        ("openai", ("gpt-5.2", "lumyx-plus_v1", "responses-pro")),
        ("anthropic", ("lumyx-plus_v1", "gpt-5.2", "responses-pro")),
        ("responses", ("responses-pro", "gpt-5.2", "lumyx-plus_v1")),
    )
    for model in models
    for stream in (False, True)
]


@pytest.mark.parametrize(("client", "model", "stream"), CASES)
def test_every_answer_id_finds_its_generation(app, live, account, client, model, stream):
    user_id, _email, key = account
    headers = {"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}
    before = _balance(app, user_id)
    answer = requests.post(
        live.url + PATHS[client],
        json=_body(client, model, stream, f"Say something about {uuid.uuid4().hex[:6]}."),
        headers=headers,
        stream=stream,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    request_id = answer.headers["x-request-id"]
    ids, finish_reason, _usage = _seen(client, _sse(answer) if stream else answer.json())
    answer_id = PREFIX[client] + request_id.removeprefix("req_")
    assert ids == {answer_id}, "every event of the answer carries the one id made from the request id"

    response = _generation(live, key, answer_id)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["id"] == answer_id and data["request_id"] == request_id
    assert (data["model"], data["provider_name"], data["upstream_model"]) == (model, PROVIDER[model], UPSTREAM[model])
    assert data["upstream_id"] and data["upstream_id"] != answer_id, "the upstream's own id is kept"
    assert data["streamed"] is stream and data["cancelled"] is False and data["partial"] is False
    assert data["finish_reason"] == finish_reason, "the finish reason the client saw"
    assert data["native_finish_reason"], "and the upstream's own"
    assert data["created_at"].endswith("+00:00")
    assert data["latency"] > 0
    if stream:
        assert 0 < data["time_to_first_token"] <= data["latency"]
        assert data["generation_time"] == data["latency"] - data["time_to_first_token"]
    else:
        assert data["time_to_first_token"] is None and data["generation_time"] is None
    assert data["tokens_prompt"] > 0 and data["tokens_completion"] > 0
    assert data["native_tokens_prompt"] == data["tokens_prompt"]
    # total_cost is what the account was charged, to the micro-credit, in USD.
    charged = before - _balance(app, user_id)
    assert charged > 0
    assert data["total_cost"] == charged / MICRO_PER_USD
    assert data["cost_credits"] == charged / 1_000_000
    if not data["native_tokens_cached"]:
        price_in, price_out = PRICES[model]
        tokens = data["tokens_prompt"] * price_in + data["tokens_completion"] * price_out
        assert charged == -(-tokens // 1_000_000), "the catalog's formula, rounded up once"
    # The request id (x-request-id) finds the same generation, under every API prefix.
    for prefix in ("/v1", "/api/v1/v1"):
        again = _generation(live, key, request_id, prefix)
        assert again.status_code == 200 and again.json()["data"]["request_id"] == request_id


def test_legacy_completions_and_the_local_model_have_their_generation(live, key):
    headers = {"Authorization": f"Bearer {key}"}
    answer = requests.post(
        live.url + "/v1/completions", json={"model": "gpt-5.2", "prompt": "Once", "max_tokens": 5}, headers=headers
    )
    assert answer.ok, answer.text
    assert answer.json()["id"] == "cmpl-" + answer.headers["x-request-id"].removeprefix("req_")
    local = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
    ).json()
    for some_id in (answer.json()["id"], local["id"]):
        data = _generation(live, key, some_id).json()["data"]
        assert data["id"] == some_id and data["finish_reason"]
    assert data["model"] == "lumyx-local" and data["total_cost"] == 0


def test_sdks_read_the_id_the_generation_answers_for(live, key):
    import anthropic
    from openai import OpenAI

    openai_client = OpenAI(base_url=live.url + "/api/v1", api_key=key, max_retries=0)
    completion = openai_client.chat.completions.create(
        model="gpt-5.2", max_tokens=20, messages=[{"role": "user", "content": "hello"}]
    )
    message = anthropic.Anthropic(base_url=live.url + "/api/v1", api_key=key, max_retries=0).messages.create(
        model="lumyx-plus_v1", max_tokens=20, messages=[{"role": "user", "content": "hello"}]
    )
    with openai_client.chat.completions.create(
        model="lumyx-plus_v1",
        max_tokens=20,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "hello"}],
    ) as chunks:
        streamed = {chunk.id for chunk in chunks}
    assert len(streamed) == 1
    for some_id, tokens in (
        (completion.id, completion.usage.prompt_tokens),
        (message.id, message.usage.input_tokens),
        (streamed.pop(), None),
    ):
        data = _generation(live, key, some_id).json()["data"]
        assert tokens is None or data["tokens_prompt"] == tokens


def test_a_cancelled_stream_and_a_broken_one_are_told_as_such(live, key):
    headers = {"Authorization": f"Bearer {key}"}
    body = {**_body("openai", "gpt-5.2", True, "tell me everything [[scenario:long:1000]]"), "max_tokens": 2000}
    answer = requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, stream=True, timeout=30)
    lines = answer.iter_lines()
    for _ in range(20):
        next(lines)
    answer.close()
    data = _generation(live, key, answer.headers["x-request-id"]).json()["data"]
    assert data["streamed"] and data["cancelled"] and data["partial"]
    assert data["finish_reason"] is None and data["status_code"] == 499
    assert 0 < data["tokens_completion"] < 1000

    body = {**_body("openai", "gpt-5.2", True, "a b c d e f g h [[scenario:long:200,drop:40]]"), "max_tokens": 500}
    answer = requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
    data = _generation(live, key, answer.headers["x-request-id"]).json()["data"]
    assert data["partial"] and not data["cancelled"]
    assert data["finish_reason"] == "error" and data["error_code"] == "upstream_error"


def test_another_accounts_id_unknown_ids_and_no_id(live, key, other_key):
    answer = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "max_tokens": 10, "messages": [{"role": "user", "content": "mine"}]},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert _generation(live, key, answer["id"]).status_code == 200
    for some_id in (answer["id"], "chatcmpl-" + uuid.uuid4().hex, "gen-123", "x" * 500):
        response = _generation(live, other_key, some_id, wait=0)
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["type"] == "not_found" and error["code"] == 404 and error["message"]
    missing = requests.get(live.url + "/api/v1/generation", headers={"Authorization": f"Bearer {key}"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "id"
    assert requests.get(live.url + "/api/v1/generation", params={"id": answer["id"]}).status_code == 401
