"""Anthropic-format endpoints: messages and messages/count_tokens. Messages take
the routing fields (:mod:`lumyx.routing.request_fields`); a token count ignores them."""

from __future__ import annotations

from flask import request

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import anthropic, json_body
from lumyx.api.respond import respond
from lumyx.gateway.call import Call, new_call
from lumyx.providers.base import COUNT_TOKENS, MESSAGES
from lumyx.routing import request_fields
from lumyx.wire import anthropic as wire

# The call's client headers: the first two are forwarded to Anthropic upstreams; Claude
# Code's session id names the conversation for sticky routing (lumyx.routing.sticky).
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta", "x-claude-code-session-id")


def _start(operation: str, validate) -> Call:
    key = require_key()
    body, asked = request_fields.take(json_body())
    facts = validate(body)
    body = wire.hoist_system_messages(body)
    body = personas.apply(body, personas.requested(key.user_id, body), "anthropic")
    if operation != MESSAGES:  # a token count is the first model's, on its own routes
        asked = request_fields.NOTHING_ASKED
    model, prefs, fallbacks = request_fields.choose(
        runtime.get().catalog.current(), asked, key, body, "messages", has_image=facts["has_image"]
    )
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    stream = operation == MESSAGES and body.get("stream") is True
    return new_call(
        key,
        model,
        operation,
        "anthropic",
        body,
        stream=stream,
        client_headers=headers,
        preferences=prefs,
        fallbacks=fallbacks,
    )


@anthropic.post("/messages")
def messages():
    return respond(_start(MESSAGES, wire.validate_messages))


@anthropic.post("/messages/count_tokens")
def count_tokens():
    return respond(_start(COUNT_TOKENS, wire.validate_count_tokens))
