"""API authentication: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``.

Every API request is identified before anything else runs (the rate limiter
counts per key); the view then requires the identified key.
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
    """Sets g.api_key to the request's valid key, or None."""
    raw = presented_key()
    g.api_key = runtime.get().keys.authenticate(raw) if raw is not None else None


def require_key() -> KeyContext:
    if "api_key" not in g:
        identify()
    if g.api_key is None:
        if presented_key() is None:
            raise ApiError(
                401, "unauthorized", "Missing API key. Pass it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
            )
        raise ApiError(401, "unauthorized", "Invalid API key provided.")
    return g.api_key
