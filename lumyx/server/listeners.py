"""The instance's listening sockets: one for each worker, all kept open by the gunicorn master.

Each worker accepts on a socket of its own on the instance's port (``SO_REUSEPORT``)
and the kernel spreads new connections between the sockets by a hash of their
addresses; on one shared socket, the worker that woke first took most of a burst of
new connections while the other idled.

The master opens the sockets (:func:`open_at_start`, gunicorn's ``on_starting``) and
gives each worker it forks the socket fewest workers hold (:func:`assign`,
``pre_fork``; :func:`take`, ``post_fork``). A reload's new worker so shares the
socket of the worker it replaces, which exits without closing it: a socket a worker
opened itself would close with that worker, and the kernel would reset the
connections queued on it and not yet accepted. A socket no worker will take again
(one worker fewer, ``TTOU``) is closed when its last worker has exited (:func:`release`,
``child_exit``).

A server started on a port already in use stops at once: sockets with
``SO_REUSEPORT`` would share the port with it silently. Addresses other than TCP
(``unix:``) keep gunicorn's one socket shared by all workers.
"""

from __future__ import annotations

import socket

from gunicorn import sock


def open_at_start(server) -> None:
    """The sockets of ``server`` (the arbiter), one for each worker; refuses a port in use."""
    if not _tcp_only(server):
        return
    for host, port in server.cfg.address:
        _refuse_in_use(host, port)
    _open_all(server)


def reopen_after_reload(server) -> None:
    """A reload that changed the bind address left gunicorn's shared sockets: a socket for each worker again."""
    sockets = getattr(server, "lumyx_sockets", None)
    if sockets is None or server.LISTENERS == _flat(sockets):
        return
    if not _tcp_only(server):
        server.lumyx_sockets = None  # gunicorn's shared sockets serve a unix: address
        return
    for listener in server.LISTENERS:
        listener.close()
    _open_all(server)


def assign(server, worker) -> None:
    """In the master, before the fork: the worker's sockets, those the fewest running workers hold
    (a new one when every one is taken and the master runs more workers than it has sockets)."""
    sockets = getattr(server, "lumyx_sockets", None)
    if sockets is None:
        return
    fewest = min(sockets, key=lambda group: _holders(server, group))
    if _holders(server, fewest) and len(sockets) < server.num_workers:
        fewest = _open(server)
        sockets.append(fewest)
        server.LISTENERS = _flat(sockets)
    worker.lumyx_sockets = fewest


def take(server, worker) -> None:
    """In the worker, after the fork: it accepts on its own sockets and lets go of the others."""
    mine = getattr(worker, "lumyx_sockets", None)
    if mine is None:
        return
    for listener in server.LISTENERS:
        if listener not in mine:
            listener.close()  # this process's copy; the master's stays open
    worker.sockets = list(mine)


def release(server, worker) -> None:
    """In the master, once ``worker`` has exited: its sockets are closed when no worker holds
    them and none will (the master runs as many workers as it wants, with fewer sockets)."""
    sockets = getattr(server, "lumyx_sockets", None)
    group = getattr(worker, "lumyx_sockets", None)
    if sockets is None or group is None or not any(group is kept for kept in sockets):
        return
    if _holders(server, group) or len(sockets) <= server.num_workers or len(server.WORKERS) < server.num_workers:
        return
    sockets[:] = [kept for kept in sockets if kept is not group]
    server.LISTENERS = _flat(sockets)
    for listener in group:
        listener.close()


def _tcp_only(server) -> bool:
    return all(isinstance(address, tuple) for address in server.cfg.address)


def _holders(server, group: list) -> int:
    """How many of the running workers accept on ``group``."""
    return sum(getattr(running, "lumyx_sockets", None) is group for running in server.WORKERS.values())


def _flat(sockets: list[list]) -> list:
    """gunicorn's LISTENERS: every socket of every group."""
    return [listener for group in sockets for listener in group]


def _open_all(server) -> None:
    first = _open(server, server.cfg.address)
    server.lumyx_addresses = [listener.getsockname()[:2] for listener in first]  # port 0: the one it took
    server.lumyx_sockets = [first] + [_open(server) for _ in range(server.num_workers - 1)]
    server.LISTENERS = _flat(server.lumyx_sockets)


def _open(server, addresses=None) -> list:
    """A listening socket on each of the server's addresses, with ``SO_REUSEPORT``."""
    opened = []
    for host, port in addresses or server.lumyx_addresses:
        family = _family(host)
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        raw.bind((host, port))
        raw.listen(server.cfg.backlog)
        kind = sock.TCP6Socket if family == socket.AF_INET6 else sock.TCPSocket
        opened.append(kind((host, port), server.cfg, server.log, fd=raw.detach()))
    return opened


def _refuse_in_use(host: str, port: int) -> None:
    """Binds the address as a server without ``SO_REUSEPORT`` would; stops when it is taken."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
