"""The driver connections of the hot path's writes: reused one transaction at a
time, another taken while one is busy but never beyond the pool's size,
replaced after a failure, and kept after a duplicate (which only means the work
was done already)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError, TimeoutError

from lumyx.db.driver import DriverConnections as _Connections


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    return engine


def test_one_connection_serves_transactions_in_turn_and_another_opens_while_it_is_busy(engine):
    connections = _Connections()
    with connections.connection(engine) as first:
        with connections.connection(engine) as second:
            assert second is not first
    with connections.connection(engine) as again:
        assert again in (first, second)
    assert len(connections.idle) == 2


def test_a_failure_closes_the_connection_and_a_duplicate_does_not(engine):
    connections = _Connections()
    with pytest.raises(IntegrityError):
        with connections.connection(engine) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.commit()
            try:
                conn.execute("INSERT INTO t VALUES (1)")
            except Exception as exc:
                raise IntegrityError("insert", {}, exc) from exc
    with connections.connection(engine) as kept:
        assert kept is conn
    with pytest.raises(OperationalError):
        with connections.connection(engine) as broken:
            raise OperationalError("select", {}, Exception("server closed the connection"))
    with connections.connection(engine) as fresh:
        assert fresh is not broken
        assert fresh.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_new_engine_gets_connections_of_its_own(engine, tmp_path):
    connections = _Connections()
    with connections.connection(engine) as old:
        pass
    other = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with connections.connection(other) as new:
        assert new is not old
    assert [pooled.driver_connection for pooled, _since in connections.idle] == [new]


def test_they_count_against_the_pool_and_wait_for_it(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'small.db'}", pool_size=1, max_overflow=0, pool_timeout=0.2)
    connections = _Connections()
    with connections.connection(engine):
        with pytest.raises(TimeoutError):
            with connections.connection(engine):
                pass
    with connections.connection(engine):  # the one in use went back to the list
        pass


def test_a_worker_writes_on_at_most_at_once_connections_and_the_next_write_waits_its_turn(engine, monkeypatch):
    import threading

    from lumyx.db import driver

    monkeypatch.setattr(driver, "AT_ONCE", 2)
    connections = _Connections()
    opened, order = set(), []
    release = threading.Event()

    def write(n: int) -> None:
        with connections.connection(engine) as conn:
            opened.add(id(conn))
            order.append(n)
            if n < 2:
                release.wait(5)

    first = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in first:
        thread.start()
    while len(order) < 2:
        threading.Event().wait(0.01)
    third = threading.Thread(target=write, args=(2,))
    third.start()
    third.join(0.3)
    assert third.is_alive() and sorted(order) == [0, 1], "the third waits while two are in use"
    release.set()
    for thread in [*first, third]:
        thread.join(5)
    assert sorted(order) == [0, 1, 2] and len(opened) == 2, "it wrote on one of the two, no third was opened"


def test_a_write_waits_for_its_turn_no_longer_than_the_pool_would(tmp_path, monkeypatch):
    from lumyx.db import driver

    monkeypatch.setattr(driver, "AT_ONCE", 1)
    engine = create_engine(f"sqlite:///{tmp_path / 'wait.db'}", pool_timeout=0.2)
    connections = _Connections()
    with connections.connection(engine):
        with pytest.raises(TimeoutError):
            with connections.connection(engine):
                pass


def test_a_database_that_cannot_be_reached_raises_sqlalchemys_error():
    """So that the API answers 503 (errors.DATABASE_DOWN), not 500."""
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    with pytest.raises(OperationalError):
        with _Connections().connection(engine):
            pass


def test_turns_pass_in_the_order_they_were_asked_for():
    """A turn given back goes to the first in line, never to a newcomer."""
    import threading

    from lumyx.db.driver import Turns

    turns = Turns(1)
    assert turns.acquire(timeout=1)
    order = []

    def wait_then_note(n: int) -> None:
        assert turns.acquire(timeout=5)
        order.append(n)
        turns.release()

    waiting = []
    for n in range(5):
        waiting.append(threading.Thread(target=wait_then_note, args=(n,)))
        waiting[-1].start()
        while len(turns.waiting) <= n:  # in line before the next comes
            threading.Event().wait(0.002)
    turns.release()
    assert not turns.acquire(timeout=0), "the turn given back went to the first in line, not to a newcomer"
    assert turns.acquire(timeout=5), "a newcomer gets a turn once the line is through"
    for thread in waiting:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_turn_not_given_in_time_leaves_the_line():
    from lumyx.db.driver import Turns

    turns = Turns(1)
    assert turns.acquire(timeout=1)
    assert not turns.acquire(timeout=0.05)
    turns.release()
    assert turns.acquire(timeout=0.05), "the one that gave up holds no place in line"
