"""PostgreSQL statements of one group (an account's key: its settlements) under gevent,
as a gunicorn worker makes them: those that come while the first waits its turn go in
one transaction and one round trip, each statement's answer and error its own; other
groups apart.

Each case runs in a child process that gevent has patched, as the worker is, on a
PostgreSQL database of its own."""

from __future__ import annotations

import pytest

from tests.support import servers

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

PRELUDE = """
from gevent import monkey
monkey.patch_all()
import json
import gevent
from sqlalchemy import text
from lumyx import create_app
from lumyx.db import db, driver
from lumyx.db.postgres_writes import postgres_statement

app = create_app()
ctx = app.app_context()
ctx.push()
db.session.execute(text("CREATE TABLE t (n SERIAL PRIMARY KEY, v TEXT UNIQUE)"))
db.session.commit()
INSERT = text("INSERT INTO t (v) VALUES (:v) RETURNING txid_current()")

def insert(v, group=None):
    with app.app_context():  # a request's greenlet has the app's context
        try:
            return postgres_statement(INSERT, {"v": v}, group=group)[1][0][0]
        except Exception as exc:
            return type(exc).__name__

def rows():
    return [r[0] for r in db.session.execute(text("SELECT v FROM t ORDER BY n"))]

def while_turns_are_taken(*writers):
    \"\"\"Spawns ``writers`` while the worker's every driver connection is in use;
    frees them once every writer waits.\"\"\"
    driver.connections.turns = driver.Turns(1)
    driver.connections.turns.acquire(None)
    spawned = [gevent.spawn(insert, *args) for args in writers]
    gevent.sleep(0.05)
    driver.connections.turns.release()
    gevent.joinall(spawned)
    return [w.value for w in spawned]
"""


@pytest.fixture
def database_url(tmp_path):
    psycopg = pytest.importorskip("psycopg")
    try:
        database = servers.TestDatabase(tmp_path, base=SERVER)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    yield database.url
    database.drop()


def _run(database_url: str, body: str) -> dict:
    return servers.run_in_child(PRELUDE + body, database_url)


def test_a_groups_statements_that_wait_their_turn_share_one_transaction_other_groups_apart(database_url):
    seen = _run(
        database_url,
        """
answers = while_turns_are_taken(("a1", "key 1"), ("b1", "key 2"), ("a2", "key 1"), ("a3", "key 1"), ("b2", "key 2"))
print(json.dumps({"answers": answers, "rows": rows()}))
""",
    )
    a1, b1, a2, a3, b2 = seen["answers"]
    assert all(isinstance(txid, int) for txid in seen["answers"]), seen
    assert a1 == a2 == a3 and b1 == b2, "a group's statements committed together"
    assert a1 != b1, "two groups, two transactions"
    assert sorted(seen["rows"]) == ["a1", "a2", "a3", "b1", "b2"]


def test_a_failing_statement_fails_alone_and_the_rest_of_its_batch_is_written(database_url):
    seen = _run(
        database_url,
        """
insert("taken")
answers = while_turns_are_taken(("x1", "k"), ("taken", "k"), ("x2", "k"))
print(json.dumps({"answers": answers, "rows": rows()}))
""",
    )
    x1, taken, x2 = seen["answers"]
    assert taken == "IntegrityError", seen
    assert isinstance(x1, int) and isinstance(x2, int) and x1 != x2, "the others written again, each alone"
    assert sorted(seen["rows"]) == ["taken", "x1", "x2"]


def test_a_statement_that_finds_a_connection_free_goes_at_once_alone(database_url):
    seen = _run(
        database_url,
        """
writers = [gevent.spawn(insert, f"w{i}", "k") for i in range(5)]
gevent.joinall(writers)
print(json.dumps({"answers": [w.value for w in writers]}))
""",
    )
    first, *later = seen["answers"]
    assert all(isinstance(txid, int) for txid in seen["answers"]), seen
    assert first not in later, seen  # (later ones join each other while a connection opens)


def test_a_statement_without_a_group_is_a_transaction_of_its_own(database_url):
    seen = _run(
        database_url,
        """
answers = while_turns_are_taken(("n1",), ("n2",), ("n3",))
print(json.dumps({"answers": answers}))
""",
    )
    assert len(set(seen["answers"])) == 3, seen


def test_a_batch_goes_out_in_about_one_turn_of_the_workers_loop_however_many_statements_it_holds(database_url):
    """Under gevent every wait on the socket is a turn of the worker's loop (at concurrency 64
    a long one); sending a pipeline must not wait once per statement when the socket can
    take them at once. Counted: the waits psycopg makes through gevent's poll."""
    seen = _run(
        database_url,
        """
import select
waits, gevents_poll = [0], select.poll
class CountedPoll:
    def __init__(self):
        self.inner = gevents_poll()
    def __getattr__(self, name):
        return getattr(self.inner, name)
    def poll(self, *args):
        waits[0] += 1
        return self.inner.poll(*args)
insert("warm")  # the connection is open
select.poll = CountedPoll
driver.connections.turns = driver.Turns(1)
driver.connections.turns.acquire(None)
writers = [gevent.spawn(insert, f"s{i}", "k") for i in range(30)]
gevent.sleep(0.05)
driver.connections.turns.release()
gevent.joinall(writers)
print(json.dumps({"answers": [w.value for w in writers], "waits": waits[0]}))
""",
    )
    assert len(set(seen["answers"])) == 1 and isinstance(seen["answers"][0], int), seen
    assert seen["waits"] <= 5, seen
