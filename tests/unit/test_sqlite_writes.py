"""SQLite writes under gevent, as a gunicorn worker makes them: the write lock waited
for without stopping the worker, concurrent writes grouped into one transaction
(whether or not another process holds the lock), each write's error its own.

Each case runs in a child process that gevent has patched, as the worker is."""

from __future__ import annotations

from tests.support.servers import run_in_child

PRELUDE = """
from gevent import monkey
monkey.patch_all()
import json, sqlite3, time
import gevent
from sqlalchemy import text
from lumyx import create_app
from lumyx.db import db, driver

app = create_app()
ctx = app.app_context()
ctx.push()
db.session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
db.session.commit()
path = db.engine.url.database
statements = []

def traced(conn):
    conn.set_trace_callback(lambda sql: statements.append(sql.split()[0].upper()))
    return conn

def insert(value):
    return lambda conn: conn.execute("INSERT INTO t (v) VALUES (?)", (value,)).lastrowid

driver.sqlite_write(traced)  # the driver connection every write of this process uses
statements.clear()

def in_app(fn, *args):  # a request's greenlet has the app's context
    with app.app_context():
        return fn(*args)

def rows():
    return sorted(r[0] for r in db.session.execute(text("SELECT v FROM t")))
"""


def _run(tmp_path, body: str, extra_env: dict | None = None) -> dict:
    return run_in_child(PRELUDE + body, f"sqlite:///{tmp_path / 'writes.db'}", extra_env)


def test_writes_waiting_for_another_processes_lock_leave_the_worker_serving_and_commit_together(tmp_path):
    seen = _run(
        tmp_path,
        """
other = sqlite3.connect(path, isolation_level=None)
other.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
ticks = []
def clock():
    while len(ticks) < 40:
        ticks.append(time.monotonic())
        gevent.sleep(0.005)
ticker = gevent.spawn(clock)
writers = [gevent.spawn(in_app, driver.sqlite_write, insert(f"row{i}")) for i in range(5)]
gevent.sleep(0.1)
before = {"done": sum(w.ready() for w in writers), "ticks": len(ticks)}
other.execute("COMMIT")
gevent.joinall(writers + [ticker])
print(json.dumps({**before, "rows": rows(), "ids": sorted(w.value for w in writers),
                  "begins": statements.count("BEGIN"), "commits": statements.count("COMMIT")}))
""",
    )
    assert seen["done"] == 0, "no write got past the other process's lock"
    assert seen["ticks"] >= 10, "the worker kept running its other greenlets while the writes waited"
    assert seen["rows"] == [f"row{i}" for i in range(5)]
    assert seen["ids"] == [1, 2, 3, 4, 5], "each write learns its own answer"
    assert seen["commits"] == 1, "the five writes shared one transaction"
    assert seen["begins"] > 2, "its writer tried for the lock again and again, sleeping between tries"


def test_gathered_writes_of_requests_ready_at_once_share_one_transaction_when_the_lock_is_free(tmp_path):
    seen = _run(
        tmp_path,
        """
def commits_of(name, gather):
    before = statements.count("COMMIT")
    writers = [gevent.spawn(in_app, lambda i=i: driver.sqlite_write(insert(f"{name}{i}"), gather=gather))
               for i in range(5)]
    gevent.joinall(writers)
    assert all(w.successful() for w in writers)
    return statements.count("COMMIT") - before
print(json.dumps({"gathered": commits_of("g", True), "at once": commits_of("a", False), "rows": len(rows())}))
""",
    )
    assert seen["rows"] == 10
    assert seen["gathered"] == 1, "the five gathered writes shared one transaction"
    assert seen["at once"] == 5, "a write not asked to gather is written at once, by itself"


def test_in_a_group_a_writes_error_or_rollback_undoes_only_its_own_statements(tmp_path):
    seen = _run(
        tmp_path,
        """
driver.sqlite_write(insert("taken"))
def undone(conn):
    conn.execute("INSERT INTO t (v) VALUES ('undone')")
    raise driver.Rollback("answered")
outcomes = {}
def write(name, work):
    try:
        with app.app_context():
            outcomes[name] = driver.sqlite_write(work)
    except Exception as exc:
        outcomes[name] = type(exc).__name__
other = sqlite3.connect(path, isolation_level=None)
other.execute("BEGIN IMMEDIATE")
greenlets = [gevent.spawn(write, "first", insert("a")), gevent.spawn(write, "duplicate", insert("taken")),
             gevent.spawn(write, "rolled back", undone), gevent.spawn(write, "last", insert("b"))]
gevent.sleep(0.05)
other.execute("COMMIT")
gevent.joinall(greenlets)
print(json.dumps({"outcomes": outcomes, "rows": rows()}))
""",
    )
    assert seen["outcomes"] == {"first": 2, "duplicate": "IntegrityError", "rolled back": "answered", "last": 3}
    assert seen["rows"] == ["a", "b", "taken"]


def test_a_write_gives_up_when_the_lock_stays_taken(tmp_path):
    seen = _run(
        tmp_path,
        """
driver.LOCK_WAIT_S = 0.2
other = sqlite3.connect(path, isolation_level=None)
other.execute("BEGIN IMMEDIATE")
started = time.monotonic()
try:
    driver.sqlite_write(insert("late"))
    outcome = "written"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc.orig}"
waited = time.monotonic() - started
other.execute("ROLLBACK")
print(json.dumps({"outcome": outcome, "waited": waited, "rows": rows()}))
""",
    )
    assert seen["outcome"] == "OperationalError: database is locked"
    assert 0.2 <= seen["waited"] < 1.0
    assert seen["rows"] == []


def test_a_write_handed_the_next_transaction_is_written_once(tmp_path):
    seen = _run(
        tmp_path,
        """
writes = driver.sqlite_writes
first = driver._Write(insert("queued first"))
second = driver._Write(insert("queued second"))
writes.writing, writes.queue = True, [first, second]  # both came during another's commit
writes._release()
handed = writes.queue[:]
with app.app_context():
    writes._write([first] + writes._take_queue(), first)
writes._release()
print(json.dumps({"handed": first.leads and handed == [second], "rows": rows(), "idle": not writes.writing}))
""",
    )
    assert seen == {"handed": True, "rows": ["queued first", "queued second"], "idle": True}
