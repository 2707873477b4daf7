"""A PostgreSQL server at max_connections: a new pooled connection waits for a
slot to come free (as one does when another worker's burst ends) instead of
failing at once, and fails with the server's own error once the connect timeout
has passed."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's max_connections"
)


@pytest.fixture
def full_server():
    """Every connection slot of the server taken; yields the list holding them."""
    import psycopg

    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    taken = []

    def take_the_free_slots() -> int:
        before = len(taken)
        while True:
            try:
                taken.append(psycopg.connect(url, connect_timeout=3))
            except psycopg.OperationalError as exc:
                assert "too many clients" in str(exc) or "slots are reserved" in str(exc)
                return len(taken) - before

    try:
        take_the_free_slots()
        # A server process of a connection closed just before (the last test's, another
        # client's) holds its slot until it has exited: those slots are taken too.
        while True:
            time.sleep(0.3)
            if not take_the_free_slots():
                break
        yield taken
    finally:
        for conn in taken:
            conn.close()


def engine(connect_timeout: int):
    return create_engine(
        os.environ["DATABASE_URL"], connect_args={"connect_timeout": connect_timeout}, pool_size=1, max_overflow=0
    )


def test_a_connection_waits_for_a_slot_freed_by_another_client(full_server):
    freed = threading.Timer(0.3, full_server.pop().close)
    freed.start()
    started = time.monotonic()
    try:
        with engine(3).connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        freed.join()
    assert time.monotonic() - started >= 0.3, "connected only once a slot was free"


def test_a_server_that_stays_full_is_an_error_after_the_connect_timeout(full_server):
    started = time.monotonic()
    with pytest.raises(OperationalError, match="too many clients|slots are reserved"):
        engine(1).connect()
    assert 1.0 <= time.monotonic() - started < 2.0
