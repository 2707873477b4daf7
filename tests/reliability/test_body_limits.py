"""A request body over LUMYX_MAX_BODY_BYTES answers 413 in the endpoint's format,
whatever its transfer encoding: a chunked body says no length up front, and is
refused once one byte past the limit has come, never cut short at the limit and
used. The connection closes after the 413, so the rest is never read."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import orjson
import psutil
import pytest

from tests.support.servers import LiveServer

LIMIT = 1024 * 1024
SPACES = b" " * 65536


@pytest.fixture(scope="module")
def small_limit(app, server_env, tmp_path_factory):
    """A gateway whose body limit is 1 MiB, with one worker whose memory can be watched."""
    server = LiveServer(
        {**server_env, "LUMYX_MAX_BODY_BYTES": str(LIMIT), "LUMYX_FREE_DAILY_LIMIT": "0"},
        tmp_path_factory.mktemp("body-limit-logs") / "gunicorn.log",
        workers=1,
    )
    yield server
    server.stop()


def chunked_post(server, path: str, head: bytes, total: int, headers: dict) -> tuple[http.client.HTTPResponse, bytes]:
    """POSTs ``head`` then spaces, ``total`` bytes in all, in 64 KiB chunks, from a
    thread, while the answer is read: the server may answer before the body ends."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send() -> None:
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
            sent = len(head)
            while sent < total:
                piece = SPACES[: total - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the body ended

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    sender.join(30)
    sock.close()
    return response, body


CHAT = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hello"}]}
MESSAGES = {"model": "lumyx-local", "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]}


@pytest.mark.parametrize(
    "path, payload, wire",
    [
        ("/v1/chat/completions", CHAT, "openai"),
        ("/api/v1/chat/completions", CHAT, "openai"),
        ("/v1/embeddings", {"model": "lumyx-local-embed", "input": "hello"}, "openai"),
        ("/v1/responses", {"model": "lumyx-local", "input": "hello"}, "openai"),
        ("/v1/messages", MESSAGES, "anthropic"),
        ("/api/v1/messages", MESSAGES, "anthropic"),
    ],
)
def test_a_chunked_api_body_over_the_limit_is_a_413_in_the_endpoints_format(small_limit, key, path, payload, wire):
    """Valid JSON, then spaces past the limit: the first MiB alone would be a good request."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response, body = chunked_post(small_limit, path, orjson.dumps(payload), 2 * LIMIT, headers)
    assert response.status == 413, body[:300]
    assert response.getheader("connection") == "close"
    error = orjson.loads(body)
    if wire == "anthropic":
        assert error == {
            "type": "error",
            "error": {"type": "request_too_large", "message": "Request body is too large."},
        }
    else:
        assert error == {"error": {"message": "Request body is too large.", "type": "request_too_large", "code": 413}}


def test_a_chunked_body_up_to_the_limit_is_served(small_limit, key):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response, body = chunked_post(small_limit, "/v1/chat/completions", orjson.dumps(CHAT), LIMIT, headers)
    assert response.status == 200, body[:300]
    assert orjson.loads(body)["object"] == "chat.completion"


def test_a_chunked_form_or_webhook_over_the_limit_is_a_413(small_limit):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response, body = chunked_post(small_limit, "/login", b"email=a%40example.com&password=", 2 * LIMIT, form)
    assert response.status == 413 and response.getheader("content-type").startswith("text/html")
    assert b"413" in body

    webhook = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"}
    response, body = chunked_post(small_limit, "/webhooks/stripe", b'{"id": "evt_1"}', 2 * LIMIT, webhook)
    assert response.status == 413 and "error" in orjson.loads(body)


def test_a_100_mb_chunked_body_is_refused_without_reading_it(small_limit, key):
    """The worker reads one byte past the limit, answers, and closes: its memory stays flat
    and the answer comes long before 100 MB could have been read."""
    (worker,) = psutil.Process(small_limit.proc.pid).children()
    before = worker.memory_info().rss
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.monotonic()
    response, body = chunked_post(small_limit, "/v1/chat/completions", orjson.dumps(CHAT), 100 * 1024 * 1024, headers)
    assert response.status == 413 and orjson.loads(body)["error"]["code"] == 413
    assert time.monotonic() - started < 5
    grown = worker.memory_info().rss - before
    assert grown < 16 * 1024 * 1024, f"the worker grew by {grown / 2**20:.1f} MiB"
