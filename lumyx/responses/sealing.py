"""Sealed reasoning: the replayable reasoning of a chat/messages upstream (a
reasoning item's private ``reasoning_details``) carried by the client as the
item's ``encrypted_content``, so that a client that stores nothing (Codex,
``store: false``) can send it back and the upstream's turn is rebuilt.

``"lmx1." + itsdangerous.URLSafeSerializer(SECRET_KEY, salt).dumps({"d": details})``:
signed with the app's SECRET_KEY, so content that was changed, or sealed by
another installation, is refused (400 ``invalid_encrypted_content``). It is
signed, not encrypted: it holds what the client's own answer held.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from lumyx.errors import ApiError

PREFIX = "lmx1."
SALT = "lumyx.responses.reasoning"


@lru_cache(maxsize=8)
def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def _secret(secret: str | None) -> str:
    return secret if secret is not None else current_app.config["SECRET_KEY"]


def is_sealed(value) -> bool:
    """Content sealed by Lumyx (anything else in ``encrypted_content`` is an upstream's own)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(details: list, *, secret: str | None = None) -> str:
    """``details`` as ``encrypted_content``. ``secret``: the app's SECRET_KEY when
    called outside an app context."""
    return PREFIX + _serializer(_secret(secret)).dumps({"d": details})


def unverified(item_id: str | None) -> ApiError:
    return ApiError(
        400,
        "invalid_encrypted_content",
        f"The encrypted content for item {item_id or '(without an id)'} could not be verified.",
        param="input",
    )


def open_sealed(token: str, *, item_id: str | None = None, secret: str | None = None) -> list:
    """The details sealed in ``token``; 400 ``invalid_encrypted_content`` (naming
    ``item_id``) when it was not sealed by this installation or was changed."""
    if not is_sealed(token):
        raise unverified(item_id)
    try:
        data = _serializer(_secret(secret)).loads(token[len(PREFIX) :])
    except BadData:
        raise unverified(item_id) from None
    if not isinstance(data, dict) or not isinstance(data.get("d"), list):
        raise unverified(item_id)
    return data["d"]
