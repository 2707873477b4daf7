"""Helpers for the tests of Responses clients on Chat upstreams.

* the recorded requests and chat streams under ``transcripts/responses_client``,
* running a chat stream through :class:`ChatToResponsesStream`,
* checking a Responses event sequence the way its strictest readers do: every
  event validated by openai-python's event types, items opened before their
  events and closed once, deltas adding up to their ``.done`` values and to the
  terminal response's ``output``, then the events fed to openai-python's own
  stream accumulator (``ResponseStreamState``) and to ``client.responses.stream()``
  over a mock transport.
"""

from __future__ import annotations

import copy
import json

import httpx2 as httpx
import openai
import pydantic
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from lumyx.translate import ChatToResponsesStream
from tests.unit.translate.translate_support import TRANSCRIPTS, feed_all, transcript_payloads

RESPONSE_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
RESPONSE_ID = "resp_9f3c2a41be7d4e0f8a6b5c4d3e2f1a0b"
SUFFIX = RESPONSE_ID.removeprefix("resp_")
CREATED_AT = 1796400000
MODEL = "lumyx-codex-test"
TERMINALS = ("response.completed", "response.incomplete", "response.failed")


def client_request(name: str) -> dict:
    return json.loads((TRANSCRIPTS / "responses_client" / f"{name}.json").read_text())


def chat_stream(name: str) -> list[dict]:
    """A recorded chat stream: ``responses_client/<name>`` or ``openai_stream/<name>``."""
    kind = "responses_client" if (TRANSCRIPTS / "responses_client" / f"{name}.sse").exists() else "openai_stream"
    return transcript_payloads(kind, name)


def new_stream(request: dict) -> ChatToResponsesStream:
    return ChatToResponsesStream(request=request, response_id=RESPONSE_ID, created_at=CREATED_AT, model=MODEL)


def translate_stream(request: dict, chunks: list[dict], *, close: bool = True) -> tuple[ChatToResponsesStream, list]:
    before = copy.deepcopy(request)
    stream = new_stream(request)
    events = feed_all(stream, chunks, close=close)
    assert request == before, "the stream mutated the request"
    return stream, events


def _open_state(event: dict) -> dict:
    item = event["item"]
    assert item["id"], item
    if item["type"] == "message":
        assert item["content"] == [] and item["status"] == "in_progress" and item["role"] == "assistant"
    elif item["type"] == "function_call":
        assert item["arguments"] == "" and item["status"] == "in_progress" and item["call_id"]
    elif item["type"] == "custom_tool_call":
        assert item["input"] == "" and item["status"] == "in_progress" and item["call_id"]
    else:
        assert item == {"id": item["id"], "type": "reasoning", "summary": []}, item
    return {"added": item, "done": None, "parts": [], "summaries": [], "payload": ""}


def _item_event(state: dict, event: dict) -> None:
    kind = event["type"].removeprefix("response.")
    parts, summaries = state["parts"], state["summaries"]
    if kind == "content_part.added":
        assert event["content_index"] == len(parts)
        assert event["part"] in (
            {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            {"type": "refusal", "refusal": ""},
        )
        parts.append(copy.deepcopy(event["part"]))
    elif kind in ("output_text.delta", "refusal.delta"):
        part = parts[event["content_index"]]
        assert event["delta"] != ""
        part["text" if part["type"] == "output_text" else "refusal"] += event["delta"]
    elif kind == "output_text.done":
        assert parts[event["content_index"]]["text"] == event["text"]
    elif kind == "refusal.done":
        assert parts[event["content_index"]]["refusal"] == event["refusal"]
    elif kind == "content_part.done":
        assert event["part"] == parts[event["content_index"]]
    elif kind == "reasoning_summary_part.added":
        assert event["summary_index"] == len(summaries) and event["part"] == {"type": "summary_text", "text": ""}
        summaries.append("")
    elif kind == "reasoning_summary_text.delta":
        summaries[event["summary_index"]] += event["delta"]
    elif kind == "reasoning_summary_text.done":
        assert summaries[event["summary_index"]] == event["text"]
    elif kind == "reasoning_summary_part.done":
        assert event["part"] == {"type": "summary_text", "text": summaries[event["summary_index"]]}
    elif kind in ("function_call_arguments.delta", "custom_tool_call_input.delta"):
        state["payload"] += event["delta"]
    elif kind == "function_call_arguments.done":
        assert (event["arguments"], event["name"]) == (state["payload"], state["added"]["name"])
    elif kind == "custom_tool_call_input.done":
        assert event["input"] == state["payload"]
    else:
        raise AssertionError(f"unexpected event {event['type']}")


def _check_done(state: dict) -> None:
    added, done = state["added"], state["done"]
    assert done is not None, f"item {added['id']} never closed"
    assert (done["id"], done["type"]) == (added["id"], added["type"])
    if done["type"] == "message":
        assert done["content"] == state["parts"] and done["status"] in ("completed", "incomplete")
    elif done["type"] == "reasoning":
        assert [s["text"] for s in done["summary"]] == state["summaries"]
    else:
        key = "arguments" if done["type"] == "function_call" else "input"
        assert done[key] == state["payload"] and done["call_id"] == added["call_id"]
        assert done["name"] == added["name"] and done.get("namespace") == added.get("namespace")


def check_responses_events(events: list[dict], *, terminal: str = "response.completed") -> dict:
    """Assert that ``events`` is a well-formed Responses stream; return the terminal event's response."""
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    models = [RESPONSE_EVENT.validate_python(e) for e in events]
    types = [e["type"] for e in events]
    assert types[:2] == ["response.created", "response.in_progress"], types[:3]
    assert types[-1] == terminal and sum(t in TERMINALS for t in types) == 1, types[-3:]
    for event in events[:2]:
        assert event["response"]["status"] == "in_progress" and event["response"]["output"] == []
        assert event["response"]["usage"] is None
    final = events[-1]["response"]
    assert {e["response"]["id"] for e in (events[0], events[1], events[-1])} == {final["id"]}
    Response.model_validate(final)

    items: list[dict] = []
    for event in events[2:-1]:
        if event["type"] == "response.output_item.added":
            assert event["output_index"] == len(items)
            items.append(_open_state(event))
            continue
        state = items[event["output_index"]]
        assert state["done"] is None, f"{event['type']} after the item closed"
        if event["type"] == "response.output_item.done":
            state["done"] = event["item"]
        else:
            assert event["item_id"] == state["added"]["id"]
            _item_event(state, event)
    for state in items:
        _check_done(state)
    assert final["output"] == [state["done"] for state in items]

    accumulator = ResponseStreamState(input_tools=omit, text_format=omit)
    fired = [fired for model in models for fired in accumulator.handle_event(model)]
    snapshot = accumulator._ResponseStreamState__current_snapshot
    assert [item.id for item in snapshot.output] == [state["added"]["id"] for state in items]
    for item, state in zip(snapshot.output, items, strict=True):
        if item.type == "message":
            texts = [p.text for p in item.content if p.type == "output_text"]
            assert texts == [p["text"] for p in state["done"]["content"] if p["type"] == "output_text"]
        elif item.type == "function_call":
            assert item.arguments == state["done"]["arguments"]
    if terminal == "response.completed":
        completed = fired[-1].response
        assert completed.id == final["id"] and [o.id for o in completed.output] == [i["id"] for i in final["output"]]
    return final


def through_sdk_stream_helper(events: list[dict], request: dict):
    """``client.responses.stream()`` reading ``events`` over a mock transport: (event types, final response)."""
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://lumyx.test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    with client.responses.stream(
        model=request["model"], input=request["input"], tools=request.get("tools") or omit
    ) as s:
        seen = [event.type for event in s]
        final = s.get_final_response()
    return seen, final
