"""A stand-in for the part of Stripe's API that Lumyx calls: one real HTTP
server (gevent pywsgi) keeping Checkout Sessions in memory. Point the stripe
library at it with STRIPE_API_BASE.

Run it on its own::

    python -m tests.fakes.stripe_api --port 9200 [--key sk_test_...]

Stripe's endpoints (``Authorization: Bearer <key>``, form-encoded bodies with
``a[b][0][c]=v`` nesting, Stripe-shaped JSON and errors):

* ``POST /v1/checkout/sessions`` — create (mode payment, line_items with price_data)
* ``GET /v1/checkout/sessions/{id}`` — retrieve
* ``GET /v1/checkout/sessions`` — list, newest first: ``created[gt|gte|lt|lte]``,
  ``status``, ``limit`` (1-100, default 10), ``starting_after``, ``ending_before``

Test-only endpoints (no key): each state change answers ``{"session", "event"}``
with the event Stripe would send for it.

* ``POST /_fake/sessions/{id}/complete`` — JSON ``{"payment_status": "paid"|"unpaid"}``
  (default paid); computes tax when automatic_tax is on
* ``POST /_fake/sessions/{id}/async_payment_succeeded`` — a completed unpaid session is paid
* ``POST /_fake/sessions/{id}/expire``
* ``POST /_fake/sessions/{id}/backdate`` — JSON ``{"seconds": n}`` moves ``created`` back
* ``GET /_fake/sessions/{id}/event?type=...`` — an event for the session as it is now
* ``GET /_fake/requests`` (``DELETE`` clears), ``GET /_fake/health``
"""

from __future__ import annotations

if __name__ == "__main__":  # run as a server: patch before anything imports sockets
    from gevent import monkey

    monkey.patch_all()

import argparse
import itertools
import json
import re
import secrets
import string
import time
from urllib.parse import parse_qsl

import requests

from tests.support.servers import StandIn

DEFAULT_KEY = "sk_test_lumyxfake0000000000000000"
API_VERSION = "2026-10-28.endive"
TAX_RATE_BP = 825  # 8.25 % when automatic tax is on
_ALNUM = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/([A-Za-z0-9_]+)$")
_FAKE_PATH = re.compile(r"^/_fake/sessions/([A-Za-z0-9_]+)/([a-z_]+)$")


class StripeError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        error = {"type": "invalid_request_error", "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return {"error": error}


def new_id(prefix: str, length: int = 58) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def decode_form(body: str) -> dict:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY_RE.match(key)
        if not match:
            raise StripeError(400, f"Invalid parameter name: {key}", param=key)
        path = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise StripeError(400, f"Invalid parameter: {key}", param=key)
        node[path[-1]] = value
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def _int(value, param: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {value}", param=param) from None
    if number < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return number


class FakeStripe:
    """The WSGI app: sessions in memory, in creation order."""

    def __init__(self, key: str):
        self.key = key
        self.sessions: dict[str, dict] = {}
        self.order: dict[str, int] = {}
        self.counter = itertools.count()
        self.recorded: list[dict] = []

    # ------------------------------------------------------------------ plumbing

    def __call__(self, env, start):
        method, path = env["REQUEST_METHOD"], env.get("PATH_INFO", "")
        length = int(env.get("CONTENT_LENGTH") or 0)
        raw = env["wsgi.input"].read(length).decode() if length else ""
        query = env.get("QUERY_STRING", "")
        try:
            if path.startswith("/_fake/"):
                status, body = self.fake(method, path, raw, query)
            else:
                self.recorded.append(
                    {
                        "method": method,
                        "path": path,
                        "query": query,
                        "body": raw,
                        "authorization": env.get("HTTP_AUTHORIZATION", ""),
                        "content_type": env.get("CONTENT_TYPE", ""),
                        "stripe_version": env.get("HTTP_STRIPE_VERSION", ""),
                        "idempotency_key": env.get("HTTP_IDEMPOTENCY_KEY", ""),
                    }
                )
                del self.recorded[:-500]
                self.authorize(env.get("HTTP_AUTHORIZATION", ""))
                status, body = self.api(method, path, decode_form(raw) if method == "POST" else decode_form(query))
        except StripeError as exc:
            status, body = exc.status, exc.body()
        payload = json.dumps(body).encode()
        start(
            f"{status} {'OK' if status < 400 else 'Error'}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Request-Id", new_id("req_", 14)),
                ("Stripe-Version", API_VERSION),
            ],
        )
        return [payload]

    def authorize(self, header: str) -> None:
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or not key:
            raise StripeError(401, "You did not provide an API key. Provide it as 'Authorization: Bearer <key>'.")
        if key != self.key:
            raise StripeError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")

    def api(self, method: str, path: str, params: dict):
        if path == "/v1/checkout/sessions":
            if method == "POST":
                return 200, self.create(params)
            if method == "GET":
                return 200, self.list(params)
        match = _SESSION_PATH.match(path)
        if match and method == "GET":
            return 200, self.get(match.group(1))
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def get(self, session_id: str) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", param="session", code="resource_missing"
            )
        return session

    # ------------------------------------------------------------------ Stripe's API

    def create(self, params: dict) -> dict:
        if params.get("mode") != "payment":
            raise StripeError(400, "This fake supports only mode=payment.", param="mode")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeError(400, "line_items is required in payment mode.", param="line_items")
        subtotal, currency = 0, None
        for i, item in enumerate(items):
            price = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price, dict):
                raise StripeError(400, "Each line item needs price_data.", param=f"line_items[{i}][price_data]")
            unit = _int(price.get("unit_amount"), f"line_items[{i}][price_data][unit_amount]", 1)
            quantity = _int(item.get("quantity"), f"line_items[{i}][quantity]", 1)
            if not (price.get("product_data") or {}).get("name"):
                raise StripeError(
                    400, "Missing required param: name.", param=f"line_items[{i}][price_data][product_data][name]"
                )
            if currency not in (None, price.get("currency")):
                raise StripeError(400, "All line items must share one currency.", param="line_items")
            currency = price.get("currency")
            subtotal += unit * quantity
        if currency not in ("usd", "eur", "gbp"):
            raise StripeError(400, f"Invalid currency: {currency}.", param="line_items[0][price_data][currency]")
        if not params.get("success_url"):
            raise StripeError(400, "Missing required param: success_url.", param="success_url")
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise StripeError(400, "Invalid metadata.", param="metadata")
        now = int(time.time())
        session_id = new_id("cs_test_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": subtotal,
            "amount_total": subtotal,
            "currency": currency,
            "automatic_tax": {
                "enabled": (params.get("automatic_tax") or {}).get("enabled") == "true",
                "liability": None,
                "status": None,
            },
            "cancel_url": params.get("cancel_url"),
            "success_url": params["success_url"],
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "expires_at": now + 24 * 3600,
            "customer": None,
            "customer_email": params.get("customer_email"),
            "livemode": False,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.order[session_id] = next(self.counter)
        return session

    def list(self, params: dict) -> dict:
        limit = _int(params.get("limit", 10), "limit", 1)
        if limit > 100:
            raise StripeError(400, "This value must be less than or equal to 100.", param="limit")
        created = params.get("created") or {}
        if not isinstance(created, dict):
            created = {"eq": created}
        bounds = {op: _int(value, f"created[{op}]") for op, value in created.items()}
        tests = {
            "gt": lambda c, v: c > v,
            "gte": lambda c, v: c >= v,
            "lt": lambda c, v: c < v,
            "lte": lambda c, v: c <= v,
            "eq": lambda c, v: c == v,
        }
        rows = sorted(self.sessions.values(), key=lambda s: (s["created"], self.order[s["id"]]), reverse=True)
        rows = [
            s
            for s in rows
            if all(tests[op](s["created"], v) for op, v in bounds.items() if op in tests)
            and params.get("status") in (None, s["status"])
        ]
        ids = [s["id"] for s in rows]
        if params.get("starting_after"):
            rows = rows[self.index(ids, params["starting_after"], "starting_after") + 1 :]
            page, has_more = rows[:limit], len(rows) > limit
        elif params.get("ending_before"):
            rows = rows[: self.index(ids, params["ending_before"], "ending_before")]
            page, has_more = rows[-limit:], len(rows) > limit
        else:
            page, has_more = rows[:limit], len(rows) > limit
        return {"object": "list", "data": page, "has_more": has_more, "url": "/v1/checkout/sessions"}

    def index(self, ids: list, cursor: str, param: str) -> int:
        if cursor not in self.sessions:
            raise StripeError(400, f"No such checkout.session: '{cursor}'", param=param, code="resource_missing")
        return ids.index(cursor) if cursor in ids else len(ids)

    # ------------------------------------------------------------------ test-only

    def event(self, session: dict, kind: str) -> dict:
        return {
            "id": new_id("evt_", 24),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": session},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    def fake(self, method: str, path: str, raw: str, query: str):
        if path == "/_fake/health":
            return 200, {"ok": True}
        if path == "/_fake/requests":
            if method == "DELETE":
                self.recorded.clear()
            return 200, self.recorded
        match = _FAKE_PATH.match(path)
        if not match:
            raise StripeError(404, f"no fake endpoint {method} {path}")
        session, action = self.get(match.group(1)), match.group(2)
        args = json.loads(raw) if raw else {}
        if action == "event" and method == "GET":
            kind = dict(parse_qsl(query)).get("type", "checkout.session.completed")
            return 200, self.event(session, kind)
        if method != "POST":
            raise StripeError(405, f"use POST for {action}")
        if action == "complete":
            if session["status"] != "open":
                raise StripeError(400, f"the session is {session['status']}")
            session["status"] = "complete"
            session["payment_status"] = args.get("payment_status", "paid")
            if session["automatic_tax"]["enabled"]:
                tax = (session["amount_subtotal"] * TAX_RATE_BP + 5_000) // 10_000
                session["total_details"]["amount_tax"] = tax
                session["amount_total"] = session["amount_subtotal"] + tax
                session["automatic_tax"]["status"] = "complete"
            session["payment_intent"] = new_id("pi_", 24)
            kind = "checkout.session.completed"
        elif action == "async_payment_succeeded":
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise StripeError(400, "only a completed, unpaid session can succeed asynchronously")
            session["payment_status"] = "paid"
            kind = "checkout.session.async_payment_succeeded"
        elif action == "expire":
            if session["status"] != "open":
                raise StripeError(400, f"the session is {session['status']}")
            session["status"] = "expired"
            kind = "checkout.session.expired"
        elif action == "backdate":
            session["created"] -= int(args.get("seconds", 0))
            return 200, {"session": session}
        else:
            raise StripeError(404, f"no fake action {action}")
        return 200, {"session": session, "event": self.event(session, kind)}


def serve(host: str, port: int, key: str) -> None:
    from gevent.pywsgi import WSGIServer

    WSGIServer((host, port), FakeStripe(key), log=None, error_log=None).serve_forever()


class StripeProcess(StandIn):
    """The stand-in running in a child process, for tests."""

    def __init__(self, key: str = DEFAULT_KEY):
        self.key = key
        super().__init__("tests.fakes.stripe_api", "Stripe stand-in", "--key", key)

    def _post(self, path: str, payload: dict | None = None) -> dict:
        response = requests.post(self.url + path, json=payload or {}, timeout=5)
        assert response.ok, response.text
        return response.json()

    def session(self, session_id: str) -> dict:
        response = requests.get(
            f"{self.url}/v1/checkout/sessions/{session_id}", headers={"Authorization": f"Bearer {self.key}"}, timeout=5
        )
        assert response.ok, response.text
        return response.json()

    def complete(self, session_id: str, payment_status: str = "paid") -> dict:
        """Completes the checkout; returns the checkout.session.completed event."""
        return self._post(f"/_fake/sessions/{session_id}/complete", {"payment_status": payment_status})["event"]

    def async_payment_succeeded(self, session_id: str) -> dict:
        return self._post(f"/_fake/sessions/{session_id}/async_payment_succeeded")["event"]

    def expire(self, session_id: str) -> dict:
        return self._post(f"/_fake/sessions/{session_id}/expire")["event"]

    def backdate(self, session_id: str, seconds: int) -> dict:
        return self._post(f"/_fake/sessions/{session_id}/backdate", {"seconds": seconds})["session"]

    def event(self, session_id: str, kind: str) -> dict:
        response = requests.get(f"{self.url}/_fake/sessions/{session_id}/event", params={"type": kind}, timeout=5)
        assert response.ok, response.text
        return response.json()

    def requests(self) -> list[dict]:
        return requests.get(self.url + "/_fake/requests", timeout=5).json()


def start_process(key: str = DEFAULT_KEY) -> StripeProcess:
    return StripeProcess(key)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stripe API stand-in (Checkout Sessions).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the secret key it accepts (sk_test_...)")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.key)


if __name__ == "__main__":
    main()
