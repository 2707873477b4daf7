"""OpenAI-format endpoints: chat completions, legacy completions, embeddings, and
creating a response (the Responses API; its stored responses: response_views).
Chat completions and responses take the routing fields (:mod:`lumyx.routing.request_fields`)."""

from __future__ import annotations

from flask import current_app

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api, json_body
from lumyx.api.respond import respond
from lumyx.errors import bad_request
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call, new_call
from lumyx.providers.base import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES
from lumyx.responses import conversation
from lumyx.responses.keeping import Keeper
from lumyx.routing import request_fields
from lumyx.wire import capabilities
from lumyx.wire import openai as wire
from lumyx.wire.responses import validate_responses


def _start(operation: str, validate) -> tuple[Call, object]:
    key = require_key()
    body = json_body()
    facts = validate(body)
    model = gateway.resolve(runtime.get().catalog.current(), body["model"], key)
    stream = operation != EMBEDDINGS and body.get("stream") is True
    return new_call(key, model, operation, "openai", body, stream=stream), facts


@api.post("/chat/completions")
def chat_completions():
    key = require_key()
    body, asked = request_fields.take(json_body())
    facts = wire.validate_chat(body)
    body = personas.apply(body, personas.requested(key.user_id, body), "openai")
    model, prefs, fallbacks = request_fields.choose(
        runtime.get().catalog.current(), asked, key, body, "chat", has_image=facts["has_image"]
    )
    stream = body.get("stream") is True
    return respond(new_call(key, model, CHAT, "openai", body, stream=stream, preferences=prefs, fallbacks=fallbacks))


@api.post("/completions")
def completions():
    call, _ = _start(COMPLETIONS, wire.validate_completion)
    capabilities.require_generative(call.input.model, "completions")
    return respond(call)


@api.post("/embeddings")
def embeddings():
    call, _ = _start(EMBEDDINGS, wire.validate_embeddings)
    if not call.input.model.is_embedding:
        raise bad_request(f"The model '{call.input.model.id}' does not produce embeddings.", "model")
    return respond(call)


@api.post("/responses")
def responses():
    key = require_key()
    body, asked = request_fields.take(json_body())
    facts = validate_responses(body)
    body = personas.apply(body, personas.requested(key.user_id, body), "responses")
    model, prefs, fallbacks = request_fields.choose(
        runtime.get().catalog.current(), asked, key, body, "responses", has_image=facts["has_image"]
    )
    expanded = conversation.expand(key.user_id, body, max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    stream = body.get("stream") is True
    call = new_call(key, model, RESPONSES, "responses", expanded, stream=stream, preferences=prefs, fallbacks=fallbacks)
    return respond(call, Keeper(key.user_id, body))
