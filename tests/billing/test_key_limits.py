"""Keys that can be handed out: a spending limit held like the balance (never
overshot, however many requests run at once), a model allowlist, an expiry,
GET /key, and the order in which a request is refused. Runs on whichever
database the suite runs on (CI: SQLite, then PostgreSQL)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

MICRO = 1_000_000
MICRO_PER_USD = 100 * MICRO


@pytest.fixture
def make_key(app):
    """make_key(credits, limit=None, models=None, expires_days=None, plan="enterprise")
    -> (user id, key id, key), the limits given as an operator gives them."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    def make(credits: float = 100, limit=None, models=None, expires_days=None, plan: str = "enterprise"):
        with app.app_context():
            user = accounts.create_user(
                f"limit-{uuid.uuid4().hex[:10]}@example.com",
                "correct horse battery",
                plan=plan,
                credits_micro=int(credits * MICRO),
            )
            limits = keys.KeyLimits.parse(limit, models, expires_days, known_models=keys.catalog_model_ids())
            row, full = keys.create_key(user, "handed out", limits)
            return user.id, row.id, full

    return make


@pytest.fixture
def key_row(app):
    """The key's row as the database has it now."""
    from lumyx.db import db
    from lumyx.db.models import ApiKey

    def read(key_id: int):
        with app.app_context():
            row = db.session.get(ApiKey, key_id)
            db.session.expunge(row)
            return row

    return read


def hold_of(app, model_id: str, body: dict) -> int:
    """What admission holds for this request (the prompt's bound and max_tokens at the model's prices)."""
    from lumyx import runtime
    from lumyx.billing import arithmetic
    from lumyx.gateway import tokens

    with app.app_context():
        model = runtime.get().catalog.current().get(model_id)
        return arithmetic.hold_amount(model, tokens.input_bound(body), arithmetic.largest_answer(model, 1000))


def settled_key(key_row, key_id: int, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        row = key_row(key_id)
        if row.held == 0 or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def test_forty_simultaneous_requests_on_one_key_never_overshoot_its_limit(app, make_key, key_row, books, live):
    body = {
        "model": "gpt-5.2",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hello there [[scenario:slow:1500]]"}],
    }
    hold = hold_of(app, "gpt-5.2", body)
    limit = hold * 7 // 2  # three worst cases fit under the limit, a fourth does not
    limit_credits = f"{limit / MICRO:.6f}"
    user_id, key_id, key = make_key(credits=100, limit=limit_credits)
    assert key_row(key_id).spend_limit == limit

    def one(_):
        response = requests.post(
            live.url + "/v1/chat/completions", json=body, timeout=60, headers={"Authorization": f"Bearer {key}"}
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(one, range(40)))
    statuses = [status for status, _ in results]
    # Every request holds its worst case while the upstream takes 1.5 s, so exactly
    # three fit under the limit at once; the balance (100 credits) covers all 40.
    assert statuses.count(200) == 3 and statuses.count(402) == 37, statuses
    for status, answer in results:
        if status == 402:
            assert answer["error"]["type"] == "key_limit_exceeded"
            assert "key_limit_exceeded" in answer["error"]["message"]

    row = settled_key(key_row, key_id)
    assert row.held == 0 and 0 < row.spent <= limit
    rows = [r for r in books.usage_rows(user_id) if r.api_key_id == key_id]
    assert len(rows) == 40 and sum(r.cost for r in rows) == row.spent, "spent is exactly what was charged"
    assert sum(1 for r in rows if r.cost) == 3
    balance, held = books.settled(user_id)
    assert held == 0 and balance == 100 * MICRO - row.spent
    books.consistent(user_id)

    # The settlements released what the worst cases did not use: the key can spend it.
    small = {**body, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    response = requests.post(
        live.url + "/v1/chat/completions", json=small, timeout=30, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert settled_key(key_row, key_id).spent <= limit


def test_a_key_limit_refuses_in_each_wire_format(make_key, live):
    _user, _key_id, key = make_key(credits=100, limit="0.01")
    headers = {"Authorization": f"Bearer {key}"}
    chat = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
        timeout=30,
    )
    assert chat.status_code == 402
    assert chat.json()["error"]["type"] == "key_limit_exceeded" and "0.01 credits" in chat.json()["error"]["message"]
    messages = requests.post(
        live.url + "/v1/messages",
        json={"model": "lumyx-plus_v1", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert messages.status_code == 402
    error = messages.json()
    assert error["type"] == "error" and error["error"]["type"] == "billing_error"
    assert "key_limit_exceeded" in error["error"]["message"]
    # A free model costs nothing, so a spent-out key may still use it.
    free = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
        timeout=30,
    )
    assert free.status_code == 200


def test_without_max_tokens_the_answer_is_capped_to_what_the_key_has_left(make_key, key_row, live):
    _user, key_id, key = make_key(credits=100, limit="0.5")  # $0.005: ~350 output tokens of gpt-5.2
    response = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert settled_key(key_row, key_id).spent <= 500_000


def test_a_model_outside_the_allowlist_is_refused_naming_it(make_key, live):
    _user, _key_id, key = make_key(models="lumyx-local,gpt-5.2")
    headers = {"Authorization": f"Bearer {key}"}
    hi = [{"role": "user", "content": "hi"}]
    ok = requests.post(
        live.url + "/v1/chat/completions", json={"model": "lumyx-local", "messages": hi}, headers=headers, timeout=30
    )
    assert ok.status_code == 200
    refused = requests.post(
        live.url + "/api/v1/chat/completions", json={"model": "plain-chat", "messages": hi}, headers=headers, timeout=30
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert (
        error["type"] == "forbidden"
        and "'plain-chat'" in error["message"]
        and "gpt-5.2, lumyx-local" in error["message"]
    )
    anthropic = requests.post(
        live.url + "/v1/messages",
        json={"model": "lumyx-plus_v1", "max_tokens": 50, "messages": hi},
        headers={"x-api-key": key},
        timeout=30,
    )
    assert anthropic.status_code == 403
    assert anthropic.json()["error"]["type"] == "permission_error"
    assert "'lumyx-plus_v1'" in anthropic.json()["error"]["message"]
    responses = requests.post(
        live.url + "/v1/responses", json={"model": "responses-pro", "input": "hi"}, headers=headers, timeout=30
    )
    assert responses.status_code == 403 and "'responses-pro'" in responses.json()["error"]["message"]


def test_an_expired_key_is_refused_from_its_expiry_even_while_cached(app, make_key, live):
    from lumyx.db import db
    from lumyx.db.models import ApiKey
    from lumyx.db.models._types import utcnow

    _user, key_id, key = make_key(expires_days=1)
    with app.app_context():
        db.session.get(ApiKey, key_id).expires_at = utcnow() + timedelta(seconds=3)
        db.session.commit()
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}
    assert requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30).status_code == 200
    time.sleep(3.1)
    for _ in range(4):  # whichever worker answers, cached or not
        response = requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
        assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    anthropic = requests.post(
        live.url + "/v1/messages", json={**body, "max_tokens": 10}, headers={"x-api-key": key}, timeout=30
    )
    assert anthropic.status_code == 401 and anthropic.json()["error"]["type"] == "authentication_error"
    assert requests.get(live.url + "/v1/key", headers=headers, timeout=30).status_code == 401


def test_get_key_reports_spending_and_limits_in_usd(make_key, key_row, live):
    _user, key_id, key = make_key(credits=100, limit="250", models="gpt-5.2", expires_days=30)
    headers = {"Authorization": f"Bearer {key}"}
    before = requests.get(live.url + "/api/v1/key", headers=headers, timeout=30).json()["data"]
    assert before["usage"] == 0 and before["limit"] == 2.5 and before["limit_remaining"] == 2.5
    assert before["label"] == "handed out" and before["is_free_tier"] is False
    assert before["rate_limit"] == {"requests": -1, "interval": "1m"}  # enterprise: unlimited
    assert before["models"] == ["gpt-5.2"] and before["expires_at"].endswith("Z")
    response = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200
    spent = settled_key(key_row, key_id).spent
    assert spent > 0
    after = requests.get(live.url + "/v1/key", headers=headers, timeout=30).json()["data"]
    assert after["usage"] == spent / MICRO_PER_USD
    assert after["limit_remaining"] == (250 * MICRO - spent) / MICRO_PER_USD


def test_get_key_of_a_free_plan_key_without_limits(make_key, live):
    _user, _key_id, key = make_key(credits=0, plan="free")
    response = requests.get(live.url + "/v1/key", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["limit"] is None and data["limit_remaining"] is None and data["usage"] == 0
    assert data["is_free_tier"] is True and data["rate_limit"] == {"requests": 10, "interval": "1m"}
    assert data["expires_at"] is None and data["models"] is None


def test_a_model_nobody_can_serve_answers_503_before_any_balance_check(make_key, live):
    _user, _key_id, broke = make_key(credits=0)
    _user, _key_id, spent_out = make_key(credits=100, limit="0.000001")
    hi = [{"role": "user", "content": "hi"}]
    for key in (broke, spent_out):
        chat = requests.post(
            live.url + "/v1/chat/completions",
            json={"model": "nokey-priced", "messages": hi},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert chat.status_code == 503 and chat.json()["error"]["type"] == "model_unavailable"
        assert "LUMYX_TEST_NEVER_SET_KEY" in chat.json()["error"]["message"]
        messages = requests.post(
            live.url + "/v1/messages",
            json={"model": "nokey-priced", "max_tokens": 10, "messages": hi},
            headers={"x-api-key": key},
            timeout=30,
        )
        assert messages.status_code == 503 and messages.json()["error"]["type"] == "overloaded_error"
    # A model that can serve still says "top up" to the empty account.
    top_up = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "gpt-5.2", "messages": hi},
        headers={"Authorization": f"Bearer {broke}"},
        timeout=30,
    )
    assert top_up.status_code == 402 and top_up.json()["error"]["type"] == "insufficient_credits"


def test_hold_settle_and_janitor_keep_the_keys_books_exact(app, make_key, key_row, books):
    """The statements themselves: a hold counts against the key only when both the
    balance and the limit cover it; settling moves it to spent exactly (a cost beyond
    the hold only as far as the limit allows); the janitor gives a lost worker's hold back."""
    from sqlalchemy import update

    from lumyx.billing import holds, janitor
    from lumyx.db import db
    from lumyx.db.models import Hold
    from lumyx.db.models._types import utcnow

    user_id, key_id, _key = make_key(credits=3, limit="2")

    def hold(amount: int) -> str | None:
        ref = "req_" + uuid.uuid4().hex
        with app.app_context():
            ok = holds.hold(user_id, amount, ref, model_id="gpt-5.2", api_key_id=key_id, key_limited=True)
        return ref if ok else None

    def settle(ref: str, cost: int) -> int:
        row = {"id": ref, "user_id": user_id, "api_key_id": key_id, "model_id": "gpt-5.2", "operation": "chat"}
        with app.app_context():
            return holds.settle_and_record({**row, "created_at": utcnow()}, cost, note=f"gpt-5.2 {ref}")

    first = hold(1_500_000)
    assert first and hold(600_000) is None, "1.5 + 0.6 credits is over the key's 2"
    assert (key_row(key_id).held, books.balance(user_id)) == (1_500_000, (3 * MICRO, 1_500_000))
    second = hold(500_000)
    assert second and hold(1) is None  # the limit is held in full
    assert settle(first, 1_000_000) == 1_000_000
    row = key_row(key_id)
    assert (row.spent, row.held) == (1_000_000, 500_000)
    # A cost beyond the hold: the balance (2 left) could pay 1.2, the limit only 1.0 (2 less 1 spent;
    # nothing else held) -> only the hold is charged.
    assert settle(second, 1_200_000) == 500_000
    row = key_row(key_id)
    assert (row.spent, row.held) == (1_500_000, 0) and row.spent <= row.spend_limit
    # Beyond the hold, within both: charged in full.
    third = hold(200_000)
    assert third and settle(third, 400_000) == 400_000
    assert (key_row(key_id).spent, key_row(key_id).held) == (1_900_000, 0)

    lost = hold(100_000)
    assert lost and key_row(key_id).held == 100_000
    with app.app_context():
        db.session.execute(update(Hold).where(Hold.id == lost).values(seen_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
        janitor.settle_orphans()  # (or a live worker's janitor got there first)
    row = key_row(key_id)
    assert (row.spent, row.held) == (1_900_000, 0)
    assert books.usage(lost).error_code == "worker_lost"
    books.consistent(user_id)
    assert books.balance(user_id)[0] == 3 * MICRO - 1_900_000
