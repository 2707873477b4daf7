"""The OpenAI Agents SDK (`openai-agents`) against a Responses API base URL, run in
its own venv (.venv-agents): an Agent with one function tool, run by `Runner.run`
(or `Runner.run_streamed`) on the SDK's default model class, OpenAIResponsesModel,
with the client the docs configure and tracing off:

    set_default_openai_client(AsyncOpenAI(base_url=LUMYX_BASE_URL, api_key=LUMYX_API_KEY))
    set_tracing_disabled(True)

    python agents_sdk.py run|stream [--previous]

Reads LUMYX_BASE_URL (the server's /v1 URL), LUMYX_API_KEY, LUMYX_MODEL,
LUMYX_PROMPT and, when set, LUMYX_REASONING (an effort: the agent then asks for
reasoning with summaries). `--previous` runs with `auto_previous_response_id=True`
(each model call after the first sends only the new items and the
`previous_response_id`) and then a second turn chained by `previous_response_id`.
Prints one JSON object: the final output, the run's item types, the last
response id and the tool calls the SDK ran; with LUMYX_RECORD_REQUESTS=1 also
"requests", the body of every request the SDK sent (an httpx event hook on the
SDK's own default client, which is otherwise unchanged)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from agents import Agent, ModelSettings, Runner, function_tool, set_default_openai_client, set_tracing_disabled
from agents.model_settings import Reasoning
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

CALLS: list[dict] = []
SENT: list[dict] = []


async def record(request) -> None:
    body = json.loads(request.content) if request.content else None
    SENT.append({"method": request.method, "path": request.url.path, "body": body})


@function_tool
def lookup_order(order_id: str) -> str:
    """Look up the shipping status of an order."""
    CALLS.append({"order_id": order_id})
    return f"Order {order_id} shipped"


async def run_once(agent: Agent, prompt: str, stream: bool, **kwargs):
    if not stream:
        return await Runner.run(agent, prompt, **kwargs)
    result = Runner.run_streamed(agent, prompt, **kwargs)
    async for _ in result.stream_events():
        pass
    return result


async def main() -> None:
    mode = sys.argv[1]
    previous = "--previous" in sys.argv[2:]
    set_tracing_disabled(True)
    recording = os.environ.get("LUMYX_RECORD_REQUESTS") == "1"
    http = {"http_client": DefaultAsyncHttpxClient(event_hooks={"request": [record]})} if recording else {}
    set_default_openai_client(
        AsyncOpenAI(base_url=os.environ["LUMYX_BASE_URL"], api_key=os.environ["LUMYX_API_KEY"], **http)
    )
    effort = os.environ.get("LUMYX_REASONING")
    settings = ModelSettings(reasoning=Reasoning(effort=effort, summary="auto")) if effort else ModelSettings()
    agent = Agent(
        name="Assistant",
        instructions="Answer briefly. Use the tool for order questions.",
        tools=[lookup_order],
        model=os.environ["LUMYX_MODEL"],
        model_settings=settings,
    )
    stream = mode == "stream"
    kwargs = {"auto_previous_response_id": True} if previous else {}
    result = await run_once(agent, os.environ["LUMYX_PROMPT"], stream, **kwargs)
    out = {
        "final_output": result.final_output,
        "items": [item.type for item in result.new_items],
        "last_response_id": result.last_response_id,
        "tool_calls": list(CALLS),
    }
    if previous:
        second = await run_once(agent, "And the next one?", stream, previous_response_id=result.last_response_id)
        out["second"] = {"final_output": second.final_output, "items": [item.type for item in second.new_items]}
    if recording:
        out["requests"] = SENT
    print(json.dumps(out))


asyncio.run(main())
