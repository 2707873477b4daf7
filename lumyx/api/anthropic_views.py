"""Anthropic-format endpoints: messages and messages/count_tokens."""

from __future__ import annotations

from flask import request

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import anthropic, json_body
from lumyx.api.respond import respond
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call, new_call
from lumyx.providers.base import COUNT_TOKENS, MESSAGES
from lumyx.wire import anthropic as wire
from lumyx.wire import capabilities

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def _start(operation: str, validate) -> Call:
    key = require_key()
    body = json_body()
    facts = validate(body)
    body = wire.hoist_system_messages(body)
    body = personas.apply(body, personas.requested(key.user_id, body), "anthropic")
    model = gateway.resolve(runtime.get().catalog.current(), body["model"], key)
    capabilities.require_capabilities(model, body, "messages", has_image=facts["has_image"])
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    stream = operation == MESSAGES and body.get("stream") is True
    return new_call(key, model, operation, "anthropic", body, stream=stream, client_headers=headers)


@anthropic.post("/messages")
def messages():
    return respond(_start(MESSAGES, wire.validate_messages))


@anthropic.post("/messages/count_tokens")
def count_tokens():
    return respond(_start(COUNT_TOKENS, wire.validate_count_tokens))
