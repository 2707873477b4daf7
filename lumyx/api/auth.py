"""API authentication: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""
from __future__ import annotations

from flask import request

from .. import runtime
from ..errors import ApiError
from ..services.keys import KeyContext


def presented_key() -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def require_key() -> KeyContext:
    raw = presented_key()
    if raw is None:
        raise ApiError(401, "unauthorized",
                       "Missing API key. Pass it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
    context = runtime.get().keys.authenticate(raw)
    if context is None:
        raise ApiError(401, "unauthorized", "Invalid API key provided.")
    return context
