"""Anthropic-format endpoints: messages and messages/count_tokens."""
from __future__ import annotations

from flask import request

from .. import runtime
from ..errors import bad_request
from ..providers.base import COUNT_TOKENS, MESSAGES
from ..services import gateway, personas
from ..services.calls import Call
from ..wire import anthropic as wire
from .auth import require_key
from .blueprint import api
from .body import json_body
from .respond import respond

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
    return Call(key=key, model=model, operation=operation, client_wire="anthropic", body=body,
                stream=operation == MESSAGES and body.get("stream") is True, client_headers=headers)


@api.post("/messages")
def messages():
    return respond(_start(MESSAGES, wire.validate_messages))


@api.post("/messages/count_tokens")
def count_tokens():
    return respond(_start(COUNT_TOKENS, wire.validate_count_tokens))
