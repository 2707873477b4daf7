"""Pooled HTTP to upstreams (urllib3), with failures mapped to UpstreamFailure.

One pool manager per worker process; connections are kept alive and reused.
Under gevent the sockets are cooperative, so a worker holds many upstream
requests at once.
"""
from __future__ import annotations

import os
import socket
from typing import Iterator

import orjson
import urllib3
from urllib3.exceptions import (ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError,
                                ProtocolError, ReadTimeoutError)

from .base import UpstreamFailure

CONNECT_TIMEOUT_S = 10.0
MAX_ERROR_BODY = 64 * 1024
_pool: urllib3.PoolManager | None = None
_pool_pid = 0


def pool() -> urllib3.PoolManager:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        _pool = urllib3.PoolManager(num_pools=64, maxsize=1024, block=False, retries=False)
        _pool_pid = os.getpid()
    return _pool


def post(url: str, payload: dict, headers: dict, timeout_s: float, secret: str | None) -> urllib3.BaseHTTPResponse:
    """POST JSON; returns the open response (2xx) or raises UpstreamFailure."""
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_S, timeout_s), read=timeout_s)
    try:
        response = pool().request("POST", url, body=orjson.dumps(payload), headers=headers,
                                  timeout=timeout, preload_content=False, retries=False, redirect=False)
    except NewConnectionError:  # (a subclass of ConnectTimeoutError: test it first)
        raise UpstreamFailure("connect", "could not connect to the upstream") from None
    except (ConnectTimeoutError, ReadTimeoutError) as exc:
        kind = "connect" if isinstance(exc, ConnectTimeoutError) else "read"
        raise UpstreamFailure("timeout", f"upstream {kind} timed out") from None
    except (MaxRetryError, ProtocolError, HTTPError, OSError):
        raise UpstreamFailure("connect", "could not connect to the upstream") from None
    if response.status >= 300:
        raise _status_failure(response, secret)
    return response


def _status_failure(response, secret: str | None) -> UpstreamFailure:
    status = response.status
    try:
        raw = response.read(MAX_ERROR_BODY)
    except (HTTPError, OSError):
        raw = b""
    finally:
        response.release_conn()
    message = _error_message(raw) or f"upstream answered HTTP {status}"
    if secret:
        message = message.replace(secret, "[redacted]")
    retryable = status >= 500 or status in (401, 403, 404, 408, 409, 429)
    return UpstreamFailure("status", message[:1000], status=status, retryable=retryable,
                           retry_after=response.headers.get("retry-after"))


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
    except ReadTimeoutError:
        raise UpstreamFailure("timeout", "upstream read timed out") from None
    except (HTTPError, OSError):
        raise UpstreamFailure("protocol", "upstream closed the connection mid-body") from None
    finally:
        response.release_conn()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamFailure("protocol", "upstream sent a body that is not JSON") from None
    if not isinstance(body, dict):
        raise UpstreamFailure("protocol", "upstream sent a body that is not a JSON object")
    return body


def iter_body(response) -> Iterator[bytes]:
    """The body's bytes as they arrive, for streams."""
    if response.chunked:
        yield from response.read_chunked(decode_content=True)
    else:
        while True:
            chunk = response.read1(65536)
            if not chunk:
                return
            yield chunk


def abort(response) -> None:
    """Drop the connection at once (the client went away or the stream broke)."""
    try:
        response.close()
    except Exception:
        pass


def cancel(response) -> None:
    """Cut the connection under a read that another greenlet is blocked in: the
    upstream sees it closed at once, and the blocked read ends with an error
    (the reader then closes the response itself)."""
    sock = getattr(getattr(response, "_connection", None), "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def finish(response) -> None:
    """Return a fully read connection to the pool."""
    response.release_conn()
