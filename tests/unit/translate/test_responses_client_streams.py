"""Responses clients on Chat upstreams, streamed: recorded chat streams (text;
reasoning then a tool call; a custom apply_patch call; a namespaced call;
parallel calls, interleaved; cut by the length limit; broken mid-call) through
ChatToResponsesStream, checked event by event, accumulated by openai-python's
own stream state and read by ``client.responses.stream()``; and the chain from
an Anthropic stream, with the signed thinking going back to Anthropic first in
the next request's assistant turn."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletionChunk

from lumyx.translate import (
    AnthropicToOpenAIStream,
    chat_response_to_responses,
    openai_request_to_anthropic,
    responses_request_to_chat,
)
from tests.unit.translate.responses_client_support import (
    CREATED_AT,
    MODEL,
    RESPONSE_ID,
    SUFFIX,
    chat_stream,
    check_responses_events,
    client_request,
    new_stream,
    through_sdk_stream_helper,
    translate_stream,
)
from tests.unit.translate.translate_support import (
    OPENAI_TRANSCRIPTS,
    feed_all,
    openai_transcript_text,
    openai_transcript_tool_calls,
    transcript_payloads,
    validate_anthropic_request,
    validate_openai_request,
)

CODEX = client_request("codex_followup_request")
PLAIN = {"model": "m", "input": "hi"}
CLIENT_STREAMS = ["apply_patch_call", "namespace_call"]


def types_of(events: list[dict]) -> list[str]:
    return [e["type"].removeprefix("response.") for e in events]


@pytest.mark.parametrize("name", sorted(set(OPENAI_TRANSCRIPTS) - {"error_mid_stream"}) + CLIENT_STREAMS)
def test_every_recorded_chat_stream_gives_a_well_formed_responses_stream(name):
    chunks = chat_stream(name)
    _, events = translate_stream(CODEX, chunks)
    final = check_responses_events(events, terminal=events[-1]["type"])
    texts = [p["text"] for item in final["output"] if item["type"] == "message" for p in item["content"]]
    assert "".join(texts) == openai_transcript_text(chunks)
    if events[-1]["type"] == "response.completed":
        seen, sdk_final = through_sdk_stream_helper(events, CODEX)
        assert seen == [e["type"] for e in events]
        assert sdk_final.model_dump(exclude_none=True)["output"] == [
            {k: v for k, v in item.items() if v is not None} for item in final["output"]
        ]


def test_a_text_stream_event_by_event():
    _, events = translate_stream(PLAIN, chat_stream("text_basic"))
    assert types_of(events) == [
        "created",
        "in_progress",
        "output_item.added",
        "content_part.added",
        *["output_text.delta"] * (len(events) - 8),
        "output_text.done",
        "content_part.done",
        "output_item.done",
        "completed",
    ]
    final = check_responses_events(events)
    assert final["output"][0]["id"] == f"msg_{SUFFIX}_0"
    assert final["usage"]["total_tokens"] > 0 and final["status"] == "completed"
    assert (final["id"], final["created_at"], final["model"]) == (RESPONSE_ID, CREATED_AT, MODEL)


def test_reasoning_then_a_tool_call_keeps_the_signed_details():
    _, events = translate_stream(PLAIN, chat_stream("reasoning_signature_tool"))
    final = check_responses_events(events)
    reasoning, message, call = final["output"]
    assert reasoning["summary"][0]["text"] == "I need the current weather in Berlin, so I will call get_weather."
    assert reasoning["reasoning_details"] == [
        {
            "type": "reasoning.text",
            "text": "I need the current weather in Berlin, so I will call get_weather.",
            "format": "anthropic-claude-v1",
            "signature": "EpMCCkYICBACGAIqQLvM3d0oFakeSignatureForBerlinWeatherThinkingBlock==",
        }
    ]
    assert message["content"][0]["text"] == "Let me check the weather in Berlin."
    assert (call["type"], call["name"], call["arguments"]) == ("function_call", "get_weather", '{"city": "Berlin"}')
    assert final["usage"]["output_tokens_details"] == {"reasoning_tokens": 31}


def test_a_custom_apply_patch_call_streams_its_decoded_input_once():
    _, events = translate_stream(CODEX, chat_stream("apply_patch_call"))
    final = check_responses_events(events)
    patch = '*** Begin Patch\n*** Add File: notes.txt\n+Remember the milk.\n+Call "Ada" at 5.\n*** End Patch\n'
    inputs = [e for e in events if e["type"].startswith("response.custom_tool_call_input")]
    assert [(e["type"], e.get("delta", e.get("input"))) for e in inputs] == [
        ("response.custom_tool_call_input.delta", patch),
        ("response.custom_tool_call_input.done", patch),
    ]
    assert not [e for e in events if e["type"].startswith("response.function_call_arguments")]
    assert final["output"][1] == {
        "id": f"ctc_{SUFFIX}_1",
        "type": "custom_tool_call",
        "status": "completed",
        "call_id": "call_Pq8XvM2nR4tL6wB1yK9sD3fH",
        "name": "apply_patch",
        "input": patch,
    }
    assert final["usage"]["input_tokens_details"]["cached_tokens"] == 2048


def test_a_namespaced_call_comes_back_with_its_namespace():
    _, events = translate_stream(CODEX, chat_stream("namespace_call"))
    final = check_responses_events(events)
    message, spawn, shell = final["output"]
    assert (spawn["name"], spawn["namespace"]) == ("spawn_agent", "multi_agent_v1")
    assert json.loads(spawn["arguments"]) == {"task": "Summarise README.md", "agent_type": "explorer"}
    assert (shell["name"], "namespace" in shell) == ("exec_command", False)
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert added[1]["namespace"] == "multi_agent_v1"


def test_interleaved_parallel_calls_stay_open_together():
    chunks = chat_stream("parallel_tools_interleaved")
    _, events = translate_stream(PLAIN, chunks)
    final = check_responses_events(events)
    calls = [item for item in final["output"] if item["type"] == "function_call"]
    expected = openai_transcript_tool_calls(chunks)
    assert [(c["call_id"], c["name"], c["arguments"]) for c in calls] == [
        (expected[i]["id"], expected[i]["name"], expected[i]["arguments"]) for i in sorted(expected)
    ]
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    assert added == done == sorted(added)
    assert events.index(next(e for e in events if e["type"] == "response.output_item.done")) > max(
        i for i, e in enumerate(events) if e["type"] == "response.output_item.added"
    )


def test_a_length_cut_ends_incomplete_with_the_last_item_incomplete():
    chunks = chat_stream("finish_without_usage")
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    _, events = translate_stream(PLAIN, chunks)
    final = check_responses_events(events, terminal="response.incomplete")
    assert (final["status"], final["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})
    assert final["output"][-1]["status"] == "incomplete" and final["usage"] is None


def test_a_stream_ended_inside_a_call_without_finish_reason_is_incomplete():
    _, events = translate_stream(PLAIN, chat_stream("truncated_no_finish"))
    final = check_responses_events(events, terminal="response.incomplete")
    assert final["output"][-1]["status"] == "incomplete"


def test_a_broken_stream_fails_with_its_items_as_they_stand():
    stream, events = translate_stream(CODEX, chat_stream("cut_mid_call"), close=False)
    events += stream.fail("server_error", "The upstream connection was lost.")
    final = check_responses_events(events, terminal="response.failed")
    assert (final["status"], final["error"]) == (
        "failed",
        {"code": "server_error", "message": "The upstream connection was lost."},
    )
    message, call = final["output"]
    assert message["content"][0]["text"] == "Let me run the tests first." and message["status"] == "completed"
    assert (call["arguments"], call["status"]) == ('{"cmd":"pytest -q', "incomplete")
    assert final["usage"] is None
    assert stream.ended and stream.feed(chat_stream("text_basic")[1]) == [] and stream.close() == []


def test_close_and_fail_without_any_chunk_still_give_a_well_formed_stream():
    events = new_stream(PLAIN).close()
    assert types_of(events) == ["created", "in_progress", "completed"]
    assert check_responses_events(events)["output"] == []
    events = new_stream(PLAIN).fail("server_error", "no answer")
    assert types_of(events) == ["created", "in_progress", "failed"]


def test_refusal_then_text_switches_parts_and_details_merge_by_index():
    chunks = [
        {
            "choices": [
                {"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text", "text": "Hm", "index": 0}]}}
            ]
        },
        {
            "choices": [
                {"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text", "text": "m.", "index": 0}]}}
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"reasoning_details": [{"type": "reasoning.text", "signature": "s1", "index": 0}]},
                }
            ]
        },
        {
            "choices": [
                {"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.encrypted", "data": "e", "index": 1}]}}
            ]
        },
        {"choices": [{"index": 0, "delta": {"refusal": "I won't"}}]},
        {"choices": [{"index": 0, "delta": {"content": "But here is why."}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    ]
    _, events = translate_stream(PLAIN, chunks)
    final = check_responses_events(events)
    reasoning, message = final["output"]
    assert reasoning["summary"] == [] and reasoning["reasoning_details"] == [
        {"type": "reasoning.text", "text": "Hmm.", "signature": "s1"},
        {"type": "reasoning.encrypted", "data": "e"},
    ]
    assert message["content"] == [
        {"type": "refusal", "refusal": "I won't"},
        {"type": "output_text", "text": "But here is why.", "annotations": [], "logprobs": []},
    ]
    assert final["usage"]["total_tokens"] == 7


@pytest.mark.parametrize("name", ["reasoning_signature_tool", "apply_patch_call", "namespace_call"])
def test_the_stream_ends_with_what_the_non_streamed_answer_holds(name):
    chunks = chat_stream(name)
    _, events = translate_stream(CODEX, chunks)
    message: dict = {"role": "assistant", "content": "", "reasoning_content": "", "tool_calls": []}
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
        for choice in chunk["choices"]:
            delta = choice["delta"]
            message["content"] += delta.get("content") or ""
            message["reasoning_content"] += delta.get("reasoning_content") or delta.get("reasoning") or ""
            for call in delta.get("tool_calls") or ():
                if call.get("id"):
                    message["tool_calls"].append(
                        {"id": call["id"], "type": "function", "function": dict(call["function"])}
                    )
                else:
                    message["tool_calls"][call["index"]]["function"]["arguments"] += call["function"]["arguments"]
    body = {
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": chunks[-1].get("usage"),
    }
    whole = chat_response_to_responses(body, request=CODEX, response_id=RESPONSE_ID, created_at=CREATED_AT, model=MODEL)
    streamed = events[-1]["response"]
    for item in (*streamed["output"], *whole["output"]):
        item.pop("reasoning_details", None)
    assert streamed == whole


# -- an Anthropic upstream: Messages stream -> Chat chunks -> Responses events ---------


def test_an_anthropic_stream_chains_on_and_its_thinking_goes_back_first():
    request = {
        "model": "claude-via-lumyx",
        "input": [{"role": "user", "content": "Weather and time in Paris?"}],
        "reasoning": {"effort": "medium"},
        "tools": [
            {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}},
            {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
        ],
        "stream": True,
    }
    chat_request = responses_request_to_chat(request)
    validate_openai_request(chat_request)
    validate_anthropic_request(openai_request_to_anthropic(chat_request, default_max_tokens=16000))

    anthropic = AnthropicToOpenAIStream(model="claude-via-lumyx", include_usage=True)
    chunks = feed_all(anthropic, transcript_payloads("anthropic_stream", "thinking_text_two_tools"))
    _, events = translate_stream(request, chunks)
    final = check_responses_events(events)
    reasoning, message, weather, time = final["output"]
    signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds2TdlpyKMd3Sa4g5Ai1KwdY8e2cFSJvK5EyBG/4oSHaTmxBj0w9j5emuSeETq6n6p8sVmQ=="
    thinking = "The user wants the weather in Paris and the local time there. I can call both tools in parallel."
    assert reasoning["summary"] == [{"type": "summary_text", "text": thinking}]
    assert reasoning["reasoning_details"] == [{"type": "reasoning.text", "text": thinking, "signature": signature}]
    assert (weather["type"], weather["name"], time["name"]) == ("function_call", "get_weather", "get_time")
    assert final["usage"]["input_tokens"] == 1024 + 112 + 2048
    assert final["usage"]["input_tokens_details"] == {"cached_tokens": 2048, "cache_write_tokens": 112}

    follow_up = {
        **request,
        "input": [
            *request["input"],
            *final["output"],
            {"type": "function_call_output", "call_id": weather["call_id"], "output": "Sunny"},
            {"type": "function_call_output", "call_id": time["call_id"], "output": "12:00"},
        ],
    }
    chat_request = responses_request_to_chat(follow_up)
    validate_openai_request(chat_request)
    messages = openai_request_to_anthropic(chat_request, default_max_tokens=16000)
    validate_anthropic_request(messages)
    assert messages["thinking"]["type"] == "enabled"
    turn = messages["messages"][1]
    assert turn["role"] == "assistant"
    assert turn["content"][0] == {"type": "thinking", "thinking": thinking, "signature": signature}
    assert [b["type"] for b in turn["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert message["content"][0]["text"] == turn["content"][1]["text"]
