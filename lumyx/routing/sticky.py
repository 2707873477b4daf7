"""Cache-sticky routing: the requests of one conversation go to the route that
served it last, while that route stays healthy, so that the provider's prompt
cache keeps paying. Remembered for :data:`TTL_S` seconds after the last use,
in the store every worker shares (lumyx.routing.store).

A conversation is named by, first found: the Responses API's
``prompt_cache_key``, Claude Code's ``x-claude-code-session-id`` header, the
``user`` field (``metadata.user_id`` for Messages), else a hash of the
instructions and first message — always within one key and one model. Models
with one route never look it up.
"""

from __future__ import annotations

import functools
import hashlib
import time
from typing import TYPE_CHECKING

import orjson

from lumyx.catalog.snapshot import Route
from lumyx.routing import store
from lumyx.routing.measurements import route_key

if TYPE_CHECKING:
    from lumyx.gateway.call import CallInput

TTL_S = 600.0
REFRESH_S = 60.0  # a conversation staying on its route is written again at most this often
SESSION_HEADER = "x-claude-code-session-id"


def conversation_key(call: CallInput) -> str:
    """The store key of ``call``'s conversation."""
    body = call.body
    named = body.get("prompt_cache_key") or call.client_headers.get(SESSION_HEADER) or body.get("user")
    metadata = body.get("metadata")
    if not named and isinstance(metadata, dict):
        named = metadata.get("user_id")
    digest = hashlib.blake2b(f"{call.key.key_id}\0{call.model.id}\0".encode(), digest_size=16)
    if isinstance(named, str) and named:
        digest.update(b"n" + named.encode())
    else:
        digest.update(b"h" + orjson.dumps(_opening(body), option=orjson.OPT_SORT_KEYS))
    return "s:" + digest.hexdigest()


def _opening(body: dict) -> list:
    """What starts a conversation: its instructions and first message."""
    messages = body.get("messages")
    if isinstance(messages, list):  # chat (system is a message) and messages (system beside them)
        return [body.get("system"), messages[:2]]
    items = body.get("input")  # responses
    return [body.get("instructions"), items[:2] if isinstance(items, list) else items, body.get("prompt")]


def route_tag(route: Route) -> str:
    """How the store names a route (short: the host store's values are)."""
    return _tag(route_key(route))


@functools.lru_cache(maxsize=4096)
def _tag(name: str) -> str:
    return hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


def decode(value: str | None) -> tuple[str | None, float]:
    """(the remembered route's tag, when it was written) of a stored value."""
    if not value:
        return None, 0.0
    written, _, tag = value.partition(" ")
    try:
        return tag or None, float(written)
    except ValueError:
        return None, 0.0


def remembered(key: str) -> str | None:
    """The tag of the route that last served the conversation (:func:`route_tag`)."""
    return decode(store.shared.get_many([key])[0])[0]


def remember(key: str, route: Route, seen: str | None = None) -> None:
    """``route`` served the conversation; ``seen`` is its stored value as read before
    the call: unchanged and recent, nothing is written."""
    tag = route_tag(route)
    was, written = decode(seen)
    now = time.time()
    if was == tag and now - written < REFRESH_S:
        return
    store.shared.put(key, f"{now:.0f} {tag}", TTL_S)
