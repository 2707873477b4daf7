"""API authentication: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``.

Every API request is identified before anything else runs (the rate limiter
counts per key); the view then requires the identified key. An expired key
identifies no one (nothing is counted for it) and is told so: 401.
"""

from __future__ import annotations

from flask import g, request

from lumyx import runtime
from lumyx.accounts.keys import KeyContext
from lumyx.errors import ApiError


def presented_key() -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def identify() -> None:
    """Sets g.api_key to the request's valid key, or None (g.key_expired: it was
    a key, past its expiry)."""
    raw = presented_key()
    key = runtime.get().keys.authenticate(raw) if raw is not None else None
    g.key_expired = key is not None and key.expired()
    g.api_key = None if g.key_expired else key


def require_key() -> KeyContext:
    if "api_key" not in g:
        identify()
    if g.api_key is None:
        if presented_key() is None:
            raise ApiError(
                401, "unauthorized", "Missing API key. Pass it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
            )
        if g.get("key_expired"):
            raise ApiError(401, "unauthorized", "This API key has expired; create a new one on the keys page.")
        raise ApiError(401, "unauthorized", "Invalid API key provided.")
    return g.api_key
