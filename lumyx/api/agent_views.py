"""Agents chat: an OpenAI chat request whose server-side tools the gateway runs
itself (lumyx.agents.loop)."""

from __future__ import annotations

import orjson
from flask import Response, current_app, g, stream_with_context

from lumyx import runtime
from lumyx.agents import loop as agents
from lumyx.agents import options as agent_options
from lumyx.agents import personas
from lumyx.agents import tools as agent_tools
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api, json_body
from lumyx.api.respond import SSE_HEADERS, sse_body
from lumyx.gateway import pipeline as gateway
from lumyx.wire import capabilities
from lumyx.wire import openai as wire


@api.post("/agents/chat/completions")
def agent_chat_completions():
    key = require_key()
    body = json_body()
    facts = wire.validate_chat(body)
    persona = personas.requested(key.user_id, body)
    body = personas.apply(body, persona, "openai")
    hosts = agent_tools.parse_hosts(current_app.config.get("LUMYX_AGENT_HTTP_HOSTS"))
    body, options = agent_options.parse_options(body, persona, hosts)
    state = runtime.get()
    model = gateway.resolve(state.catalog.current(), body["model"], key)
    g.model_id = model.id
    capabilities.require_capabilities(
        model, body, "agents", has_image=facts["has_image"], server_tools=bool(options.tools)
    )
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
    response = Response(
        stream_with_context(sse_body(events, "openai")), mimetype="text/event-stream", headers=SSE_HEADERS
    )
    response.headers["x-request-id"] = run.request_id
    app = current_app._get_current_object()

    def done() -> None:
        with app.app_context():
            run.close()

    response.call_on_close(done)
    return response
