"""OpenAI-format endpoints: chat completions, legacy completions, embeddings."""

from __future__ import annotations

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api, json_body
from lumyx.api.respond import respond
from lumyx.errors import bad_request
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call
from lumyx.providers.base import CHAT, COMPLETIONS, EMBEDDINGS
from lumyx.wire import openai as wire


def _start(operation: str, validate) -> tuple[Call, object]:
    key = require_key()
    body = json_body()
    facts = validate(body)
    if operation == CHAT:
        body = personas.apply(body, personas.requested(key.user_id, body), "openai")
    model = gateway.resolve(runtime.get().catalog.current(), body["model"])
    reasoning = body.get("reasoning")
    call = Call(
        key=key,
        model=model,
        operation=operation,
        client_wire="openai",
        body=body,
        stream=body.get("stream") is True,
        include_usage=(body.get("stream_options") or {}).get("include_usage") is True,
        exclude_reasoning=isinstance(reasoning, dict) and reasoning.get("exclude") is True,
    )
    return call, facts


def _not_embedding(call: Call) -> None:
    if call.model.is_embedding:
        raise bad_request(f"The model '{call.model.id}' is an embedding model; use the embeddings endpoint.", "model")


@api.post("/chat/completions")
def chat_completions():
    call, facts = _start(CHAT, wire.validate_chat)
    model, body = call.model, call.body
    _not_embedding(call)
    if body.get("tools") and not model.supports("tools"):
        raise bad_request(f"The model '{model.id}' does not support tools.", "tools")
    if facts["has_image"] and not model.supports("vision"):
        raise bad_request(f"The model '{model.id}' does not accept images.", "messages")
    fmt = (body.get("response_format") or {}).get("type")
    if fmt in ("json_object", "json_schema") and not model.supports("json_mode"):
        raise bad_request(f"The model '{model.id}' does not support response_format {fmt}.", "response_format")
    return respond(call)


@api.post("/completions")
def completions():
    call, _ = _start(COMPLETIONS, wire.validate_completion)
    _not_embedding(call)
    return respond(call)


@api.post("/embeddings")
def embeddings():
    call, _ = _start(EMBEDDINGS, wire.validate_embeddings)
    if not call.model.is_embedding:
        raise bad_request(f"The model '{call.model.id}' does not produce embeddings.", "model")
    call.stream = False
    return respond(call)
