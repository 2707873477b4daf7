"""``models``: fallback models tried in order after ``model``, on every format,
whole and streamed. The model that served names the answer, the usage row and
/generation, and its price is what is charged — exactly, in the ledger too; a
dearer fallback is held for up front. A fallback the key may not use, that
does not exist or cannot serve the request is refused before any upstream call."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import anthropic
import orjson
import pytest
import requests
from openai import OpenAI

from tests.support.upstream_log import asked

MICRO = 1_000_000
# Catalog prices (tests/support/catalog.py), µcr per 1M tokens: (input, output).
PRICES = {"priced-cheap": (50_000_000, 100_000_000), "priced-dear": (500_000_000, 2_500_000_000)}
PROVIDER = {"priced-cheap": "fake-anthropic", "priced-dear": "fake-responses"}
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}


@pytest.fixture
def payer(app):
    """payer(credits, models=None) -> (user id, key): an account with that balance
    and a key (limited to ``models`` when given)."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    def make(credits: float, models: tuple[str, ...] | None = None) -> tuple[int, str]:
        with app.app_context():
            user = accounts.create_user(
                f"fallback-{uuid.uuid4().hex[:10]}@example.com",
                "correct horse battery",
                plan="enterprise",
                credits_micro=int(credits * MICRO),
            )
            _row, key = keys.create_key(user, "fallbacks", keys.KeyLimits(models=models))
            return user.id, key

    return make


def books(app, user_id: int, request_id: str, wait: float = 10.0):
    """(balance, held, usage row, ledger amount) once the request is settled."""
    from lumyx.db import db
    from lumyx.db.models import LedgerEntry, UsageRecord, User

    deadline = time.monotonic() + wait
    while True:
        with app.app_context():
            user = db.session.get(User, user_id)
            row = db.session.get(UsageRecord, request_id)
            entry = db.session.query(LedgerEntry).filter_by(ref=request_id).one_or_none()
            found = (user.balance, user.held, row and SimpleNamespace(**row.__dict__), entry and entry.amount)
            db.session.rollback()
        if (found[2] is not None and found[1] == 0) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def marker() -> str:
    return "mark-" + uuid.uuid4().hex[:12]


def body(client: str, text: str, stream: bool = False, **extra) -> dict:
    if client == "responses":
        return {"model": "priced-down", "input": text, "max_output_tokens": 40, "stream": stream, **extra}
    messages = [{"role": "user", "content": text}]
    return {"model": "priced-down", "max_tokens": 40, "stream": stream, "messages": messages, **extra}


def post(live, key: str, client: str, payload: dict) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"}
    return requests.post(live.url + PATHS[client], json=payload, headers=headers, timeout=30)


def answered_model(client: str, response: requests.Response, stream: bool) -> set[str]:
    """The model names the client saw in the answer."""
    if not stream:
        return {response.json()["model"]}
    seen = set()
    for line in response.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = orjson.loads(line[6:])
        for holder in (event, event.get("message"), event.get("response")):
            if isinstance(holder, dict) and isinstance(holder.get("model"), str):
                seen.add(holder["model"])
    return seen


def expected_cost(model: str, row) -> int:
    price_in, price_out = PRICES[model]
    return -(-(row.input_tokens * price_in + row.output_tokens * price_out) // MICRO)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("client", PATHS)
@pytest.mark.parametrize("fallback", ["priced-cheap", "priced-dear"])
def test_a_fallback_serves_and_is_billed_exactly_at_its_price(app, live, upstream, payer, client, stream, fallback):
    user_id, key = payer(10)
    mark = marker()
    response = post(live, key, client, body(client, mark, stream, models=[fallback]))
    assert response.status_code == 200, response.text
    assert answered_model(client, response, stream) == {fallback}
    seen = asked(upstream, mark)
    assert seen[0] == ("openai", "fake-status-503") and len(seen) == 2, "the first model's route, then the fallback's"

    balance, held, row, entry = books(app, user_id, response.headers["x-request-id"])
    assert held == 0 and row is not None
    assert (row.model_id, row.provider_id, row.status_code) == (fallback, PROVIDER[fallback], 200)
    assert row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost == expected_cost(fallback, row) > 0, "charged at the serving model's price"
    assert 10 * MICRO - balance == row.cost and entry == -row.cost, "the balance and the ledger agree"


def test_the_generation_names_the_model_that_served(app, live, payer):
    user_id, key = payer(10)
    response = post(live, key, "openai", body("openai", marker(), models=["priced-cheap"]))
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    books(app, user_id, request_id)
    generation = requests.get(
        live.url + "/api/v1/generation", params={"id": request_id}, headers={"Authorization": f"Bearer {key}"}
    )
    data = generation.json()["data"]
    assert (data["model"], data["provider_name"], data["upstream_model"]) == (
        "priced-cheap",
        "fake-anthropic",
        "claude-cheap",
    )


def test_the_first_model_serves_when_it_can_and_fallbacks_are_not_asked(live, upstream, payer):
    _user_id, key = payer(10)
    mark = marker()
    payload = {**body("openai", mark, models=["priced-dear"]), "model": "priced-cheap"}
    response = post(live, key, "openai", payload)
    assert response.status_code == 200 and response.json()["model"] == "priced-cheap"
    assert asked(upstream, mark) == [("anthropic", "claude-cheap")]


def test_a_dearer_fallback_is_held_for_up_front(app, live, upstream, payer):
    # 1 credit covers 1,000 output tokens of priced-down ($2/1M: 0.2 credits) but
    # not of priced-dear ($25/1M: 2.5 credits).
    user_id, key = payer(1)
    mark = marker()
    alone = post(live, key, "openai", {**body("openai", mark), "max_tokens": 1000})
    assert alone.status_code == 502, "admitted; its one route fails"
    response = post(live, key, "openai", {**body("openai", mark), "max_tokens": 1000, "models": ["priced-dear"]})
    assert response.status_code == 402, response.text
    assert "on 'priced-dear'" in response.json()["error"]["message"]
    assert asked(upstream, mark) == [("openai", "fake-status-503")], "the refused request asked no upstream"
    assert books(app, user_id, alone.headers["x-request-id"])[:2] == (1 * MICRO, 0), "nothing charged, nothing held"


@pytest.mark.parametrize("client", PATHS)
def test_a_fallback_the_key_may_not_use_is_403_before_any_call(live, upstream, payer, client):
    _user_id, key = payer(10, models=("priced-down",))
    mark = marker()
    response = post(live, key, client, body(client, mark, models=["priced-cheap"]))
    assert response.status_code == 403, response.text
    if client == "anthropic":
        assert response.json()["error"]["type"] == "permission_error"
    else:
        assert response.json()["error"]["param"] == "models[0]"
    assert "'priced-cheap'" in response.json()["error"]["message"]
    assert asked(upstream, mark) == []


@pytest.mark.parametrize(
    ("models", "extra", "status", "param"),
    [
        (["priced-cheap", "no-such-model"], {}, 404, "models[1]"),
        (["priced-no-tools"], {"tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "models[0]"),
        (["lumyx-local-embed"], {}, 400, "models[0]"),
        ("priced-cheap", {}, 400, "models"),
    ],
)
def test_a_fallback_that_cannot_serve_is_refused_before_any_call(live, upstream, payer, models, extra, status, param):
    _user_id, key = payer(10)
    mark = marker()
    response = post(live, key, "openai", body("openai", mark, models=models, **extra))
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param
    assert asked(upstream, mark) == []


def test_every_model_failing_answers_the_last_ones_error_and_charges_nothing(app, live, payer):
    user_id, key = payer(10)
    response = post(live, key, "openai", body("openai", marker(), models=["failing-chat"]))
    assert response.status_code == 502 and "'failing-chat'" in response.json()["error"]["message"]
    balance, held, row, _entry = books(app, user_id, response.headers["x-request-id"])
    assert (balance, held, row.cost) == (10 * MICRO, 0, 0)


def test_max_price_passes_over_a_dearer_model_to_a_fallback_within_it(live, upstream, payer):
    _user_id, key = payer(10)
    mark = marker()
    payload = {**body("openai", mark, models=["priced-cheap"]), "model": "gpt-5.2"}
    response = post(live, key, "openai", {**payload, "provider": {"max_price": {"completion": 1}}})
    assert response.status_code == 200 and response.json()["model"] == "priced-cheap"
    assert asked(upstream, mark) == [("anthropic", "claude-cheap")], "gpt-5.2 was never asked"


def test_openrouters_spellings_are_accepted(live, upstream, payer):
    """``models`` without ``model`` (the first is the model) and the legacy ``route``."""
    _user_id, key = payer(10)
    mark = marker()
    payload = {k: v for k, v in body("openai", mark).items() if k != "model"}
    response = post(live, key, "openai", {**payload, "models": ["priced-down", "priced-cheap"], "route": "fallback"})
    assert response.status_code == 200 and response.json()["model"] == "priced-cheap"
    assert len(asked(upstream, mark)) == 2


def test_the_sdks_send_fallbacks_as_extra_body(live, payer):
    _user_id, key = payer(10)
    openai = OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0)
    chat = openai.chat.completions.create(
        model="priced-down",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=20,
        extra_body={"models": ["priced-cheap"], "provider": {"sort": "price"}},
    )
    assert chat.model == "priced-cheap"
    claude = anthropic.Anthropic(base_url=live.url + "/api/v1", api_key=key, max_retries=0)
    message = claude.messages.create(
        model="priced-down",
        max_tokens=20,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"models": ["priced-dear"]},
    )
    assert message.model == "priced-dear"
