"""Work that runs once a client has its answer (settlement, the usage row).

Under gunicorn's gevent workers it runs in a greenlet of its own, so that a
keep-alive connection reads its next request without waiting for the database;
a stopping worker finishes whatever is still running (``drain``, from
gunicorn.conf.py's ``worker_exit``). Anywhere else it runs at once.
"""
from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger("lumyx.after_response")
_running: set = set()


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def run(work: Callable[[], None]) -> None:
    if not _gevent_patched():
        work()
        return
    import gevent

    greenlet = gevent.spawn(work)
    _running.add(greenlet)
    greenlet.link(_running.discard)


def drain(timeout: float = 30.0) -> None:
    """Waits for the work still running in this process."""
    if _running:
        import gevent

        log.info("finishing %d settlements before the worker stops", len(_running))
        gevent.joinall(list(_running), timeout=timeout)
