"""How `make run` listens: every worker on a socket of its own (SO_REUSEPORT) that the
master keeps open, the kernel spreading new connections between them, a reload
dropping none of them, and a second server on a port in use refused at start instead
of silently taking part of the first one's connections."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import requests

from tests.support.servers import ROOT, VENV_BIN, LiveServer


def _pids(state: str, port: int) -> Counter:
    """How many sockets of ``port`` in ``state`` each process holds (ss's view)."""
    command = ["ss", "-tnpH", "state", state, f"sport = :{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return Counter(int(pid) for pid in re.findall(r"pid=(\d+)", out))


def _listening(port: int) -> list[set[int]]:
    """The processes holding each listening socket of ``port``."""
    command = ["ss", "-tlnpH", f"sport = :{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [{int(pid) for pid in re.findall(r"pid=(\d+)", line)} for line in out.splitlines()]


def test_each_worker_listens_on_its_own_socket_and_takes_a_share_of_the_connections(app, server_env, tmp_path):
    server = LiveServer(server_env, tmp_path / "gunicorn.log", workers=2)
    try:
        workers = set(server.worker_pids())
        master = server.proc.pid
        assert len(workers) == 2
        assert sorted(map(sorted, _listening(server.port))) == sorted([master, pid] for pid in workers)
        clients = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(64)]
        for client in clients:  # kept alive, as a load generator's or a balancer's pool
            client.request("GET", "/v1/health")
            assert client.getresponse().read() and True
        held = _pids("established", server.port)
        assert set(held) == workers and sum(held.values()) == 64
        assert max(held.values()) <= 48, f"connections spread between the workers: {dict(held)}"
        for client in clients:
            client.close()
        assert "Listening at: 127.0.0.1:" in server.logs()
    finally:
        server.stop()


def test_a_second_server_on_a_port_in_use_stops_at_start(app, server_env, tmp_path):
    first = LiveServer(server_env, tmp_path / "first.log", workers=1)
    try:
        env = {**first.env, "WEB_CONCURRENCY": "1"}
        second = subprocess.run(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"cannot listen on 127.0.0.1:{first.port}: Address already in use" in second.stderr
        assert requests.get(first.url + "/v1/health", timeout=5).status_code == 200, "the first one serves on"
    finally:
        first.stop()


def test_a_reload_amid_a_stream_of_new_connections_drops_none(app, server_env, tmp_path):
    """`kill -HUP`: the old workers stop accepting and exit while new connections keep
    coming; each worker's socket stays open with the master, so none is reset."""
    server = LiveServer({**server_env, "LUMYX_DRAIN_S": "0.5"}, tmp_path / "gunicorn.log", workers=2)
    answered, failed, stop = [], [], threading.Event()

    def connect_again_and_again() -> None:
        while not stop.is_set():
            try:
                answered.append(requests.get(server.url + "/v1/health", timeout=10).status_code)
            except requests.RequestException as exc:
                failed.append(repr(exc))

    clients = [threading.Thread(target=connect_again_and_again) for _ in range(4)]
    try:
        for client in clients:
            client.start()
        for _ in range(3):
            before = set(server.worker_pids())
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                now = set(server.worker_pids())
                if len(now) == 2 and not now & before:
                    break
                time.sleep(0.05)
            assert len(now) == 2 and not now & before, f"workers before {before}, now {now}"
    finally:
        stop.set()
        for client in clients:
            client.join()
        server.stop()
    # Had a socket closed with its worker, a connection the kernel had queued on it would be
    # reset, and one still in its handshake dropped, to be tried again by the client's kernel a
    # second or more later (a few dozen requests in all, then). Neither happens.
    assert failed == [] and set(answered) == {200}, failed[:3]
    assert len(answered) > 150, f"{len(answered)} requests answered in the three reloads"


def test_a_worker_more_or_fewer_has_a_socket_more_or_fewer(app, server_env, tmp_path):
    """gunicorn's TTIN and TTOU: the new worker gets a socket of its own; once the worker
    stopped for TTOU has exited, the socket no worker holds is closed."""
    server = LiveServer({**server_env, "LUMYX_DRAIN_S": "0"}, tmp_path / "gunicorn.log", workers=2)
    master = server.proc.pid

    def sockets_of(count: int) -> list[set[int]]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = set(server.worker_pids())
            held = _listening(server.port)
            if len(workers) == count and sorted(map(sorted, held)) == sorted([master, pid] for pid in workers):
                return held
            time.sleep(0.1)
        raise AssertionError(f"{count} workers, each on its own socket: {workers}, {held}")

    try:
        sockets_of(2)
        server.proc.send_signal(signal.SIGTTIN)
        sockets_of(3)
        server.proc.send_signal(signal.SIGTTOU)
        sockets_of(2)
        assert requests.get(server.url + "/v1/health", timeout=5).status_code == 200
    finally:
        server.stop()
