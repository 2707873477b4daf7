"""A busy connection does not hold up the others: a worker serves its connections in turns.

A client that pipelines requests (or sends its next one the instant it has the last
answer) keeps a worker's greenlet from ever waiting on its socket; the test sets such a
client against another and counts how many answers the busy one got meanwhile."""

from __future__ import annotations

import http.client
import socket
import time

from tests.support.servers import LiveServer

LIVE = b"GET /v1/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
ANSWER = b"HTTP/1.1 200 OK\r\n"


class Pipelining:
    """A connection that sends ``count`` requests at once and counts the answers it has read."""

    def __init__(self, port: int, count: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(LIVE * count)
        self.received = b""

    def answers(self) -> int:
        """The answers arrived so far (reads what is there, without waiting)."""
        self.sock.setblocking(False)
        try:
            while chunk := self.sock.recv(1 << 20):
                self.received += chunk
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.received.count(ANSWER)

    def wait_for_answers(self, at_least: int) -> None:
        deadline = time.monotonic() + 30
        while self.answers() < at_least:
            assert time.monotonic() < deadline, f"{self.answers()} answers in 30 s"
            time.sleep(0.001)

    def close(self) -> None:
        self.sock.close()


def test_a_connection_pipelining_requests_does_not_hold_up_another(app, server_env, tmp_path):
    server = LiveServer(server_env, tmp_path / "gunicorn.log", workers=1)
    busy = other = None
    try:
        other = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        other.request("GET", "/v1/health/live")
        assert other.getresponse().read() == b'{"status":"ok"}'  # accepted, and kept alive
        busy = Pipelining(server.port, 300)
        busy.wait_for_answers(1)  # the worker is on the busy connection's requests
        other.request("GET", "/v1/health/live")
        assert other.getresponse().read() == b'{"status":"ok"}'
        meanwhile = busy.answers()
        assert meanwhile < 150, f"the other connection waited for {meanwhile} of the busy one's 300 answers"
        busy.wait_for_answers(300)
        assert busy.answers() == 300
    finally:
        for connection in (busy, other):
            if connection is not None:
                connection.close()
        server.stop()
