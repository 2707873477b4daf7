"""Anthropic-format endpoints: messages and messages/count_tokens."""

from __future__ import annotations

from flask import request

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import anthropic, json_body
from lumyx.api.respond import respond
from lumyx.errors import bad_request
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call
from lumyx.providers.base import COUNT_TOKENS, MESSAGES
from lumyx.wire import anthropic as wire

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def _start(operation: str, validate) -> Call:
    key = require_key()
    body = json_body()
    facts = validate(body)
    body = wire.hoist_system_messages(body)
    body = personas.apply(body, personas.requested(key.user_id, body), "anthropic")
    model = gateway.resolve(runtime.get().catalog.current(), body["model"])
    if model.is_embedding:
        raise bad_request(f"The model '{model.id}' is an embedding model; it cannot answer messages.", "model")
    if body.get("tools") and not model.supports("tools"):
        raise bad_request(f"The model '{model.id}' does not support tools.", "tools")
    if facts["has_image"] and not model.supports("vision"):
        raise bad_request(f"The model '{model.id}' does not accept images.", "messages")
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    return Call(
        key=key,
        model=model,
        operation=operation,
        client_wire="anthropic",
        body=body,
        stream=operation == MESSAGES and body.get("stream") is True,
        client_headers=headers,
    )


@anthropic.post("/messages")
def messages():
    return respond(_start(MESSAGES, wire.validate_messages))


@anthropic.post("/messages/count_tokens")
def count_tokens():
    return respond(_start(COUNT_TOKENS, wire.validate_count_tokens))
