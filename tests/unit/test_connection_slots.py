"""A PostgreSQL server at max_connections: a new pooled connection waits for a
slot to come free (as one does when another worker's burst ends) instead of
failing at once, and fails with the server's own error once the connect timeout
has passed. The server is one of this module's own, with five slots: on a server
other clients share, any of them may free a slot while a test holds them all."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's max_connections"
)

SLOTS = 5


def _server_programs() -> Path | None:
    """The folder of initdb and pg_ctl: on the PATH, or where Debian puts them."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return installed[-1].parent if installed else None


@pytest.fixture(scope="module")
def own_server():
    """A PostgreSQL server of its own on 127.0.0.1 (trust auth, SLOTS connection slots);
    yields its address for psycopg."""
    programs = _server_programs()
    if programs is None:
        pytest.skip("no PostgreSQL server programs (initdb, pg_ctl) on this machine")
    data = Path(tempfile.mkdtemp(prefix="lumyx-pg-slots-"))
    as_owner = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*as_owner, *args], check=True, capture_output=True, timeout=60)

    port = free_port()
    settings = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data}"
        f" -c max_connections={SLOTS} -c superuser_reserved_connections=0 -c fsync=off"
    )
    try:
        run(str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(str(programs / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-o", settings, "-w", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], timeout=60)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def full_server(own_server):
    """Every connection slot of the server taken; yields the list holding them."""
    import psycopg

    # The server processes of the last test's connections exit after those closed: each
    # holds its slot until then.
    others = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(own_server, connect_timeout=3) as probe:
                if not probe.execute(others).fetchone()[0]:
                    break
        except psycopg.OperationalError:
            pass
        assert time.monotonic() < deadline, "the last test's connections are still open"
        time.sleep(0.02)
    taken = []
    try:
        for _ in range(SLOTS):
            taken.append(psycopg.connect(own_server, connect_timeout=3))
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            psycopg.connect(own_server, connect_timeout=3)
        yield taken
    finally:
        for conn in taken:
            conn.close()


@contextlib.contextmanager
def engine(url: str, connect_timeout: int):
    """An engine as the app makes them, closed (its connection too) when done."""
    made = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"connect_timeout": connect_timeout},
        pool_size=1,
        max_overflow=0,
    )
    try:
        yield made
    finally:
        made.dispose()


def test_a_connection_waits_for_a_slot_freed_by_another_client(own_server, full_server):
    freed = threading.Timer(0.3, full_server.pop().close)
    freed.start()
    started = time.monotonic()
    try:
        with engine(own_server, 3) as waiting, waiting.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        freed.join()
    assert time.monotonic() - started >= 0.3, "connected only once a slot was free"


def test_a_server_that_stays_full_is_an_error_after_the_connect_timeout(own_server, full_server):
    with engine(own_server, 1) as refused:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="too many clients"):
            refused.connect()
    assert 1.0 <= time.monotonic() - started < 2.0
