"""On PostgreSQL a call is settled beside its connection (lumyx.billing.beside):
once the client has its answer, a kept-alive connection reads and serves its next
request at once, even while the last call's settlement still waits for the
database; the settlement is made as soon as the database lets it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import pytest
import requests

from tests.conftest import _new_account
from tests.support.servers import LiveServer

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="settled beside on PostgreSQL"
    ),
]

UPSTREAM_S = 1.5  # the stand-in's answer takes this long ([[scenario:slow:…]])


def connect(server_env):
    import psycopg

    return psycopg.connect(server_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))


def usage_cost(server_env, request_id: str):
    with connect(server_env) as conn:
        row = conn.execute("SELECT cost FROM usage_records WHERE id = %s", (request_id,)).fetchone()
    return None if row is None else row[0]


@contextlib.contextmanager
def account_row_locked(server_env, user_id: int):
    """The account's row locked by another connection from ``UPSTREAM_S / 3`` s on (after a
    call made now took its hold, before its answer) until the block ends; yields the event
    set once it is locked."""
    locked, release = threading.Event(), threading.Event()

    def lock_the_account_row() -> None:
        time.sleep(UPSTREAM_S / 3)
        with connect(server_env) as conn:
            conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
            locked.set()
            release.wait(10)
            conn.rollback()

    locker = threading.Thread(target=lock_the_account_row)
    locker.start()
    try:
        yield locked
    finally:
        release.set()
        locker.join()


def test_the_next_request_on_a_connection_does_not_wait_for_the_last_settlement(live, account, server_env):
    user_id, _email, key = account
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}"}
    with account_row_locked(server_env, user_id) as locked:
        answer = session.post(
            live.url + "/v1/chat/completions",
            headers=headers,
            json={
                "model": "gpt-5.2",
                "messages": [{"role": "user", "content": f"hi [[scenario:slow:{UPSTREAM_S * 1000:.0f}]]"}],
            },
            timeout=30,
        )
        assert answer.status_code == 200 and locked.is_set()
        request_id = answer.headers["x-request-id"]

        started = time.monotonic()
        models = session.get(live.url + "/v1/models", headers=headers, timeout=30)
        waited = time.monotonic() - started
        assert models.status_code == 200
        assert waited < 1.0, f"the next request waited {waited:.2f} s for the last call's settlement"
        assert usage_cost(server_env, request_id) is None, "the settlement is still waiting for the account's row"

    deadline = time.monotonic() + 5
    while (cost := usage_cost(server_env, request_id)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cost is not None and cost > 0, "settled, and charged, once the row was free"


def test_one_request_after_another_never_finds_the_last_hold_still_taken(live, app):
    """A balance that covers one request's hold but not two: a client sending its
    requests one after another on a kept-alive connection gets every one answered,
    though each arrives while the last one's settlement may still be running."""
    # gpt-5.2 at 14 credits a million output tokens: a hold of max_tokens 1,000 is about 1.4
    # credits, each answer costs a few hundredths.
    _user_id, _email, key = _new_account(app, "one-by-one", 2, "test")
    session = requests.Session()
    statuses = [
        session.post(
            live.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-5.2", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        ).status_code
        for _ in range(10)
    ]
    assert statuses == [200] * 10


def test_a_quick_stop_still_settles_the_calls_already_answered(app, server_env, tmp_path):
    """SIGQUIT cuts off what is in flight, but a call whose answer the client has is
    finished before the worker exits: settled (held up here by a lock on the account's
    row), logged, and its span exported (tests/api/test_traces.py)."""
    user_id, _email, key = _new_account(app, "quick-stop", 10, "test")
    server = LiveServer(server_env, tmp_path / "gunicorn.log", workers=1)
    try:
        with account_row_locked(server_env, user_id) as locked:
            answer = requests.post(
                server.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "model": "gpt-5.2",
                    "messages": [{"role": "user", "content": f"hi [[scenario:slow:{UPSTREAM_S * 1000:.0f}]]"}],
                },
                timeout=30,
            )
            assert answer.status_code == 200 and locked.is_set()
            server.proc.send_signal(signal.SIGQUIT)
            time.sleep(1.5)  # gunicorn's quick stop alone is over in about 1 s
            assert server.proc.poll() is None, "the worker waits for the settlement it is making"
        server.proc.wait(timeout=30)
    finally:
        server.stop()  # the server gone already, or the test failed on the way
    request_id = answer.headers["x-request-id"]
    assert (usage_cost(server_env, request_id) or 0) > 0
    assert f"{request_id} chat gpt-5.2" in (tmp_path / "gunicorn.log").read_text(), "the call's log line"
    with connect(server_env) as conn:
        assert conn.execute("SELECT held FROM users WHERE id = %s", (user_id,)).fetchone() == (0,)
