"""Noticing a client that leaves while its stream waits on the upstream.

A stream learns that its client left only when it next writes. While the
upstream is silent (thinking, stalled) nothing is written, so a watcher
greenlet waits on the client's socket instead: when the client closes it, the
upstream connection is dropped at once and the call ends as ``client_closed``.
Only under gunicorn's gevent workers, which hand the socket to the app.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from lumyx.gateway.call import ClientLink


def watch(environ: dict, link: ClientLink) -> Callable[[], None]:
    """Starts watching; returns the function that stops it."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return lambda: None
    import gevent
    import gevent.socket
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        return lambda: None

    def run() -> None:
        while True:
            try:
                # An event-loop watcher, not select(): a worker holding a thousand
                # streams has descriptors beyond select()'s limit of 1,024.
                gevent.socket.wait_read(sock.fileno())
                gone = not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue  # woken with nothing to read: the client is still there
            except (OSError, ValueError):
                gone = True
            break
        if gone:  # (readable with data: a next request, pipelined; nothing to do)
            link.client_left()

    return gevent.spawn(run).kill
