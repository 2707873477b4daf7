"""Several gateway instances behind a real haproxy (Debian's; `make haproxy`
installs it) that checks each instance's ``/v1/health/ready`` as the README's
rolling-restart recipe configures it, and a steady load of clients through it."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.servers import LiveServer, free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

CONFIG = """
global
    maxconn 1024
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    retries 3
    retry-on conn-failure empty-response
    option redispatch 1

frontend lumyx
    bind 127.0.0.1:{port}
    default_backend lumyx

backend lumyx
    balance roundrobin
    option httpchk GET /v1/health/ready
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


class Haproxy:
    """haproxy on a free port, in front of ``backends`` ({name: port})."""

    def __init__(self, backends: dict[str, int], logs: Path) -> None:
        if not Path(HAPROXY).exists():
            raise AssertionError("haproxy is missing: run `make haproxy`")
        self.port, self.stats_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"    server {name} 127.0.0.1:{port} check" for name, port in backends.items())
        config = logs / "haproxy.cfg"
        config.write_text(CONFIG.format(port=self.port, stats_port=self.stats_port, servers=servers))
        self._log = open(logs / "haproxy.log", "ab")
        self.proc = subprocess.Popen([HAPROXY, "-f", str(config), "-db"], stdout=self._log, stderr=subprocess.PIPE)
        self.wait_until(lambda states: all(state == "UP" for state in states.values()), "every instance up")

    def states(self) -> dict[str, str]:
        """Each backend server's state as haproxy sees it ("UP", "DOWN", "UP 1/2"…)."""
        text = requests.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2).text
        lines = text.lstrip("# ").splitlines()
        header = lines[0].split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "lumyx" and row.get("svname") not in ("FRONTEND", "BACKEND"):
                states[row["svname"]] = row["status"]
        return states

    def wait_until(self, condition, what: str, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("haproxy exited: " + self.proc.stderr.read().decode(errors="replace"))
            try:
                if condition(self.states()):
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"haproxy: not {what} in {seconds} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._log.close()


class SteadyLoad:
    """``clients`` threads sending ``send()`` back to back until ``stop()``; each
    answer's status (or the exception's name) and request id is kept."""

    def __init__(self, send, clients: int = 8) -> None:
        self.send = send
        self.results: list[tuple[int | str, str | None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                status, request_id = self.send()
            except requests.RequestException as exc:
                status, request_id = type(exc).__name__, None
            with self._lock:
                self.results.append((status, request_id))

    def stop(self) -> list[tuple[int | str, str | None]]:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self.results


def books_of(app, user_id: int) -> dict:
    """What the database holds of an account: balance, held, holds, ledger sum, usage rows."""
    from sqlalchemy import func, select

    from lumyx.db import db
    from lumyx.db.models import Hold, LedgerEntry, UsageRecord, User

    with app.app_context():
        user = db.session.get(User, user_id)
        books = {
            "balance": user.balance,
            "held": user.held,
            "holds": db.session.scalar(select(func.count()).select_from(Hold).where(Hold.user_id == user_id)),
            "ledger": db.session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.user_id == user_id)
            ),
            "usage": {
                row.id: row for row in db.session.scalars(select(UsageRecord).where(UsageRecord.user_id == user_id))
            },
        }
        db.session.expunge_all()
        return books


def settled_books(app, user_id: int, seconds: float = 15, requests: Iterable[str] = ()) -> dict:
    """The account's books once no hold is left and each of ``requests`` has its usage row
    (waits up to ``seconds``: a settlement that found the database unreachable is kept in
    the worker's journal and made a moment later)."""
    deadline, requests = time.monotonic() + seconds, set(requests)
    while True:
        books = books_of(app, user_id)
        settled = books["held"] == 0 and books["holds"] == 0 and requests <= books["usage"].keys()
        if settled or time.monotonic() > deadline:
            return books
        time.sleep(0.1)


@contextmanager
def two_instances(env: dict, logs: Path) -> Iterator[tuple[Haproxy, dict[str, LiveServer]]]:
    """Two instances ("one", "two") of two workers each on ``env``, behind haproxy."""
    instances = {name: LiveServer(env, logs / f"{name}.log", workers=2, wait=False) for name in ("one", "two")}
    for server in instances.values():
        server.wait_healthy()
    proxy = Haproxy({name: server.port for name, server in instances.items()}, logs)
    try:
        yield proxy, instances
    finally:
        proxy.stop()
        for server in instances.values():
            if server.proc.poll() is None:
                server.stop()
