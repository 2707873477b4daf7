"""The gunicorn worker Lumyx runs in: gunicorn's gevent worker, with bounds on
what one connection may hold (gunicorn.conf.py names it).

* A request's line and headers must arrive within ``LUMYX_HEADER_TIMEOUT_S``
  (default 10 s) of the connection's first byte of it, however slowly they
  trickle in. A new connection's clock starts when it is accepted; a kept-alive
  connection may first stay idle for gunicorn's ``keepalive`` seconds, and is
  closed when nothing has come by then.
* At most ``LUMYX_MAX_CONNECTIONS_PER_ADDRESS`` (default 1000, 0: no cap)
  connections of one peer address are open in a worker; one more is closed at
  once. The peer is the socket's: behind a proxy every client shares the proxy's
  address, so there the cap must be off or above ``worker_connections``.
* A response with status 413 closes the connection, so the body the application
  refused is never read (gunicorn would otherwise read what is left of it, to
  find the next request).
* On SIGTERM (an operator's, or the master's to the old workers of a SIGHUP
  reload) the worker drains for ``LUMYX_DRAIN_S`` seconds (default 5, 0: none):
  readiness answers 503 (lumyx.server.draining), every request is still served
  and its response closes its connection. Then it stops as gunicorn's worker
  does: no more accepting, in-flight requests finish (``graceful_timeout``), and
  connections idle between kept-alive requests are closed at once.
* Connections take turns: a kept-alive connection's next request is waited for
  through the event loop even when it is already there (and a pipelined one
  after a pass of it), so the others' requests, and new connections, are served
  too. A greenlet yields only when it would block, and a client that sends its
  next request as soon as it has the last answer (a load generator, a busy
  agent, a pipelining client) would otherwise be served again and again while
  the worker's other connections waited, for seconds under load.
  New connections are still accepted one a turn, as gunicorn's gevent worker
  does with several workers: taking every queued one at once admitted more
  streams than an overloaded worker could serve, and PostgreSQL's pool waits
  then failed some of them (bench/changes.md).
* On SIGQUIT or SIGINT (a quick stop) requests in flight are cut off, but the
  calls already answered and still settling (lumyx.billing.beside) finish first,
  for at most ``QUICK_STOP_SETTLE_S`` seconds: an answer a client has is charged.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections import Counter

import gevent
from gevent.local import local
from gevent.socket import wait_read
from gunicorn.workers.base import Worker
from gunicorn.workers.ggevent import GeventWorker

from lumyx.billing import beside
from lumyx.server import draining

QUICK_STOP_SETTLE_S = 5.0


def setting(name: str, default: float, *, zero: bool = False) -> float:
    """A number of the environment, ``default`` when unset; a number below 0 (or
    0, unless ``zero`` allows it) or not a number stops the server, naming it."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value < 0 or (value == 0 and not zero):
        raise SystemExit(f"{name}: must be a number {'>=' if zero else '>'} 0, got {raw!r}")
    return value


class LumyxWorker(GeventWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = setting("LUMYX_HEADER_TIMEOUT_S", 10)
        self.per_address = int(setting("LUMYX_MAX_CONNECTIONS_PER_ADDRESS", 1000, zero=True))
        self.open_by_address: Counter = Counter()
        self.drain_seconds = setting("LUMYX_DRAIN_S", 5, zero=True)
        self.connection = local()  # each connection is served by a greenlet of its own
        self.idle_clients: set = set()  # connections waiting for their next request

    def handle_exit(self, sig, frame):
        """SIGTERM: drain, then stop (out of the signal handler, in a greenlet)."""
        if draining.active():
            return
        draining.begin()
        self.log.info("Draining for %gs (pid:%s)", self.drain_seconds, self.pid)
        gevent.spawn(self._stop_after_drain)

    def _stop_after_drain(self) -> None:
        gevent.sleep(self.drain_seconds)
        self.alive = False
        gevent.sleep(1.0)  # the run loop sees it and closes the listeners
        for client in list(self.idle_clients):
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_quit(self, sig, frame):
        """SIGQUIT, SIGINT: the answered calls' settlements, then gunicorn's quick exit."""

        def quit_after_settling():
            self.alive = False
            beside.wait(QUICK_STOP_SETTLE_S)
            Worker.handle_quit(self, sig, frame)

        gevent.spawn(quit_after_settling)

    def run(self):
        super().run()
        # Calls answered but still settling (lumyx.billing.beside) finish before the worker exits.
        left = beside.wait(self.cfg.graceful_timeout)
        if left:
            self.log.warning("%d calls were still settling at exit; the janitor releases their holds", left)

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = _closing_after_413(self.wsgi)

    def handle(self, listener, client, addr):
        peer = addr[0] if isinstance(addr, tuple) else None
        if self.per_address and peer is not None:
            if self.open_by_address[peer] >= self.per_address:
                self.log.debug("Closing a connection of %s: %d already open", peer, self.per_address)
                client.close()
                return
            self.open_by_address[peer] += 1
        self.connection.client = client
        self.connection.last_request = None
        try:
            super().handle(listener, client, addr)
        finally:
            if self.per_address and peer is not None:
                self.open_by_address[peer] -= 1
                if not self.open_by_address[peer]:
                    del self.open_by_address[peer]

    def handle_request(self, listener_name, req, sock, addr):
        self.connection.last_request = req
        return super().handle_request(listener_name, req, sock, addr)

    def timeout_ctx(self):
        """Bounds the wait for the connection's next request (gunicorn reads it inside)."""
        return _NextRequest(self)


class _NextRequest:
    """The header timeout, started after a kept-alive connection's idle wait.

    Leaving ``__enter__`` with StopIteration closes the connection (gunicorn's
    worker takes it as the end of the connection's requests)."""

    def __init__(self, worker: LumyxWorker):
        self.connection = worker.connection
        self.keepalive = worker.cfg.keepalive
        self.idle_clients = worker.idle_clients
        self.worker_alive = lambda: worker.alive
        self.timer = gevent.Timeout(worker.header_timeout, False)

    def __enter__(self):
        previous = self.connection.last_request
        if previous is not None and _buffered(previous):
            gevent.sleep(0)  # pipelined: the worker's other connections take their turn first
        elif previous is not None:
            if draining.active() and not self.worker_alive():
                raise StopIteration("the worker stops")
            idle = self.idle_clients
            idle.add(self.connection.client)
            try:
                _wait_for_a_byte(self.connection.client, self.keepalive)
            finally:
                idle.discard(self.connection.client)
        self.timer.start()
        return self.timer

    def __exit__(self, *exc_info):
        return self.timer.__exit__(*exc_info)


def _buffered(request) -> bool:
    """Whether bytes after the request (pipelined ones) are already read into gunicorn's buffer."""
    buffer = getattr(getattr(request, "unreader", None), "buf", None)
    if buffer is None:
        return False
    with buffer.getbuffer() as view:
        return view.nbytes > 0


def _wait_for_a_byte(client, keepalive: float) -> None:
    """Waits until the client sends something, at most ``keepalive`` seconds."""
    if isinstance(client, ssl.SSLSocket):
        return  # TLS may hold read bytes of its own: gunicorn's timer alone, as before
    try:  # through the event loop even when the request is there: every ready connection is served in turn
        wait_read(client.fileno(), timeout=keepalive)
    except TimeoutError:
        raise StopIteration("idle keep-alive connection") from None
    first = client.recv(1, socket.MSG_PEEK)
    if not first:
        raise StopIteration("closed by the client")


def _closing_after_413(app):
    """The WSGI app, with a 413 answer closing its connection."""

    def application(environ, start_response):
        def start(status, headers, exc_info=None):
            if status.startswith("413") or draining.active():
                response = getattr(start_response, "__self__", None)  # gunicorn's Response
                if response is not None:
                    response.force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return application
