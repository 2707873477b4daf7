"""The upstream HTTP client (lumyx.providers.http) against raw sockets that say
exactly what a test needs: kept-alive and closed connections, bodies cut short,
stalls, error statuses, and SSE framed with CRLF."""

from __future__ import annotations

import socket
import threading
import time

import gevent
import pytest

from lumyx.providers import http, streaming
from lumyx.providers.base import UpstreamFailure
from lumyx.providers.streaming import StreamBroken

JSON_OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class RawServer:
    """Accepts connections and answers each request on them with ``replies(n)``, the
    bytes for the n-th request overall; ``None`` closes the connection instead, and a
    function writes the reply itself, then closes the connection unless it returns True."""

    def __init__(self, replies, *, close_after_each=False):
        self.replies = replies
        self.close_after_each = close_after_each
        self.connections = 0
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1/chat/completions"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(
                    next(
                        (
                            line.split(b":")[1]
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        b"0",
                    )
                )
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                reply = self.replies(self.requests)
                self.requests += 1
                if reply is None:
                    return
                if callable(reply):
                    if not reply(conn):
                        return
                    continue
                conn.sendall(reply)
                if self.close_after_each:
                    return

    def close(self):
        self.sock.close()


def post(server, timeout_s=5.0):
    return http.post(server.url, {"model": "m"}, {"content-type": "application/json"}, timeout_s, None)


def test_a_kept_alive_connection_is_reused():
    server = RawServer(lambda n: JSON_OK)
    try:
        for _ in range(3):
            assert http.read_json(post(server)) == {"ok": True}
        assert (server.requests, server.connections) == (3, 1)
    finally:
        server.close()


def test_a_connection_the_upstream_closed_while_idle_is_replaced_not_failed():
    server = RawServer(lambda n: JSON_OK, close_after_each=True)
    try:
        assert http.read_json(post(server)) == {"ok": True}
        time.sleep(0.2)  # the upstream has closed its side of the pooled connection
        assert http.read_json(post(server)) == {"ok": True}
        assert server.connections == 2
    finally:
        server.close()


def test_a_body_cut_short_is_a_protocol_failure():
    server = RawServer(lambda n: b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok":', close_after_each=True)
    try:
        with pytest.raises(UpstreamFailure) as failure:
            http.read_json(post(server))
        assert failure.value.reason == "protocol"
    finally:
        server.close()


def test_an_error_status_carries_the_upstreams_message_and_retry_after():
    body = b'{"error":{"message":"overloaded, try later"}}'
    server = RawServer(
        lambda n: b"HTTP/1.1 529 Overloaded\r\nRetry-After: 3\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    try:
        with pytest.raises(UpstreamFailure) as failure:
            post(server)
        assert (failure.value.reason, failure.value.status, failure.value.retry_after) == ("status", 529, "3")
        assert failure.value.retryable
        assert "overloaded, try later" in str(failure.value)
    finally:
        server.close()


def test_an_upstream_that_stalls_times_out():
    server = RawServer(lambda n: lambda conn: time.sleep(3))
    try:
        started = time.monotonic()
        with pytest.raises(UpstreamFailure) as failure:
            post(server, timeout_s=0.5)
        assert failure.value.reason == "timeout"
        assert time.monotonic() - started < 2
    finally:
        server.close()


def test_nobody_listening_is_a_connect_failure():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamFailure) as failure:
        http.post(f"http://127.0.0.1:{port}/v1/x", {}, {}, 2.0, None)
    assert failure.value.reason == "connect"


def _chunked(*pieces: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def test_a_stream_framed_with_crlf_decodes_event_by_event():
    stream = _chunked(b'data: {"n": 1}\r\n\r\ndata: {"n"', b": 2}\r\n\r\n", b"data: [DONE]\r\n\r\n")
    server = RawServer(lambda n: stream if n == 0 else JSON_OK)
    try:
        reply = streaming.reply(post(server))
        assert [event["n"] for event in reply.events] == [1, 2]
        assert http.read_json(post(server)) == {"ok": True}
        assert server.connections == 1, "a stream read to its end gives its connection back to the pool"
    finally:
        server.close()


def test_a_stream_cut_short_ends_as_broken():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = RawServer(lambda n: head + b'10\r\ndata: {"n": 1}\n\n\r\n', close_after_each=True)
    try:
        reply = streaming.reply(post(server))
        seen = []
        with pytest.raises(StreamBroken) as broken:
            for event in reply.events:
                seen.append(event["n"])
        assert seen == [1]
        assert broken.value.reason == "protocol"
    finally:
        server.close()


def _events(count: int) -> bytes:
    """SSE with every line framing there is: CRLF and LF, a named event, a comment,
    data on two lines; each event's number tells a lost or repeated byte apart."""
    out = b""
    for n in range(count):
        newline = b"\r\n" if n % 2 else b"\n"
        out += b": keep-alive" + newline + newline if n % 5 == 0 else b""
        out += b"event: chunk" + newline if n % 3 == 0 else b""
        out += b'data: {"n": %d,' % n + newline + b'data:  "text": "%s"}' % (b"w" * (n % 7)) + newline + newline
    return out + b"data: [DONE]\r\n\r\n"


def _trickled(pieces: list[bytes], write_size: int):
    """A reply that sends ``pieces`` as HTTP chunks in writes of ``write_size`` bytes,
    a pause after each, so that reads end inside events, CRLFs and the chunk framing."""
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"

    def reply(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for at in range(0, len(wire), write_size):
            conn.sendall(wire[at : at + write_size])
            time.sleep(0.0005)
        return True  # keep the connection: the client may reuse it

    return reply


@pytest.mark.parametrize("chunk_size, write_size", [(1, 5), (2, 64), (7, 3), (13, 29), (97, 4096)])
def test_events_split_anywhere_across_chunks_and_reads_arrive_whole_and_once(chunk_size, write_size):
    body = _events(40)
    pieces = [body[at : at + chunk_size] for at in range(0, len(body), chunk_size)]
    server = RawServer(lambda n: _trickled(pieces, write_size) if n == 0 else JSON_OK)
    try:
        events = list(streaming.reply(post(server)).events)
        assert [event["n"] for event in events] == list(range(40))
        assert [event["text"] for event in events] == ["w" * (n % 7) for n in range(40)]
        assert http.read_json(post(server)) == {"ok": True}
        assert server.connections == 1, "a stream read to its end gives its connection back to the pool"
    finally:
        server.close()


def test_a_crlf_split_between_two_chunks_still_ends_its_event():
    pieces = [b'data: {"n": 1}\r', b"\n\r", b'\ndata: {"n": 2}\r\n\r', b"\ndata: [DONE]\r\n\r\n"]
    server = RawServer(lambda n: _trickled(pieces, 1 << 16))
    try:
        assert [event["n"] for event in streaming.reply(post(server)).events] == [1, 2]
    finally:
        server.close()


def test_a_stream_with_a_content_length_is_read_to_its_end():
    body = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    stream = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server = RawServer(lambda n: stream if n == 0 else JSON_OK)
    try:
        assert [event["n"] for event in streaming.reply(post(server)).events] == [1, 2]
        assert http.read_json(post(server)) == {"ok": True}
        assert server.connections == 1
    finally:
        server.close()


def test_a_stream_that_runs_until_the_connection_closes_is_whole():
    stream = b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {"n": 1}\n\n'
    server = RawServer(lambda n: stream, close_after_each=True)
    try:
        assert [event["n"] for event in streaming.reply(post(server)).events] == [1]
    finally:
        server.close()


def test_a_content_length_stream_cut_short_ends_as_broken():
    stream = b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 500\r\n\r\ndata: {"n": 1}\n\n'
    server = RawServer(lambda n: stream, close_after_each=True)
    try:
        seen = []
        with pytest.raises(StreamBroken) as broken:
            for event in streaming.reply(post(server)).events:
                seen.append(event["n"])
        assert (seen, broken.value.reason) == ([1], "protocol")
    finally:
        server.close()


def _first_event_then_silence(conn):
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'10\r\ndata: {"n": 1}\n\n\r\n'
    )
    time.sleep(3)


def test_a_stream_that_stalls_ends_as_a_timeout():
    server = RawServer(lambda n: _first_event_then_silence)
    try:
        events = streaming.reply(post(server, timeout_s=0.5)).events
        assert next(events)["n"] == 1
        started = time.monotonic()
        with pytest.raises(StreamBroken) as broken:
            next(events)
        assert broken.value.reason == "timeout"
        assert time.monotonic() - started < 2
    finally:
        server.close()


def test_cancel_ends_a_read_blocked_on_a_silent_upstream():
    server = RawServer(lambda n: _first_event_then_silence)
    try:
        reply = streaming.reply(post(server))
        assert next(reply.events)["n"] == 1
        gevent.spawn_later(0.2, reply.cancel)
        started = time.monotonic()
        with pytest.raises(StreamBroken) as broken:
            next(reply.events)
        assert broken.value.reason == "protocol"
        assert time.monotonic() - started < 2
    finally:
        server.close()
