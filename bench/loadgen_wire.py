"""How the load generator sends one request and reads its answer: on an aiohttp session
(``request``) or on a connection of its own, HTTP/1.1 parsed in the transport's callback
(``direct_request``); a stream's events are split and timestamped as they arrive, by
substring, nothing JSON-parsed."""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from urllib.parse import urlsplit

import aiohttp
from loadgen_samples import Sample, Target

now = time.perf_counter
_TERMINAL = (
    b"data: [DONE]",
    b"data:[DONE]",
    b"event: message_stop",
    b"event:message_stop",
    b"event: response.completed",
    b"event:response.completed",
    b"event: response.incomplete",
    b"event:response.incomplete",
)
_ERROR = (
    b'data: {"error"',
    b'data:{"error"',
    b"event: error",
    b"event:error",
    b"event: response.failed",
    b"event:response.failed",
)
_OPENAI_TEXT = re.compile(rb'"content": ?"[^"]')  # a delta with non-empty text
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)")


class _Scan:
    """SSE body bytes in as they arrive; counts and timestamps events."""

    __slots__ = ("buf", "sep", "events", "first", "last", "done", "error", "gaps")

    def __init__(self):
        self.buf, self.sep, self.events, self.first, self.last = b"", b"", 0, None, 0.0
        self.done, self.error, self.gaps = False, None, array("d")

    def feed(self, chunk: bytes, t: float) -> None:  # every event this chunk completes arrived at t
        buf = self.buf + chunk if self.buf else chunk
        if not self.sep:
            self.sep = b"\r\n\r\n" if b"\r\n" in buf else b"\n\n"
        sep, pos = self.sep, 0
        while (i := buf.find(sep, pos)) >= 0:
            ev, pos = buf[pos:i], i + len(sep)
            self.events += 1
            if self.first is not None:
                self.gaps.append(t - self.last)
                self.last = t
            elif b"content_block_delta" in ev or b"response.output_text.delta" in ev or _OPENAI_TEXT.search(ev):
                self.first = self.last = t
            if ev.startswith(_TERMINAL):
                self.done = True
            elif ev.startswith(_ERROR):
                self.error = ev[:200].decode(errors="replace")
        self.buf = buf[pos:]

    def sample(self, start: float, status: int, end: float) -> Sample:
        error = self.error or (None if self.done else "stream ended without its terminal event")
        return Sample(
            start,
            status,
            error is None,
            end - start,
            None if self.first is None else self.first - start,
            self.gaps,
            self.events,
            error,
        )


def _failed(start: float, status: int, e: BaseException, timeout: float) -> Sample:
    error = f"timeout after {timeout}s" if isinstance(e, asyncio.TimeoutError) else f"{type(e).__name__}: {e}"
    return Sample(start, status, False, now() - start, error=error)


def _http_error(start: float, status: int, t_head: float, body: bytes) -> Sample:
    return Sample(
        start,
        status,
        False,
        now() - start,
        t_head - start,
        error=f"HTTP {status}: {body[:200].decode(errors='replace')}",
    )


async def request(
    session: aiohttp.ClientSession, target: Target, start: float, timeout: aiohttp.ClientTimeout
) -> Sample:
    """One request on the session; all times count from ``start``."""
    status = 0
    try:
        async with session.post(target.url, data=target.body, headers=target.headers, timeout=timeout) as resp:
            status, t_head = resp.status, now()
            if not 200 <= status < 300:
                return _http_error(start, status, t_head, await resp.read())
            if not target.stream:
                await resp.read()
                return Sample(start, status, True, now() - start, t_head - start)
            scan, read = _Scan(), resp.content.readany
            while chunk := await read():
                scan.feed(chunk, now())
            return scan.sample(start, status, now())
    except Exception as e:  # refused, reset, timed out, malformed: a failed sample
        return _failed(start, status, e, timeout.total)


class _Direct(asyncio.Protocol):
    """One request on its own connection, its HTTP/1.1 response parsed in data_received."""

    def __init__(self, req: bytes, start: float, stream: bool, done: asyncio.Future):
        self.req, self.start, self.stream, self.done = req, start, stream, done
        self.head, self.status, self.t_head, self.left, self.chunks = b"", 0, 0.0, -1, None
        self.need, self.body, self.scan = 0, b"", _Scan()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.req)

    def data_received(self, data: bytes) -> None:
        t = now()
        if self.done.done():
            return
        if not self.status:
            self.head += data
            if (i := self.head.find(b"\r\n\r\n")) < 0:
                return
            head, data = self.head[: i + 2].lower(), self.head[i + 4 :]
            self.status, self.t_head = int(head[9:12]), t
            if b"\r\ntransfer-encoding: chunked\r\n" in head:
                self.chunks = b""
            elif m := _CONTENT_LENGTH.search(head):
                self.left = int(m[1])
        end = False
        if self.chunks is not None:
            data, end = self._dechunk(data)
        elif self.left >= 0:
            self.left -= len(data)
            end = self.left <= 0
        if data:
            if self.stream and 200 <= self.status < 300:
                self.scan.feed(data, t)
            elif len(self.body) < 200:
                self.body += data
        if end:
            self._finish(None)

    def _dechunk(self, data: bytes) -> tuple[bytes, bool]:
        buf, out = self.chunks + data, []
        while True:
            if self.need > 0:  # bytes of the current chunk still to come
                out.append(buf[: self.need])
                self.need, buf = self.need - len(out[-1]), buf[self.need :]
                if self.need:
                    break
                self.need = -2  # its CRLF
            if self.need == -2:
                if len(buf) < 2:
                    break
                self.need, buf = 0, buf[2:]
            if (i := buf.find(b"\r\n")) < 0:
                break
            size, buf = int(buf[:i].split(b";")[0], 16), buf[i + 2 :]
            if size == 0:
                self.chunks = b""
                return b"".join(out), True
            self.need = size
        self.chunks = buf
        return b"".join(out), False

    def connection_lost(self, exc) -> None:  # a body without a length ends with the connection
        framed = self.chunks is not None or self.left >= 0
        self._finish(
            exc or (ConnectionResetError("connection closed mid-response") if framed or not self.status else None)
        )

    def _finish(self, exc) -> None:
        if self.done.done():
            return
        self.transport.close()
        s, status = self.start, self.status
        if exc is not None:
            self.done.set_result(_failed(s, status, exc, 0))
        elif not 200 <= status < 300:
            self.done.set_result(_http_error(s, status, self.t_head, self.body))
        else:
            self.done.set_result(
                self.scan.sample(s, status, now())
                if self.stream
                else Sample(s, status, True, now() - s, self.t_head - s)
            )


async def direct_request(target: Target, start: float, timeout_s: float) -> Sample:
    """One request on a fresh connection of its own (closed after the response)."""
    u = urlsplit(target.url)
    port = u.port or (443 if u.scheme == "https" else 80)
    head = "".join(f"{k}: {v}\r\n" for k, v in target.headers.items())
    req = (
        f"POST {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1\r\nHost: {u.netloc}\r\n"
        f"Content-Length: {len(target.body)}\r\nConnection: close\r\n{head}\r\n"
    ).encode() + target.body
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    proto = _Direct(req, start, target.stream, done)
    try:
        async with asyncio.timeout(timeout_s):
            await loop.create_connection(lambda: proto, u.hostname, port, ssl=u.scheme == "https" or None)
            return await done
    except Exception as e:
        if getattr(proto, "transport", None):
            proto.transport.close()
        ok = done.done() and not done.cancelled()
        return done.result() if ok else _failed(start, proto.status, e, timeout_s)
