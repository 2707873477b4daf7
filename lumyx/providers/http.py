"""Pooled HTTP to upstreams (geventhttpclient), with failures mapped to UpstreamFailure.

One client per upstream address and timeout in each worker process
(:data:`clients`, which the worker's runtime, lumyx.runtime, empties in a
forked child); connections are kept alive and reused. The sockets are gevent's,
so a worker holds many upstream requests at once, and responses are parsed in
C (llhttp): an upstream call, and each chunk of a stream, costs a fraction of a
pure-Python client's.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import orjson
from geventhttpclient import HTTPClient
from geventhttpclient.connectionpool import ConnectionPool, SSLConnectionPool
from geventhttpclient.response import HTTPParseError, HTTPSocketPoolResponse
from geventhttpclient.url import URL

from lumyx.providers.base import UpstreamFailure

CONNECT_TIMEOUT_S = 10.0
MAX_ERROR_BODY = 64 * 1024
MAX_CONNECTIONS = 4096  # open at once to one upstream, per worker
BLOCK_SIZE = 64 * 1024


class _CouldNotConnect(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class _Connections:
    """What geventhttpclient's pools do, with failures to connect told apart
    from failures later on, and a check of idle connections that still works
    past descriptor 1,024 (select() does not)."""

    def _create_socket(self):
        try:
            return super()._create_socket()
        except TimeoutError:
            raise _CouldNotConnect("timeout") from None
        except (OSError, RuntimeError):
            raise _CouldNotConnect("connect") from None

    def _is_socket_alive(self, sock) -> bool:
        if sock is None or sock.fileno() < 0:
            return False
        try:  # an idle connection has nothing to read; the upstream closing it makes it readable
            sock._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False


class _Plain(_Connections, ConnectionPool):
    pass


class _Tls(_Connections, SSLConnectionPool):
    pass


class UpstreamClients:
    """This process's clients: one per upstream address and timeout, each with
    its pool of kept-alive connections."""

    def __init__(self) -> None:
        self.by_address: dict[tuple, HTTPClient] = {}  # (scheme, host, port, timeout)
        self.by_url: dict[tuple[str, float], tuple[HTTPClient, str]] = {}  # (URL, timeout): client, path

    def forget(self) -> None:
        """In a forked child: the parent's connections are the parent's; new ones are opened."""
        self.by_address, self.by_url = {}, {}

    def target(self, url: str, timeout_s: float) -> tuple[HTTPClient, str]:
        """The client for ``url``'s upstream, and the path to ask it for."""
        target = self.by_url.get((url, timeout_s))
        if target is None:
            parsed = URL(url)
            address = (parsed.scheme, parsed.host, parsed.port, timeout_s)
            client = self.by_address.get(address)
            if client is None:
                client = self.by_address[address] = HTTPClient.from_url(
                    parsed,
                    concurrency=MAX_CONNECTIONS,
                    block_size=BLOCK_SIZE,
                    connection_timeout=min(CONNECT_TIMEOUT_S, timeout_s),
                    network_timeout=timeout_s,
                )
                # geventhttpclient builds its pool inside the client; this is how ours gets the two changes.
                client._connection_pool.__class__ = _Tls if client.ssl else _Plain
            target = self.by_url[(url, timeout_s)] = (client, parsed.request_uri)
        return target


clients = UpstreamClients()  # this process's


def post_with_bearer(provider, path: str, payload: dict, *, stream: bool) -> tuple[HTTPSocketPoolResponse, str | None]:
    """POST JSON to ``provider.base_url + path`` with the provider's key as a Bearer
    token (the OpenAI-family upstreams); returns the open response and the key."""
    secret = provider.api_key()
    headers = {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}
    if secret:
        headers["authorization"] = "Bearer " + secret
    return post(provider.base_url + path, payload, headers, provider.timeout_s, secret), secret


def post(url: str, payload: dict, headers: dict, timeout_s: float, secret: str | None) -> HTTPSocketPoolResponse:
    """POST JSON; returns the open response (2xx) or raises UpstreamFailure."""
    client, path = clients.target(url, timeout_s)
    try:
        response = client.request("POST", path, body=orjson.dumps(payload), headers=headers)
    except _CouldNotConnect as failed:
        if failed.kind == "timeout":
            raise UpstreamFailure("timeout", "upstream connect timed out") from None
        raise UpstreamFailure("connect", "could not connect to the upstream") from None
    except TimeoutError:
        raise UpstreamFailure("timeout", "upstream read timed out") from None
    except (HTTPParseError, OSError, ValueError):
        raise UpstreamFailure("connect", "could not connect to the upstream") from None
    if response.status_code >= 300:
        raise _status_failure(response, secret)
    return response


def _status_failure(response, secret: str | None) -> UpstreamFailure:
    status = response.status_code
    try:
        raw = response.read(MAX_ERROR_BODY)
    except (HTTPParseError, OSError):
        raw = b""
    finally:
        response.release()
    message = _error_message(raw) or f"upstream answered HTTP {status}"
    if secret:
        message = message.replace(secret, "[redacted]")
    retryable = status >= 500 or status in (401, 403, 404, 408, 409, 429)
    return UpstreamFailure(
        "status", message[:1000], status=status, retryable=retryable, retry_after=response.get("retry-after")
    )


def _error_message(raw: bytes) -> str:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")
    if isinstance(error, str):
        return error
    return str(body.get("message") or "") if isinstance(body, dict) else ""


def read_json(response) -> dict:
    """The whole body as a JSON object; a broken body is a retryable failure."""
    try:
        raw = response.read()
        if not response.message_complete:
            raise HTTPParseError("the body ended early")
    except TimeoutError:
        raise UpstreamFailure("timeout", "upstream read timed out") from None
    except (HTTPParseError, OSError):
        raise UpstreamFailure("protocol", "upstream closed the connection mid-body") from None
    finally:
        response.release()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamFailure("protocol", "upstream sent a body that is not JSON") from None
    if not isinstance(body, dict):
        raise UpstreamFailure("protocol", "upstream sent a body that is not a JSON object")
    return body


def iter_body(response) -> Iterator[bytes]:
    """The body as it arrives, for streams: each block is whatever the upstream has
    sent since the last one (arbitrary splits, not lines), and waits on the socket
    only when nothing has come in yet. A body that stops short of its end (the
    connection closed mid-chunk or before Content-Length) raises HTTPParseError."""
    # The parser appends each piece of body (chunk framing removed) to this buffer
    # as received bytes are fed to it; once the body's end is parsed, the response
    # hands its connection back to the pool by itself.
    arrived = response._body_buffer
    while True:
        if arrived:
            block = bytes(arrived)
            arrived.clear()
            yield block
        elif response.message_complete:
            return
        else:
            sock = response._sock
            if sock is None:
                raise HTTPParseError("the stream ended early")
            try:
                # b"" (closed) is fed too: the parser ends a body that runs to the
                # close, and raises for a chunked or Content-Length one left short.
                response.feed(sock.recv(response.block_size))
            except BaseException:
                response.release()  # a connection broken mid-body is closed, never reused
                raise


def release(response) -> None:
    """Hands the connection back: to the pool when the body was read to its end,
    else it is closed at once (the client went away or the stream broke)."""
    try:
        response.release()
    except Exception:
        pass


def cancel(response) -> None:
    """Cut the connection under a read that another greenlet is blocked in: the
    upstream sees it closed at once, and the blocked read ends with an error
    (the reader then releases the response itself)."""
    sock = getattr(response, "_sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
