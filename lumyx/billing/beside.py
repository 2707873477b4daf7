"""Settlements made beside the client's connection, where the database is PostgreSQL.

gunicorn reads a kept-alive connection's next request only once the last
response is closed, and the close is where a call is finished (metered, settled,
logged). On PostgreSQL the settlement is a statement whose time is mostly the
database server's, on another core: finished on the connection, the client's
next request would wait for it. With :func:`start` (wsgi.py, in each worker),
:func:`later` makes the close hand the finishing to a greenlet of its own: the
connection reads on at once and the settlement's round trip overlaps the next
request.

Two promises keep it exact:

* A client's next request never finds the last one's hold still taken: a hold
  refused for want of credits while this worker still has settlements running
  waits for them (:func:`settled_first`) and is tried once more (a kept-alive
  connection stays on its worker).
* A worker told to stop waits for those still running before it exits
  (:func:`wait`, lumyx.server.worker), so a graceful stop leaves none unsettled.

On SQLite the settlement is the worker's own work (the database is in the
process), with nothing to overlap: handed to a greenlet it only cost more
(bench/changes.md). There, and outside gevent (the Flask test client, ``flask
run``), the close finishes the call itself.
"""

from __future__ import annotations

from collections.abc import Callable

SETTLED_WITHIN_S = 5.0  # how long a refused hold waits for this worker's running settlements

_running = None  # this worker's greenlets finishing calls (a gevent Group), once started


def start(app) -> None:
    """In a gevent worker whose database is PostgreSQL: calls are settled beside their connections."""
    global _running
    from gevent import monkey

    from lumyx.db import db

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    if postgres and monkey.is_module_patched("socket"):
        from gevent.pool import Group

        _running = Group()


def later(finish: Callable[[], None]) -> Callable[[], None]:
    """``finish`` as a response's close callback: run in a greenlet of its own once
    :func:`start` has turned that on; ``finish`` itself otherwise."""
    running = _running
    if running is None:
        return finish
    return lambda: running.spawn(finish)


def settled_first() -> bool:
    """Waits for the settlements this worker is running now (not for those that start
    meanwhile); whether there were any (a refused hold is then worth trying again)."""
    if not _running:
        return False
    import gevent

    gevent.joinall(list(_running), timeout=SETTLED_WITHIN_S)
    return True


def wait(timeout: float) -> int:
    """Waits up to ``timeout`` s for the calls still finishing; how many are left."""
    if _running is None:
        return 0
    _running.join(timeout=timeout)
    return len(_running)
