"""Fake upstream, shared part: the WSGI app shell, scenarios, token rules, ids.

See tests/fakes/upstream.py for how to run the server and the scenario list.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import socket
import sys
import time
from array import array
from collections import OrderedDict, deque
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import parse_qs

import gevent
import gevent.select
import orjson
from gevent.pywsgi import WSGIHandler

DEFAULT_KEY = "upstream-test-key"
FINGERPRINT = "fp_fake5e1f0b"
REFUSAL_TEXT = "I'm sorry, but I can't help with that."
FILLER = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua"
).split()
MIN_CACHEABLE_TOKENS = 1024

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIRECTIVE_RE = re.compile(r"\[\[scenario:([^\]]+)\]\]")
_PARALLEL_RE = re.compile(r"\bparallel\b", re.IGNORECASE)
_STATUS_LINES: dict[int, str] = {}
_DATE = [0, ""]
STREAM_FAULTS = ("drop", "error-event", "stall", "malformed-sse", "malformed-json")
PEEK = socket.MSG_PEEK


class Config:
    """Server options (the CLI flags of tests/fakes/upstream.py)."""

    def __init__(self, key=None, latency_ms=0, chunks=None, chunk_delay_ms=0, record=True, record_limit=500):
        self.key = key or DEFAULT_KEY
        self.latency_ms = float(latency_ms or 0)
        self.chunks = int(chunks) if chunks else None
        self.chunk_delay_ms = float(chunk_delay_ms or 0)
        self.record = bool(record)
        self.record_limit = int(record_limit)

    def as_dict(self):
        return {
            "latency_ms": self.latency_ms,
            "chunks": self.chunks,
            "chunk_delay_ms": self.chunk_delay_ms,
            "record": self.record,
            "record_limit": self.record_limit,
        }


class Handler(WSGIHandler):
    """pywsgi handler that exposes itself to the app (for abrupt closes and disconnect checks)."""

    def get_environ(self):
        env = super().get_environ()
        env["fake.handler"] = self
        return env


class Req:
    __slots__ = (
        "env",
        "start",
        "method",
        "path",
        "raw",
        "body",
        "scen",
        "api",
        "handler",
        "sock",
        "rid",
        "text",
        "record",
    )

    def snippet(self, limit=40):
        return self.text[:limit].strip() or "(empty)"


# --------------------------------------------------------------------------- helpers


def status_line(code: int) -> str:
    line = _STATUS_LINES.get(code)
    if line is None:
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Overloaded" if code == 529 else "Unknown"
        line = _STATUS_LINES[code] = f"{code} {phrase}"
    return line


def http_date() -> str:
    now = int(time.time())
    if now != _DATE[0]:
        _DATE[0] = now
        _DATE[1] = formatdate(now, usegmt=True)
    return _DATE[1]


def make_id(prefix: str, n: int, width: int, salt: str = "") -> str:
    """Realistic-looking id, a pure function of (prefix, counter)."""
    v = int.from_bytes(hashlib.blake2b(f"{salt}{prefix}{n}".encode(), digest_size=20).digest(), "big")
    out = []
    for _ in range(width):
        v, r = divmod(v, 62)
        out.append(_B62[r])
    return prefix + "".join(out)


def parse_spec(spec: str, out: dict) -> None:
    """'status-503', 'status:503', 'slow:200', 'drop' (comma-separated) -> out[name] = arg."""
    for part in spec.split(","):
        name, _, arg = part.strip().partition(":")
        name = name.strip().lower()
        if name.startswith("status-"):
            arg = name[7:] + (":" + arg if arg else "")
            name = "status"
        if name:
            out[name] = arg.strip() or None


def scan_text(text: str, out: dict) -> str:
    """Collect [[scenario:...]] directives from text; return the text without them."""
    if "[[scenario:" not in text:
        return text.strip()
    for m in _DIRECTIVE_RE.finditer(text):
        parse_spec(m.group(1), out)
    return _DIRECTIVE_RE.sub("", text).strip()


def int_arg(scen: dict, name: str, default: int) -> int:
    try:
        return int(float(scen.get(name) or default))
    except ValueError:
        return default


def wants_parallel(text: str) -> bool:
    return "arallel" in text and _PARALLEL_RE.search(text) is not None


# --------------------------------------------------------------------------- token rules


def count_text(text) -> int:
    """Deterministic token estimate: words * 4 / 3 (rounded)."""
    if not text or not isinstance(text, str):
        return 0
    n = len(text.split())
    return (n * 4 + 2) // 3 if n else 1


def json_tokens(s) -> int:
    if not isinstance(s, (str, bytes)):
        s = orjson.dumps(s)
    return max(1, (len(s) + 3) // 4)


def split_tokens(text: str) -> list:
    """Reply 'tokens' (= stream chunks): words with their leading space; ''.join() round-trips."""
    if not text:
        return []
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def fit_tokens(pieces: list, n: int) -> list:
    if len(pieces) >= n:
        return pieces[:n]
    k = len(FILLER)
    return pieces + [" " + FILLER[i % k] for i in range(n - len(pieces))]


def shape_text(req: Req, text: str, stops, budget, fixed=False):
    """Apply long:<n>/--chunks, stop strings and max_tokens to a reply.

    Returns (pieces, reason, matched_stop) with reason in 'stop', 'stop_sequence', 'length'.
    """
    pieces = split_tokens(text)
    if not fixed:
        n = int_arg(req.scen, "long", 0) if "long" in req.scen else (req_chunks(req) or 0)
        if n > 0:
            pieces = fit_tokens(pieces, n)
    matched = None
    if stops:
        joined = "".join(pieces)
        best = -1
        for s in stops:
            if isinstance(s, str) and s:
                i = joined.find(s)
                if i >= 0 and (best < 0 or i < best):
                    best, matched = i, s
        if matched is not None:
            pieces = split_tokens(joined[:best])
    if budget is not None and len(pieces) > budget:
        return pieces[: max(budget, 0)], "length", None
    return pieces, ("stop_sequence" if matched is not None else "stop"), matched


def req_chunks(req: Req):
    return req.env.get("fake.chunks")


def split_fixed(s: str, size: int = 8) -> list:
    return [s[i : i + size] for i in range(0, len(s), size)] or [""]


def example_from_schema(schema, text: str, root=None, depth: int = 0):
    """Deterministic instance of a JSON schema: strings from the user text, numbers 1, booleans true."""
    if root is None:
        root = schema
    if not isinstance(schema, dict) or depth > 8:
        return text
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and isinstance(root, dict):
        node = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return example_from_schema(node, text, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        subs = schema.get(key)
        if isinstance(subs, list) and subs:
            pick = next((s for s in subs if not (isinstance(s, dict) and s.get("type") == "null")), subs[0])
            return example_from_schema(pick, text, root, depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t is None:
        t = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if t == "object":
        props = schema.get("properties") or {}
        req = schema.get("required")
        keys = req if isinstance(req, list) and req else list(props)
        return {k: example_from_schema(props.get(k, {}), text, root, depth + 1) for k in keys}
    if t == "array":
        return [example_from_schema(schema.get("items", {}), text, root, depth + 1)]
    if t in ("integer", "number"):
        return 1
    if t == "boolean":
        return True
    if t == "null":
        return None
    return text


def embedding_vector(key: str, dims: int):
    """Unit vector derived from the text: (list of float32-exact floats, base64 little-endian float32)."""
    raw = hashlib.shake_256(key.encode()).digest(dims * 2)
    ints = array("h")
    ints.frombytes(raw)
    norm = sum(v * v for v in ints) ** 0.5 or 1.0
    floats = array("f", [v / norm for v in ints])
    if sys.byteorder != "little":  # pragma: no cover
        floats.byteswap()
        b64 = base64.b64encode(floats.tobytes()).decode()
        floats.byteswap()
    else:
        b64 = base64.b64encode(floats.tobytes()).decode()
    return floats.tolist(), b64


def signature_for(text: str) -> str:
    digest = hashlib.blake2b(text.encode(), digest_size=64).digest()
    return base64.b64encode(b"\x12\x88\x02\n" + digest * 3).decode()


# --------------------------------------------------------------------------- the app


def new_stats() -> dict:
    return {
        "requests": 0,
        "by_path": {},
        "by_status": {},
        "streams_started": 0,
        "streams_completed": 0,
        "streams_aborted_by_client": 0,
        "streams_dropped": 0,
        "streams_error_event": 0,
        "active_streams": 0,
        "client_gone_before_response": 0,
        "responses_aborted_by_client": 0,
    }


class App:
    """The WSGI application. routes: {(method, path-without-/v1): {api: (handler, text_extractor)}}."""

    def __init__(self, config: Config, routes: dict, headers: dict, errors: dict):
        self.cfg = config
        self.routes = routes
        self.api_headers = headers  # api -> (json headers, sse headers, request-id header name)
        self.api_errors = errors  # api -> fn(app, req, status, etype, message, code, param, extra)
        self.records = deque(maxlen=config.record_limit)
        self.scenario = ""  # applied to every request (PUT /_fake/scenario), "" for none
        self.stats = new_stats()
        self.seq = itertools.count(1)
        self.prompt_cache: set = set()
        self.responses: OrderedDict = OrderedDict()  # stored Responses API responses, by id
        self.responses_items: dict = {}  # their output items, by id
        self.bearer = "Bearer " + config.key

    # ---- plumbing
    def __call__(self, env, start):
        path = env["PATH_INFO"]
        p = path[3:] if path.startswith("/v1/") else ("/" if path == "/v1" else path)
        if len(p) > 1 and p.endswith("/"):
            p = p.rstrip("/")
        method = env["REQUEST_METHOD"]
        if p.startswith("/_fake/"):
            return self.introspect(env, start, method, p)
        st = self.stats
        st["requests"] += 1
        bp = st["by_path"]
        bp[p] = bp.get(p, 0) + 1

        req = Req()
        req.env, req.start, req.method, req.path = env, start, method, p
        req.scen, req.text, req.body, req.record = {}, "", None, None
        handler = req.handler = env.get("fake.handler")
        req.sock = handler.socket if handler is not None else None
        if self.cfg.chunks:
            env["fake.chunks"] = self.cfg.chunks
        n = next(self.seq)

        entry = self.routes.get((method, p))
        if entry is None and method == "GET" and p.startswith("/models/"):
            entry = self.routes.get(("GET", "/models/{id}"))
        elif entry is None and p.startswith("/responses/") and p.count("/") in (2, 3):
            route = "/responses/{id}/input_items" if p.count("/") == 3 else "/responses/{id}"
            if p.count("/") == 2 or p.endswith("/input_items"):
                entry = self.routes.get((method, route))
        if entry is None:
            req.api = "anthropic" if p.startswith("/messages") else "openai"
        elif len(entry) == 1:
            req.api = next(iter(entry))
        else:
            anth = ("HTTP_X_API_KEY" in env or "HTTP_ANTHROPIC_VERSION" in env) and not env.get(
                "HTTP_AUTHORIZATION", ""
            ).startswith("Bearer ")
            req.api = "anthropic" if anth else "openai"
        req.rid = (
            make_id("req_011C", n, 20)
            if req.api == "anthropic"
            else "req_" + hashlib.blake2b(b"%d" % n, digest_size=16).hexdigest()
        )

        raw = b""
        inp = env.get("wsgi.input")
        cl = env.get("CONTENT_LENGTH")
        if cl:
            raw = inp.read(int(cl))
        elif env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            raw = inp.read()
        req.raw = raw
        if self.cfg.record:
            req.record = self.record(env, n, raw)

        if entry is None:
            if req.api == "anthropic":
                return self.error(req, 404, "not_found_error", "Not Found")
            return self.error(req, 404, "invalid_request_error", f"Invalid URL ({method} {path})")

        denied = self.check_auth(req)
        if denied is not None:
            return denied

        if raw:
            try:
                req.body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                req.body = None
            if not isinstance(req.body, dict):
                return self.bad_json(req)
        elif method == "POST":
            return self.bad_json(req)
        else:
            req.body = {}

        fn, extract = entry[req.api]
        scen = req.scen
        if self.scenario:
            parse_spec(self.scenario, scen)
        hdr = env.get("HTTP_X_FAKE_SCENARIO")
        if hdr:
            parse_spec(hdr, scen)
        model = req.body.get("model")
        if isinstance(model, str) and model.startswith("fake-"):
            parse_spec(model[5:], scen)
        if extract is not None:
            try:
                req.text = scan_text(extract(req.body), scen)
            except (AttributeError, TypeError, KeyError, IndexError):
                req.text = ""
        if req.record is not None and scen:
            req.record["scenario"] = dict(scen)

        delay = self.cfg.latency_ms + (int_arg(scen, "slow", 1000) if "slow" in scen else 0)
        if delay > 0 and not self.nap(req.sock, delay / 1000.0):
            st["client_gone_before_response"] += 1
            self.kill(req)
            start(status_line(499), [("Content-Length", "0")])
            return [b""]
        if "status" in scen:
            return self.status_error(req)
        return fn(self, req)

    def record(self, env, n, raw):
        headers = {}
        for k, v in env.items():
            if k[:5] == "HTTP_":
                headers[k[5:].replace("_", "-").lower()] = v
        if "CONTENT_TYPE" in env:
            headers["content-type"] = env["CONTENT_TYPE"]
        if "CONTENT_LENGTH" in env:
            headers["content-length"] = env["CONTENT_LENGTH"]
        entry = {
            "seq": n,
            "time": time.time(),
            "method": env["REQUEST_METHOD"],
            "path": env["PATH_INFO"],
            "query": env.get("QUERY_STRING", ""),
            "headers": headers,
            "body": None,
        }
        if raw:
            try:
                entry["body"] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                entry["raw_body"] = raw.decode("utf-8", "replace")
        self.records.append(entry)
        return entry

    def check_auth(self, req):
        env = req.env
        if req.api == "openai":
            auth = env.get("HTTP_AUTHORIZATION")
            if auth == self.bearer:
                return None
            if not auth or not auth.startswith("Bearer ") or not auth[7:].strip():
                return self.error(
                    req,
                    401,
                    "invalid_request_error",
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                    "or as the password field (with blank username) if you're accessing the API "
                    "from your browser and are prompted for a username and password. You can "
                    "obtain an API key from https://platform.openai.com/account/api-keys.",
                )
            key = auth[7:].strip()
            masked = key[:3] + "*" * max(len(key) - 7, 3) + key[-4:] if len(key) > 8 else "*" * len(key)
            return self.error(
                req,
                401,
                "invalid_request_error",
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        key = env.get("HTTP_X_API_KEY")
        if key is None:
            return self.error(req, 401, "authentication_error", "x-api-key header is required")
        if key != self.cfg.key:
            return self.error(req, 401, "authentication_error", "invalid x-api-key")
        if not env.get("HTTP_ANTHROPIC_VERSION"):
            return self.error(req, 400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def bad_json(self, req):
        if req.api == "anthropic":
            return self.error(
                req,
                400,
                "invalid_request_error",
                "There was an error parsing the body of your request. "
                "Please check that your request body is valid JSON.",
            )
        return self.error(
            req,
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON. If you have trouble figuring out how to fix "
            "this, please contact us through our help center at help.openai.com.)",
        )

    def error(self, req, status, etype, message, code=None, param=None, extra=()):
        return self.api_errors[req.api](self, req, status, etype, message, code, param, extra)

    def status_error(self, req):
        code_s, _, retry = (req.scen.get("status") or "500").partition(":")
        try:
            code = int(code_s)
        except ValueError:
            code = 500
        if not 100 <= code <= 999:
            code = 500
        return self.error(req, code, None, None, extra=(("retry-after", retry or "1"),) if code == 429 else ())

    # ---- responses
    def begin(self, req, code, headers):
        bs = self.stats["by_status"]
        bs[code] = bs.get(code, 0) + 1
        req.start(status_line(code), headers)

    def send_json(self, req, code, obj, extra=(), faults=True):
        body = obj if isinstance(obj, bytes) else orjson.dumps(obj)
        scen = req.scen
        if faults and code == 200 and "malformed-json" in scen:
            body = body[: max(1, len(body) // 2)]
        json_headers, _, rid_name = self.api_headers[req.api]
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Date", http_date()),
            (rid_name, req.rid),
        ]
        headers.extend(json_headers)
        headers.extend(extra)
        self.begin(req, code, headers)
        if faults and code == 200 and ("drop" in scen or "stall" in scen):
            return self.partial_body(req, body)
        return [body]

    def partial_body(self, req, body):
        half = len(body) // 2
        yield body[:half]
        if "drop" in req.scen:
            self.kill(req)
            return
        if not self.nap(req.sock, int_arg(req.scen, "stall", 1000) / 1000.0):
            self.stats["responses_aborted_by_client"] += 1
            return
        yield body[half:]

    def send_stream(self, req, frames, error_frame, garbage_frame):
        _, sse_headers, rid_name = self.api_headers[req.api]
        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("Date", http_date()),
            (rid_name, req.rid),
        ]
        headers.extend(sse_headers)
        self.begin(req, 200, headers)
        return self.streamer(req, frames, error_frame, garbage_frame)

    def streamer(self, req, frames, error_frame, garbage_frame):
        st = self.stats
        st["streams_started"] += 1
        st["active_streams"] += 1
        scen = req.scen
        fault = next((f for f in STREAM_FAULTS if f in scen), None) if scen else None
        k = -1
        if fault is not None:
            k = max(1, min(int_arg(scen, fault, 4) if fault != "stall" else 4, len(frames) - 2))
        delay = self.cfg.chunk_delay_ms / 1000.0
        sock = req.sock
        outcome = "streams_aborted_by_client"
        try:
            for i, frame in enumerate(frames):
                if i == k:
                    if fault == "drop":
                        outcome = "streams_dropped"
                        self.kill(req)
                        return
                    if fault == "error-event":
                        yield error_frame
                        outcome = "streams_error_event"
                        return
                    if fault == "stall":
                        if not self.nap(sock, int_arg(scen, "stall", 1000) / 1000.0):
                            return
                    elif fault == "malformed-sse":
                        yield garbage_frame
                    else:
                        yield frame[: len(frame) // 2] + b"\n\n"
                elif delay and i and not self.nap(sock, delay):
                    return
                yield frame
            # linger:MS keeps the stream open after its last frame, as an upstream
            # closing late does.
            if scen and "linger" in scen and not self.nap(sock, int_arg(scen, "linger", 1000) / 1000.0):
                return
            outcome = "streams_completed"
        finally:
            st["active_streams"] -= 1
            st[outcome] += 1

    def kill(self, req):
        """Close the connection right after what was written, without a terminating chunk."""
        h = req.handler
        if h is None:
            return
        h.response_use_chunked = False
        h.close_connection = True
        try:
            req.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def nap(sock, seconds: float) -> bool:
        """Sleep; return False as soon as the client closes the connection."""
        if sock is None:
            gevent.sleep(seconds)
            return True
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            try:
                readable, _, _ = gevent.select.select([sock], [], [], remaining)
                if not readable:
                    return True
                if not sock.recv(1, PEEK):
                    return False
            except OSError:
                return False
            gevent.sleep(max(0.0, deadline - time.monotonic()))
            return True

    # ---- prompt caching (stateful, bounded)
    def cache_lookup(self, key, store=()):
        hit = key in self.prompt_cache
        if len(self.prompt_cache) > 50000:
            self.prompt_cache.clear()
        self.prompt_cache.add(key)
        for k in store:
            self.prompt_cache.add(k)
        return hit

    # ---- /_fake/*
    def introspect(self, env, start, method, p):
        code, obj = 200, None
        if p == "/_fake/health":
            obj = {"status": "ok"}
        elif p == "/_fake/requests":
            if method == "DELETE":
                obj = {"cleared": len(self.records)}
                self.records.clear()
            else:
                q = parse_qs(env.get("QUERY_STRING", ""))
                items = list(self.records)
                if "path" in q:
                    want = q["path"][0]
                    items = [r for r in items if r["path"] == want or r["path"] == "/v1" + want]
                if "limit" in q:
                    items = items[-int(q["limit"][0]) :]
                obj = items
        elif p == "/_fake/scenario":
            if method in ("PUT", "DELETE"):
                raw = env["wsgi.input"].read(int(env.get("CONTENT_LENGTH") or 0)) if method == "PUT" else b""
                self.scenario = str(orjson.loads(raw).get("scenario") or "") if raw else ""
            obj = {"scenario": self.scenario}
        elif p == "/_fake/stats":
            if method == "DELETE":
                active = self.stats["active_streams"]
                self.stats = new_stats()
                self.stats["active_streams"] = active
            obj = dict(self.stats, recorded=len(self.records), config=self.cfg.as_dict())
        else:
            code, obj = 404, {"error": "unknown introspection endpoint"}
        body = orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
        start(status_line(code), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
