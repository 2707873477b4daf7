"""The settlement journal: a settlement that finds the database unreachable is kept
on disk and made once the database is back — charged once, recorded as what it
was — and the janitor never releases its hold meanwhile. (The same against a
real PostgreSQL outage: tests/reliability/test_database_outage.py.)"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

MICRO = 1_000_000


def _row(user_id: int, request_id: str, created_at) -> dict:
    return {
        "id": request_id,
        "user_id": user_id,
        "api_key_id": None,
        "model_id": "gpt-5.2",
        "provider_id": "fake-openai",
        "operation": "chat",
        "input_tokens": 1200,
        "output_tokens": 345,
        "reasoning_tokens": 0,
        "cached_tokens": 0,
        "tokens_reported": True,
        "cost": 0,
        "unpaid": 0,
        "latency_ms": 812,
        "status_code": 200,
        "error_code": None,
        "stream": True,
        "partial": False,
        "thinking_used": False,
        "created_at": created_at,
        "upstream_model": "upstream-gpt",
        "upstream_id": "chatcmpl-upstream",
        "finish_reason": "stop",
        "native_finish_reason": "stop",
        "first_token_ms": 120,
    }


@pytest.fixture
def down_for(monkeypatch):
    """down_for(request_id): the database is "unreachable" for that request's settlement."""
    from lumyx.billing import holds

    real = holds.settle_and_record
    down: set[str] = set()

    def settle_and_record(row, cost, note):
        if row["id"] in down:
            raise OperationalError("settle", {}, ConnectionRefusedError("the database is down"))
        return real(row, cost, note)

    monkeypatch.setattr(holds, "settle_and_record", settle_and_record)
    return down


def _held_request(app, user_id: int, amount: int) -> str:
    from lumyx.billing import holds

    request_id = "req_" + uuid.uuid4().hex
    with app.app_context():
        assert holds.hold(user_id, amount, request_id, model_id="gpt-5.2")
    holds.track(request_id)
    return request_id


def _ledger(app, request_id: str) -> list:
    from lumyx.db import db
    from lumyx.db.models import LedgerEntry

    with app.app_context():
        return list(db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.ref == request_id)))


def test_a_settlement_kept_while_the_database_is_away_is_made_once_it_is_back(app, make_account, books, down_for):
    from lumyx.billing import janitor, journal, settlement
    from lumyx.billing.admission import Admission
    from lumyx.db.models._types import utcnow

    user_id, _key = make_account(10)
    request_id = _held_request(app, user_id, 2 * MICRO)
    row = _row(user_id, request_id, utcnow())
    cost = 7_043_000  # what the request cost, µcr
    down_for.add(request_id)
    with app.app_context():
        settlement.settle(Admission(hold=2 * MICRO), dict(row), cost, answered=True)
        assert request_id in journal.pending_ids(), "kept in the journal, on disk"
        # The janitor, even told every hold is orphaned, leaves a journaled one alone.
        janitor.settle_orphans(timedelta(0))
    assert books.usage(request_id) is None and len(books.holds(user_id)) == 1
    assert books.balance(user_id) == (10 * MICRO, 2 * MICRO)
    assert request_id in janitor.holds.tracked(), "this worker keeps the hold alive"

    down_for.clear()  # the database is back
    with app.app_context():
        assert settlement.replay_journal() >= 1
        assert request_id not in journal.pending_ids()
        assert settlement.replay_journal() == 0, "nothing left to make"
    recorded = books.usage(request_id)
    assert recorded.cost == cost and recorded.unpaid == 0, "charged what it cost, beyond its hold"
    assert (recorded.status_code, recorded.stream, recorded.finish_reason) == (200, True, "stop")
    assert (recorded.input_tokens, recorded.output_tokens, recorded.latency_ms) == (1200, 345, 812)
    assert recorded.created_at == row["created_at"], "recorded as what it was, when it was"
    assert books.balance(user_id) == (10 * MICRO - cost, 0)
    assert _ledger(app, request_id) == [-cost]
    assert request_id not in janitor.holds.tracked()
    books.consistent(user_id)


def test_a_stopped_workers_journal_is_made_by_another_once_and_deleted(app, make_account, books):
    from lumyx.billing import journal, settlement
    from lumyx.db.models._types import utcnow

    user_id, _key = make_account(10)
    held = _held_request(app, user_id, 3 * MICRO)
    free = "req_" + uuid.uuid4().hex
    entries = [
        {"row": _row(user_id, held, utcnow()), "cost": 1_500_000, "held": True, "free_day": None, "answered": True},
        {"row": _row(user_id, held, utcnow()), "cost": 1_500_000, "held": True, "free_day": None, "answered": True},
        {
            "row": {**_row(user_id, free, utcnow()), "model_id": "lumyx-local"},
            "cost": 0,
            "held": False,
            "free_day": None,
            "answered": True,
        },
    ]
    with app.app_context():
        where = journal.directory()
    where.mkdir(parents=True, exist_ok=True)
    stopped = where / f"999999-{uuid.uuid4().hex[:8]}.jsonl"  # no process holds its lock
    stopped.write_bytes(b"".join(orjson.dumps(entry) + b"\n" for entry in entries) + b'{"row": {"id": "torn')
    with app.app_context():
        settlement.replay_journal()
    deadline = time.monotonic() + 10  # (a live server's workers on this database may make it first)
    while stopped.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stopped.exists(), "made, then deleted"
    assert books.usage(held).cost == 1_500_000 and books.usage(free).model_id == "lumyx-local"
    assert _ledger(app, held) == [-1_500_000], "the same settlement twice: charged once"
    assert books.balance(user_id) == (10 * MICRO - 1_500_000, 0)
    books.consistent(user_id)


def test_a_live_workers_journal_is_left_to_it(app, tmp_path):
    import fcntl

    from lumyx.billing import journal

    with app.app_context():
        where = journal.directory()
    where.mkdir(parents=True, exist_ok=True)
    alive = where / f"{os.getpid()}-live{uuid.uuid4().hex[:4]}.jsonl"
    alive.write_bytes(b"")
    fd = os.open(alive, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as its worker holds it
        with app.app_context():
            assert journal.replay(lambda entry: pytest.fail("a live worker's entry was made by another")) == 0
        assert alive.exists()
    finally:
        os.close(fd)
        alive.unlink()
