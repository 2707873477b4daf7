"""Slow and idle clients cannot take the gateway down: a request's headers must
arrive within LUMYX_HEADER_TIMEOUT_S however slowly they trickle, a kept-alive
connection idle for the keep-alive time is closed, and one address holds at most
LUMYX_MAX_CONNECTIONS_PER_ADDRESS connections of a worker.

Each test runs its own gunicorn with one worker of 300 connections, so that a
thousand sockets that never finish their headers would fill it three times over."""

from __future__ import annotations

import http.client
import resource
import socket
import time

import pytest
import requests

from tests.support.servers import LiveServer

PARTIAL = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
SOCKETS = 1000


@pytest.fixture(scope="module", autouse=True)
def enough_file_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * SOCKETS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def gateway(server_env, tmp_path, **settings) -> LiveServer:
    env = {**server_env, "LUMYX_WORKER_CONNECTIONS": "300", **settings}
    return LiveServer(env, tmp_path / "gunicorn.log", workers=1)


def slowloris(server: LiveServer, count: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``count`` connections from ``source`` that send the start of a request's headers, never the end."""
    held = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", server.port))
        try:
            sock.sendall(PARTIAL)
        except OSError:
            pass  # already closed by the server
        held.append(sock)
    return held


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset


def answers_within_a_second(server: LiveServer) -> bool:
    started = time.monotonic()
    try:
        response = requests.get(server.url + "/v1/health", timeout=1)
    except requests.RequestException:
        return False
    return response.status_code == 200 and time.monotonic() - started < 1


def test_connections_that_never_finish_their_headers_are_closed(app, server_env, tmp_path):
    server = gateway(server_env, tmp_path, LUMYX_HEADER_TIMEOUT_S="2", LUMYX_MAX_CONNECTIONS_PER_ADDRESS="0")
    held = []
    try:
        held = slowloris(server, SOCKETS)
        # A client dripping a header line a byte at a time gets no more time than one that stops.
        drip = socket.create_connection(("127.0.0.1", server.port))
        started = time.monotonic()
        closed_after = None
        for byte in PARTIAL * 10:
            try:
                drip.send(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            time.sleep(0.2)
            if closed_by_server(drip):
                closed_after = time.monotonic() - started
                break
            drip.setblocking(True)
        assert closed_after is not None, "the dripping connection was never closed"

        # 300 at a time, each closed after 2 s: the thousand are gone within about 8 s.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not answers_within_a_second(server):
            time.sleep(0.5)
        assert answers_within_a_second(server)
        assert all(closed_by_server(sock) for sock in held)
        assert closed_after < 15, closed_after
    finally:
        for sock in held:
            sock.close()
        server.stop()


def health(sock: socket.socket) -> int:
    """One request on a kept-alive connection; its answer's status."""
    sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response.status


class OneReader:
    """A socket's one buffered reader for several HTTPResponses in turn: each of
    them would otherwise buffer bytes of the next answer in a reader of its own."""

    def __init__(self, sock: socket.socket):
        self.file = sock.makefile("rb")

    def makefile(self, *_args, **_kwargs):
        return self

    def __getattr__(self, name):
        return getattr(self.file, name)

    def close(self):  # an answer read to its end does not end the connection's reader
        pass


def test_an_idle_kept_alive_connection_is_closed_and_a_slow_next_request_too(app, server_env, tmp_path):
    server = gateway(server_env, tmp_path, LUMYX_HEADER_TIMEOUT_S="2", LUMYX_KEEPALIVE_S="3")
    try:
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert health(idle) == 200
        # Idle within the keep-alive time: the connection serves a second request.
        time.sleep(1.5)
        assert health(idle) == 200
        started = time.monotonic()
        assert idle.recv(1) == b""  # closed once idle for the keep-alive time
        assert 2.5 < time.monotonic() - started < 6

        # Pipelined: the second request is already read with the first, and is answered at once.
        pipelined = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        pipelined.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2)
        started = time.monotonic()
        answers = OneReader(pipelined)  # both answers may arrive in one read
        for _ in range(2):
            response = http.client.HTTPResponse(answers)
            response.begin()
            response.read()
            assert response.status == 200
        assert time.monotonic() - started < 1

        slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert health(slow) == 200
        slow.sendall(PARTIAL)  # the next request starts, and never ends
        started = time.monotonic()
        assert slow.recv(1) == b""
        assert 1.5 < time.monotonic() - started < 4  # the header timeout, not the keep-alive time
    finally:
        server.stop()


def test_one_address_cannot_hold_every_connection(app, server_env, tmp_path):
    """A thousand partial requests from 127.0.0.2 with a cap of 100 per address: the
    rest of the worker's connections stay free for everyone else, at once."""
    server = gateway(server_env, tmp_path, LUMYX_MAX_CONNECTIONS_PER_ADDRESS="100")
    held = []
    try:
        held = slowloris(server, SOCKETS, source="127.0.0.2")
        time.sleep(0.5)
        assert answers_within_a_second(server)
        assert sum(not closed_by_server(sock) for sock in held) == 100
    finally:
        for sock in held:
            sock.close()
        server.stop()
