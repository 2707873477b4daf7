"""A fast stand-in for an upstream LLM provider, the baseline Lumyx is measured against.

It speaks OpenAI Chat Completions, Anthropic Messages and OpenAI Responses (plain and
streamed) from a raw asyncio protocol on uvloop, with answers prebuilt and cached per
(format, model, prompt size, streaming options), so that what a request costs here is
close to the physical limit of one Python process answering HTTP.

    .venv/bin/python bench/upstream.py --port 9100 [--host 127.0.0.1] [--latency-ms 0]
        [--chunks 20] [--chunk-delay-ms 0] [--processes 1]

Once listening it prints `upstream listening on http://HOST:PORT` (the real port when
--port 0). SIGTERM or SIGINT stops it.

    POST /v1/chat/completions, /chat/completions   OpenAI; "stream": true for SSE, with a
                                                    usage chunk when stream_options.include_usage
    POST /v1/messages                               Anthropic; "stream": true for SSE
    POST /v1/responses, /responses                  OpenAI Responses; "stream": true for SSE (`event: <type>`
                                                    frames, each with its sequence_number, ending in
                                                    response.completed with the output and usage)
    GET  /health                                    {"ok":true}
    GET  /_bench/config, POST /_bench/config        {"latency_ms", "chunks", "chunk_delay_ms"},
                                                    POST any subset; answers the new config
    GET  /_bench/stats, POST /_bench/stats/reset    {"requests", "streams_open"}

A model whose name has "cached" in it reports half of each prompt as read from the cache
(OpenAI's cached_tokens, Anthropic's cache_read_input_tokens). latency-ms delays the start of each answer; chunk-delay-ms spaces the content chunks of a
stream (0: the whole stream in one write): the first token goes with the headers, the last
with the end of the stream, so a stream takes latency + (chunks - 1) * delay. Every answer carries `chunks` tokens (words in turn);
prompt tokens are the request body's length / 4. "requests" counts completion, message and
response requests only. With --processes K > 1, K processes share the port (SO_REUSEPORT); the
configuration is then fixed by the flags (POST /_bench/config answers 409) and stats are
those of whichever process answers. Request bodies must carry Content-Length.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import traceback

import orjson
from upstream_answers import (
    CFG,
    HEALTH,
    METHOD,
    NOT_FOUND,
    _anthropic,
    _error,
    _openai,
    _response,
    _responses,
    _with_fresh_ids,
)

try:
    from uvloop import new_event_loop as _new_loop
except ImportError:  # plain asyncio, slower
    from asyncio import new_event_loop as _new_loop

_dumps, _loads = orjson.dumps, orjson.loads

STATS = {"requests": 0, "streams_open": 0}
PROCESSES = 1

MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024
CACHE_MAX = 1024
_cache: dict = {}  # (builder, model, stream, include_usage, prompt tokens) -> answer
_conns: set = set()
LOOP: asyncio.AbstractEventLoop  # this process's event loop, set by serve()


def _bench_config(body: bytes) -> bytes:
    if body:
        if PROCESSES > 1:
            return _error(b"409 Conflict", "configuration is fixed by the flags with --processes > 1")
        try:
            new = _loads(body)
            assert isinstance(new, dict) and set(new) <= set(CFG)
            for key, value in new.items():
                assert type(value) in (int, float) and value >= 0
                assert key != "chunks" or type(value) is int
        except Exception:
            return _error(
                b"400 Bad Request",
                "expected a JSON object with latency_ms, chunks or chunk_delay_ms, numbers >= 0 (chunks an integer)",
            )
        CFG.update(new)
        _cache.clear()
    return _response(b"200 OK", _dumps(CFG))


def _bench_reset(_body: bytes) -> bytes:
    STATS["requests"] = 0
    return _response(b"200 OK", _dumps(STATS))


LLM = {
    b"/v1/chat/completions": _openai,
    b"/chat/completions": _openai,
    b"/v1/messages": _anthropic,
    b"/v1/responses": _responses,
    b"/responses": _responses,
}
OTHER = {
    (b"GET", b"/health"): lambda _b: HEALTH,
    (b"GET", b"/_bench/config"): _bench_config,
    (b"POST", b"/_bench/config"): _bench_config,
    (b"GET", b"/_bench/stats"): lambda _b: _response(b"200 OK", _dumps(STATS)),
    (b"POST", b"/_bench/stats/reset"): _bench_reset,
}
KNOWN_PATHS = set(LLM) | {path for _m, path in OTHER}


class Upstream(asyncio.Protocol):
    """One client connection: keep-alive HTTP/1.1, one request answered at a time."""

    def connection_made(self, transport):
        self.t, self.buf, self.head = transport, bytearray(), None
        self.busy = self.close_after = self.stream_open = False
        self.timer = self.parts = None
        _conns.add(self)

    def connection_lost(self, exc):
        _conns.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._stream_closed()
        self.t = None

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self._process()

    def _process(self):
        """Answer every complete request in the buffer until one is left pending."""
        buf = self.buf
        while not self.busy and self.t is not None:
            if self.head is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        self._answer(_error(b"431 Request Header Fields Too Large", "headers too large"), True)
                    return
                head = bytes(buf[:end])
                del buf[: end + 4]
                try:
                    self.head = self._parse_head(head)
                except Exception:
                    self._answer(_error(b"400 Bad Request", "malformed request"), True)
                    return
            method, path, length, close = self.head
            if length > MAX_BODY:
                self._answer(_error(b"413 Payload Too Large", "request body too large"), True)
                return
            if len(buf) < length:
                return
            body = bytes(buf[:length])
            del buf[:length]
            self.head = None
            try:
                self._handle(method, path, body, close)
            except Exception as exc:  # never let a bad request take the connection down uncleanly
                self._answer(_error(b"500 Internal Server Error", repr(exc)), True)

    @staticmethod
    def _parse_head(head: bytes):
        line_end = head.find(b"\r\n")
        method, target, version = (head if line_end < 0 else head[:line_end]).split(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(version)
        headers = b"" if line_end < 0 else head[line_end:].lower()
        length = 0
        i = headers.find(b"\r\ncontent-length:")
        if i >= 0:
            j = headers.find(b"\r\n", i + 2)
            length = int(headers[i + 17 : j if j > 0 else None])
            if length < 0:
                raise ValueError(length)
        if b"\r\ntransfer-encoding:" in headers:
            raise ValueError("chunked request bodies are not supported")
        close = version == b"HTTP/1.0" or b"\r\nconnection: close" in headers or b"\r\nconnection:close" in headers
        return method, target.split(b"?", 1)[0], length, close

    def _handle(self, method: bytes, path: bytes, body: bytes, close: bool):
        build = LLM.get(path)
        if build is None:
            handler = OTHER.get((method, path))
            if handler is not None:
                resp = handler(body)
            else:
                resp = METHOD if path in KNOWN_PATHS else NOT_FOUND
            return self._answer(resp, close)
        anthropic = build is _anthropic
        if method != b"POST":
            return self._answer(_error(b"405 Method Not Allowed", "method not allowed", anthropic), close)
        STATS["requests"] += 1
        try:
            req = _loads(body)
            model = req["model"]
            assert isinstance(model, str)
        except Exception:
            return self._answer(
                _error(b"400 Bad Request", 'expected a JSON object with a string "model"', anthropic), close
            )
        stream = req.get("stream") is True
        options = req.get("stream_options")
        include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
        key = (build, model, stream, include_usage, max(1, len(body) // 4))
        resp = _cache.get(key)
        if resp is None:
            if len(_cache) >= CACHE_MAX:
                _cache.clear()
            resp = _cache[key] = build(*key[1:])
        if build is _responses:
            resp = _with_fresh_ids(resp)
        if stream:
            self.stream_open = True
            STATS["streams_open"] += 1
        latency = CFG["latency_ms"]
        if latency > 0:
            self.busy, self.close_after = True, close
            self.timer = LOOP.call_later(latency / 1000, self._later, resp)
        else:
            self._answer(resp, close)

    def _later(self, resp):
        self.timer = None
        self._answer(resp, self.close_after)
        self._process()

    def _answer(self, resp, close: bool):
        """Send a prebuilt answer: bytes, or a stream tuple from _stream()."""
        if type(resp) is tuple:
            whole, first, self.parts, _last, n = resp
            delay = CFG["chunk_delay_ms"] / 1000
            if delay > 0 and n > 1:
                self.busy, self.close_after, self.left, self.delay = True, close, n - 1, delay
                self.next_part = 0
                self.t.write(first)
                # Ideal times (call_at, not call_later) so lateness never accumulates.
                self.due = LOOP.time() + delay
                self.timer = LOOP.call_at(self.due, self._tick, resp)
                return
            resp = whole
        self.t.write(resp)
        self._stream_closed()
        self.busy = False
        if close:
            self._close()

    def _tick(self, resp):
        """Write the next token of a delayed stream; one timer per stream, rescheduled."""
        self.left -= 1
        if self.left > 0:
            self.t.write(self.parts[self.next_part])
            self.next_part += 1
            self.due += self.delay
            self.timer = LOOP.call_at(self.due, self._tick, resp)
            return
        self.timer = None
        self.t.write(resp[3])
        self._stream_closed()
        self.busy = False
        if self.close_after:
            self._close()
        else:
            self._process()

    def _close(self):
        self.busy = True  # nothing more is read or answered on this connection
        self.t.close()

    def _stream_closed(self):
        if self.stream_open:
            self.stream_open = False
            STATS["streams_open"] -= 1


SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve(sock: socket.socket, ready) -> None:
    """Serve on a listening socket until SIGTERM or SIGINT; ready() once the loop runs."""
    global LOOP
    loop = LOOP = _new_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(Upstream, sock=sock, backlog=4096))
    for sig in SIGNALS:
        loop.add_signal_handler(sig, loop.stop)

    def started():
        # Signals stay blocked (see main) until the loop runs, so none is lost in between.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        ready()

    loop.call_soon(started)
    loop.run_forever()
    server.close()
    for conn in list(_conns):
        if conn.t is not None:
            conn.t.abort()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


def main() -> None:
    global PROCESSES
    parser = argparse.ArgumentParser(description="Lumyx benchmark upstream provider stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    if min(args.latency_ms, args.chunks, args.chunk_delay_ms) < 0 or args.processes < 1:
        parser.error("values must be >= 0 (processes >= 1)")
    CFG.update(latency_ms=args.latency_ms, chunks=args.chunks, chunk_delay_ms=args.chunk_delay_ms)
    PROCESSES = args.processes
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)

    socks = [socket.create_server((args.host, args.port), backlog=4096, reuse_port=PROCESSES > 1)]
    port = socks[0].getsockname()[1]
    socks += [socket.create_server((args.host, port), backlog=4096, reuse_port=True) for _ in range(PROCESSES - 1)]
    host = f"[{args.host}]" if ":" in args.host else args.host
    announce = f"upstream listening on http://{host}:{port}"
    if PROCESSES == 1:
        return serve(socks[0], lambda: print(announce, flush=True))

    # K processes, each with its own SO_REUSEPORT socket; each reports on a pipe once serving.
    pids, (r, w) = [], os.pipe()
    for own in socks:
        pid = os.fork()
        if pid == 0:
            os.close(r)
            for other in socks:
                if other is not own:
                    other.close()
            try:
                serve(own, lambda: (os.write(w, b"."), os.close(w)))
                os._exit(0)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
        pids.append(pid)
    os.close(w)
    for s in socks:
        s.close()

    def forward(_sig, _frame):
        for child in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    for sig in SIGNALS:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    got = b""
    while len(got) < PROCESSES:
        part = os.read(r, PROCESSES)
        if not part:  # a child failed to start, or a signal stopped them all
            break
        got += part
    if len(got) == PROCESSES:
        print(announce, flush=True)
    else:
        forward(None, None)
    for child in pids:
        os.waitpid(child, 0)
    raise SystemExit(0 if len(got) == PROCESSES else 1)


if __name__ == "__main__":
    main()
