"""Agents chat: an OpenAI chat request whose server-side tools the gateway runs
itself (lumyx.agents.loop)."""

from __future__ import annotations

import orjson
from flask import Response, current_app, stream_with_context

from lumyx import runtime
from lumyx.agents import loop as agents
from lumyx.agents import personas
from lumyx.agents import tools as agent_tools
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api, json_body
from lumyx.api.respond import SSE_HEADERS
from lumyx.errors import bad_request
from lumyx.gateway import pipeline as gateway
from lumyx.wire import openai as wire


@api.post("/agents/chat/completions")
def agent_chat_completions():
    key = require_key()
    body = json_body()
    facts = wire.validate_chat(body)
    persona = personas.requested(key.user_id, body)
    body = personas.apply(body, persona, "openai")
    hosts = agent_tools.parse_hosts(current_app.config.get("LUMYX_AGENT_HTTP_HOSTS"))
    body, options = agents.parse_options(body, persona, hosts)
    state = runtime.get()
    model = gateway.resolve(state.catalog.current(), body["model"])
    if model.is_embedding:
        raise bad_request(f"The model '{model.id}' is an embedding model; it cannot chat.", "model")
    if (options.tools or body.get("tools")) and not model.supports("tools"):
        raise bad_request(
            f"The model '{model.id}' does not support tools.", "tools" if body.get("tools") else "server_tools"
        )
    if facts["has_image"] and not model.supports("vision"):
        raise bad_request(f"The model '{model.id}' does not accept images.", "messages")
    fmt = (body.get("response_format") or {}).get("type")
    if fmt in ("json_object", "json_schema") and not model.supports("json_mode"):
        raise bad_request(f"The model '{model.id}' does not support response_format {fmt}.", "response_format")
    run = agents.AgentRun(
        key=key,
        model=model,
        body=body,
        options=options,
        stream=body.get("stream") is True,
        free_daily_limit=state.free_daily_limit,
        keys=state.keys,
    )
    if not run.stream:
        result = run.complete()
        return Response(orjson.dumps(result), mimetype="application/json", headers={"x-request-id": run.request_id})
    events = run.start_stream()
    response = Response(stream_with_context(events), mimetype="text/event-stream", headers=SSE_HEADERS)
    response.headers["x-request-id"] = run.request_id
    app = current_app._get_current_object()

    def done() -> None:
        with app.app_context():
            run.close()

    response.call_on_close(done)
    return response
