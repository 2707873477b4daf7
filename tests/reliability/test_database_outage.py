"""The database going away briefly: clear 503s at once, not hangs, and service
resumes by itself. (PostgreSQL runs; an SQLite file cannot go away.)"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import orjson
import pytest
import requests

from tests.support.servers import LiveServer, free_port


class CuttableProxy:
    """A TCP forwarder in front of PostgreSQL that a test can cut and restore."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept thread, which lets go of the port
        except OSError:
            pass
        self._listener.close()
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def behind_proxy(database, app, server_env, tmp_path):
    """A one-worker server reaching PostgreSQL through a CuttableProxy, and a key for it."""
    if database.kind != "postgresql":
        pytest.skip("runs on PostgreSQL: an SQLite file does not go away")
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"outage-{uuid.uuid4().hex[:8]}@example.com",
            "correct horse battery",
            plan="enterprise",
            credits_micro=10_000_000,
        )
        key = keys.create_key(user)[1]
        user_id = user.id
    host_port = database.url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = CuttableProxy((host, int(port or 5432)))
    env = {**server_env, "DATABASE_URL": database.url.replace(host_port, f"127.0.0.1:{proxy.port}")}
    server = LiveServer(env, tmp_path / "gunicorn.log", workers=1)

    def chat() -> requests.Response:
        return requests.post(
            server.url + "/v1/chat/completions",
            timeout=30,
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]},
        )

    def recorded(request_ids: list[str]) -> int:
        from sqlalchemy import func, select

        from lumyx.db import db
        from lumyx.db.models import UsageRecord

        with app.app_context():
            return db.session.scalar(select(func.count()).where(UsageRecord.id.in_(request_ids)))

    chat.key, chat.user_id = key, user_id
    try:
        yield proxy, server, chat, recorded
    finally:
        server.stop()
        proxy.cut()


def test_postgres_outage_gives_503s_and_service_resumes(behind_proxy):
    proxy, server, chat, _recorded = behind_proxy
    assert chat().ok
    proxy.cut()
    for _ in range(3):
        started = time.monotonic()
        response = chat()
        assert response.status_code == 503, response.text
        assert response.json()["error"]["type"] == "service_unavailable"
        assert response.headers["retry-after"] == "5"
        assert time.monotonic() - started < 8, "an outage answers at once, it does not hang"
    proxy.restore()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = chat()
        if response.status_code == 200:
            break
        time.sleep(0.5)
    assert response.status_code == 200, "service resumes by itself"
    assert "Traceback" not in server.logs()


def _ready_becomes(url: str, status: int, seconds: float = 20) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = requests.get(url + "/v1/health/ready", timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_readiness_fails_while_the_database_is_away_and_liveness_does_not(behind_proxy):
    proxy, server, chat, _recorded = behind_proxy
    assert _ready_becomes(server.url, 200).status_code == 200
    proxy.cut()
    try:
        ready = _ready_becomes(server.url, 503)
        assert ready.status_code == 503
        assert ready.json() == {"status": "not_ready", "reason": "database_unreachable"}
        assert requests.get(server.url + "/v1/health/live", timeout=10).status_code == 200
    finally:
        proxy.restore()
    assert _ready_becomes(server.url, 200).json() == {"status": "ready"}


def test_pooled_connections_dropped_while_idle_cost_no_request_an_error(behind_proxy):
    proxy, server, chat, recorded = behind_proxy

    def settled(request_ids: list[str]) -> int:  # usage rows are written once the answer is out
        deadline = time.monotonic() + 5
        while recorded(request_ids) < len(request_ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return recorded(request_ids)

    assert settled([chat().headers["x-request-id"]]) == 1
    proxy.cut()  # every pooled connection is dropped...
    proxy.restore()  # ...while the database itself stays up
    time.sleep(1.5)  # and they sit idle in the pool
    request_ids = []
    for _ in range(3):
        response = chat()
        assert response.status_code == 200, response.text
        request_ids.append(response.headers["x-request-id"])
    assert settled(request_ids) == 3, "every request got its usage row"
    assert "unreachable" not in server.logs() and "Traceback" not in server.logs()


def test_a_request_answered_while_the_database_is_away_is_charged_once_it_is_back(behind_proxy, app):
    """The database goes away in the middle of a paid stream: the client still gets
    its whole answer, the settlement waits in the journal, and once the database is
    back the request is charged exactly once and recorded as what it was."""
    from datetime import timedelta

    from sqlalchemy import select

    from lumyx.billing import janitor, journal
    from lumyx.db import db
    from lumyx.db.models import Hold, LedgerEntry, UsageRecord, User

    proxy, server, chat, recorded = behind_proxy
    with app.app_context():
        before = db.session.get(User, chat.user_id).balance
        db.session.rollback()
    answer = requests.post(
        server.url + "/v1/chat/completions",
        stream=True,
        timeout=30,
        headers={"Authorization": f"Bearer {chat.key}"},
        json={
            "model": "gpt-5.2",
            "max_tokens": 200,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "a b c d e f [[scenario:long:60,stall:2500]]"}],
        },
    )
    assert answer.status_code == 200
    request_id = answer.headers["x-request-id"]
    lines = answer.iter_lines()
    next(lines)  # the stream is under way (its hold made) ...
    proxy.cut()  # ... when the database goes away
    events = [orjson.loads(line[6:]) for line in lines if line.startswith(b"data: {")]
    usage = next(event["usage"] for event in events if event.get("usage"))
    finish_reason = next(c["finish_reason"] for e in events for c in e["choices"] if c.get("finish_reason"))

    deadline = time.monotonic() + 10
    while "kept in the journal" not in server.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "kept in the journal" in server.logs()
    with app.app_context():  # (this process still reaches the database directly)
        assert request_id in journal.pending_ids()
        janitor.settle_orphans(timedelta(0))  # another worker's janitor: leaves the hold alone
        assert db.session.get(Hold, request_id) is not None
        assert db.session.get(UsageRecord, request_id) is None
        db.session.rollback()

    time.sleep(3)  # the database stays away through a few retries
    proxy.restore()
    deadline = time.monotonic() + 20
    while recorded([request_id]) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert recorded([request_id]) == 1, "settled once the database is back"
    with app.app_context():
        row = db.session.get(UsageRecord, request_id)
        cost = -(-(usage["prompt_tokens"] * 175_000_000 + usage["completion_tokens"] * 1_400_000_000) // 1_000_000)
        assert (row.status_code, row.error_code, row.partial, row.stream) == (200, None, False, True)
        assert row.finish_reason == finish_reason and row.first_token_ms is not None
        assert (row.input_tokens, row.output_tokens, row.cost) == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
            cost,
        )
        charges = db.session.scalars(select(LedgerEntry.amount).where(LedgerEntry.ref == request_id)).all()
        assert charges == [-cost], "charged exactly once"
        assert db.session.get(User, chat.user_id).balance == before - cost
        assert db.session.get(Hold, request_id) is None
        db.session.rollback()
    assert request_id not in journal_ids(app)
    generation = requests.get(
        server.url + "/api/v1/generation",
        params={"id": "chatcmpl-" + request_id.removeprefix("req_")},
        headers={"Authorization": f"Bearer {chat.key}"},
        timeout=10,
    )
    assert generation.status_code == 200 and generation.json()["data"]["total_cost"] == cost / 100_000_000
    assert "Traceback" not in server.logs()


def journal_ids(app) -> set[str]:
    from lumyx.billing import journal

    with app.app_context():
        return journal.pending_ids()
