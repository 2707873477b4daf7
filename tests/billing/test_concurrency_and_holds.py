"""Money under concurrency: many simultaneous requests from an account that can
afford only a few never take the balance below zero, never lose a usage row,
and leave a ledger that sums to the balance. Runs on whichever database the
suite runs on (CI: SQLite, then PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tests.support.servers import flask_cli

MICRO = 1_000_000


def settle(user_id: int, ref: str, cost: int, at: datetime | None = None, key_id: int | None = None) -> int:
    """Settles request ``ref`` (of key ``key_id``) as billing does (the hold, the charge, the
    usage row at once)."""
    from lumyx.billing import holds
    from lumyx.db.models._types import utcnow

    row = {
        "id": ref,
        "user_id": user_id,
        "api_key_id": key_id,
        "model_id": "m",
        "operation": "chat",
        "input_tokens": 10,
        "output_tokens": 20,
        "tokens_reported": True,
        "latency_ms": 5,
        "status_code": 200,
        "stream": False,
        "partial": False,
        "thinking_used": False,
        "created_at": at or utcnow(),
    }
    return holds.settle_and_record(row, cost, note=f"m {ref}")


def test_many_simultaneous_requests_on_a_small_balance(make_account, books, live):
    user_id, key = make_account(5)  # each hold is ~1.4 credits: about three fit at once
    body = {
        "model": "gpt-5.2",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hello there [[scenario:slow:300]]"}],
    }

    def one(_):
        response = requests.post(
            live.url + "/v1/chat/completions", json=body, timeout=60, headers={"Authorization": f"Bearer {key}"}
        )
        return response.status_code, response.headers.get("x-request-id")

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(one, range(40)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 402}
    assert statuses.count(200) >= 3 and statuses.count(402) >= 1

    balance, held = books.settled(user_id)
    assert held == 0 and balance >= 0
    rows = {row.id: row for row in books.usage_rows(user_id)}
    assert all(request_id in rows for _, request_id in results), "every request has its usage row"
    charged = [row for row in rows.values() if row.cost]
    assert len(charged) == statuses.count(200)
    usage_entries = [e for e in books.ledger(user_id) if e.kind == "usage"]
    assert sorted(e.ref for e in usage_entries) == sorted(row.id for row in charged)
    assert sum(row.cost for row in rows.values()) == 5 * MICRO - balance
    books.consistent(user_id)


def test_settlement_happens_once(app, make_account, books):
    from lumyx.billing import holds

    user_id, _key = make_account(3)
    ref = "req_" + uuid.uuid4().hex
    with app.app_context():
        assert holds.hold(user_id, 2 * MICRO, ref, model_id="gpt-5.2")
        assert not holds.hold(user_id, 2 * MICRO, "req_" + uuid.uuid4().hex, model_id="gpt-5.2"), (
            "only 1 credit is unreserved"
        )
        assert settle(user_id, ref, 1_500_000) == 1_500_000
        with pytest.raises(IntegrityError):
            settle(user_id, ref, 1_500_000)
    assert books.balance(user_id) == (1_500_000, 0)
    row = books.usage(ref)
    assert (row.cost, row.unpaid, row.input_tokens, row.output_tokens) == (1_500_000, 0, 10, 20)
    books.consistent(user_id)


def test_a_cost_above_the_hold_is_charged_only_from_unreserved_credits(app, make_account, books):
    from lumyx.billing import holds

    user_id, _key = make_account(3)
    first, second = "req_" + uuid.uuid4().hex, "req_" + uuid.uuid4().hex
    with app.app_context():
        assert holds.hold(user_id, 1 * MICRO, first, model_id="m")
        assert holds.hold(user_id, 2 * MICRO, second, model_id="m")
        # The first request turned out dearer than its hold; all else is reserved.
        assert settle(user_id, first, 1_200_000) == 1 * MICRO
        assert settle(user_id, second, 500_000) == 500_000
    assert books.balance(user_id) == (1_500_000, 0)
    assert (books.usage(first).cost, books.usage(first).unpaid) == (1 * MICRO, 200_000)
    books.consistent(user_id)


def test_credits_on_hold_cannot_be_removed(app, make_account, server_env):
    from lumyx.billing import holds
    from lumyx.db import db
    from lumyx.db.models import User

    user_id, _key = make_account(3)
    with app.app_context():
        assert holds.hold(user_id, 2 * MICRO, "req_" + uuid.uuid4().hex, model_id="m")
        email = db.session.get(User, user_id).email
    result = flask_cli(server_env, "add-credits", email, "-2", check=False)
    assert result.returncode != 0 and "below zero" in result.stderr


def test_holds_of_a_stopped_worker_are_released_by_the_janitor(app, make_account, books, server_env):
    from lumyx.billing import holds, janitor
    from lumyx.db import db
    from lumyx.db.models import Hold
    from lumyx.db.models._types import utcnow

    user_id, _key = make_account(4)
    stale, fresh = "req_" + uuid.uuid4().hex, "req_" + uuid.uuid4().hex
    with app.app_context():
        assert holds.hold(user_id, 1 * MICRO, stale, model_id="gpt-5.2")
        assert holds.hold(user_id, 1 * MICRO, fresh, model_id="gpt-5.2")
        db.session.execute(update(Hold).where(Hold.id == stale).values(seen_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
        # The live server's workers run the same janitor every minute and may get there first.
        assert janitor.settle_orphans() in (0, 1)
        assert janitor.settle_orphans() == 0
    assert books.balance(user_id) == (4 * MICRO, 1 * MICRO)
    row = books.usage(stale)
    assert row.error_code == "worker_lost" and row.cost == 0 and row.partial and row.model_id == "gpt-5.2"
    with app.app_context():
        db.session.execute(update(Hold).where(Hold.id == fresh).values(seen_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
    result = flask_cli(server_env, "settle-holds")
    assert re.search(r"released [01] orphaned holds", result.stdout)
    assert books.usage(fresh).error_code == "worker_lost"
    books.consistent(user_id)


def test_a_request_whose_hold_was_lost_is_still_charged_once(app, make_account, books):
    """A hold can be lost in a database crash (holds commit without waiting for the disk)."""
    from lumyx.billing import holds
    from lumyx.db import db
    from lumyx.db.models import Hold

    user_id, _key = make_account(3)
    ref = "req_" + uuid.uuid4().hex
    with app.app_context():
        assert holds.hold(user_id, 1 * MICRO, ref, model_id="m")
        # Lost: the row and the reservation vanish together, as a crash would have it.
        with db.engine.begin() as conn:
            conn.execute(Hold.__table__.delete().where(Hold.id == ref))
            conn.exec_driver_sql(f"UPDATE users SET held = held - {MICRO} WHERE id = {user_id}")
        assert settle(user_id, ref, 700_000) == 700_000
        with pytest.raises(IntegrityError):
            settle(user_id, ref, 0)
    assert books.balance(user_id) == (3 * MICRO - 700_000, 0)
    books.consistent(user_id)


def test_a_settled_request_and_a_free_one_of_the_same_hour_share_its_rollup(app, make_account):
    """Settlements and free requests write their rows by different paths; the hour is one."""
    from lumyx.billing import holds
    from lumyx.db import db
    from lumyx.db.models import UsageHourly
    from lumyx.usage import recording as usage

    user_id, _key = make_account(3)
    ref, at = "req_" + uuid.uuid4().hex, datetime(2026, 3, 1, 10, 30, 5)
    with app.app_context():
        assert holds.hold(user_id, MICRO, ref, model_id="m")
        assert settle(user_id, ref, 300_000, at=at) == 300_000
        with db.engine.begin() as conn:
            usage.record(
                conn,
                {
                    "id": "req_" + uuid.uuid4().hex,
                    "user_id": user_id,
                    "model_id": "m",
                    "operation": "chat",
                    "input_tokens": 1,
                    "output_tokens": 2,
                    "latency_ms": 7,
                    "created_at": at.replace(minute=59),
                },
            )
        hours = db.session.execute(select(UsageHourly).where(UsageHourly.user_id == user_id)).scalars().all()
        assert [
            (h.hour, h.model_id, h.requests, h.prompt_tokens, h.completion_tokens, h.cost, h.latency_ms) for h in hours
        ] == [(datetime(2026, 3, 1, 10), "m", 2, 11, 22, 300_000, 12)]


def test_a_hold_and_a_settlement_on_one_key_do_not_deadlock(app, make_account, books, server_env):
    """A hold has reserved the account's balance and inserts its row (whose key the
    database checks) while a settlement of the same key has the key's row and waits
    for the account's: both finish, in that order."""
    if not server_env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("the rows of a SQLite database are not locked one by one")
    import threading

    from sqlalchemy import create_engine, text

    from lumyx.billing import holds
    from lumyx.db import db
    from lumyx.db.models import ApiKey

    user_id, _key = make_account(3)
    first, second = "req_" + uuid.uuid4().hex, "req_" + uuid.uuid4().hex
    with app.app_context():
        key_id = db.session.execute(select(ApiKey.id).where(ApiKey.user_id == user_id)).scalar_one()
        assert holds.hold(user_id, 1 * MICRO, first, model_id="m", api_key_id=key_id)
    engine = create_engine(server_env["DATABASE_URL"])
    settled: list = []
    with engine.connect() as holding:
        # The second hold's first step: the account's row, reserved.
        holding.execute(text("UPDATE users SET held = held + 1000000 WHERE id = :u"), {"u": user_id})

        def settle_first():
            with app.app_context():
                try:
                    settled.append(settle(user_id, first, 400_000, key_id=key_id))
                except Exception as exc:  # the assertion below names it
                    settled.append(exc)

        settling = threading.Thread(target=settle_first)
        settling.start()
        settling.join(0.5)
        assert settling.is_alive(), "the settlement waits for the account's row"
        # Its second step: the hold's row, naming the key the settlement has locked.
        holding.execute(
            text(
                "INSERT INTO holds (id, user_id, api_key_id, model_id, amount, created_at, seen_at) "
                "VALUES (:ref, :u, :k, 'm', 1000000, now(), now())"
            ),
            {"ref": second, "u": user_id, "k": key_id},
        )
        holding.commit()
        settling.join(10)
    engine.dispose()
    assert settled == [400_000]
    with app.app_context():
        assert settle(user_id, second, 300_000, key_id=key_id) == 300_000
    assert books.balance(user_id) == (2_300_000, 0)
    books.consistent(user_id)


def test_the_janitor_passes_over_a_hold_being_settled_instead_of_waiting_for_it(app, make_account, server_env):
    """A key's settlements go in one transaction, which locks each of their holds' rows
    in turn; the janitor marking the worker's holds alive must not wait on one of them
    while holding another (that would be a deadlock)."""
    if not server_env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("the rows of a SQLite database are not locked one by one")
    import threading

    from sqlalchemy import create_engine, text

    from lumyx.billing import holds, janitor
    from lumyx.db import db
    from lumyx.db.models import Hold
    from lumyx.db.models._types import utcnow

    user_id, _key = make_account(3)
    settling, alive = "req_" + uuid.uuid4().hex, "req_" + uuid.uuid4().hex
    long_ago = utcnow() - timedelta(minutes=3)
    with app.app_context():
        for ref in (settling, alive):
            assert holds.hold(user_id, 1 * MICRO, ref, model_id="m")
        db.session.execute(update(Hold).where(Hold.id.in_([settling, alive])).values(seen_at=long_ago))
        db.session.commit()
    engine = create_engine(server_env["DATABASE_URL"])
    refreshed: list = []
    with engine.connect() as settlement:
        settlement.execute(text("DELETE FROM holds WHERE id = :ref"), {"ref": settling})  # not committed yet

        def refresh():
            with app.app_context():
                holds.track(settling)
                holds.track(alive)
                try:
                    janitor.refresh_in_flight()
                    refreshed.append(True)
                finally:
                    holds.untrack(settling)
                    holds.untrack(alive)

        refreshing = threading.Thread(target=refresh)
        refreshing.start()
        refreshing.join(3)
        assert not refreshing.is_alive() and refreshed == [True], "the janitor did not wait for the settlement"
        settlement.rollback()
    engine.dispose()
    with app.app_context():
        seen = dict(db.session.execute(select(Hold.id, Hold.seen_at).where(Hold.id.in_([settling, alive]))).all())
        db.session.rollback()
    assert seen[alive] > long_ago and seen[settling] == long_ago
