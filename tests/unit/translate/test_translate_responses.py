"""Non-streaming responses both ways, plus the small pure helpers they use
(stop reasons, usage, ids, effort/budget)."""

from __future__ import annotations

import copy
import json
import time

import pytest

from lumyx.translate import (
    TranslationError,
    anthropic_response_to_openai,
    anthropic_stop_to_openai,
    budget_to_effort,
    effort_to_budget,
    openai_finish_to_anthropic,
    openai_response_to_anthropic,
)
from lumyx.translate.ids import anthropic_id_from_openai, openai_id_from_anthropic, tool_use_id
from lumyx.translate.usage import anthropic_usage_to_openai, openai_usage_to_anthropic
from tests.unit.translate.translate_support import validate_chat_completion, validate_message


def to_openai(resp: dict, model: str = "gpt-alias") -> dict:
    before = copy.deepcopy(resp)
    out = anthropic_response_to_openai(resp, model=model)
    assert resp == before, "input was mutated"
    validate_chat_completion(out)
    return out


def to_anthropic(resp: dict, model: str = "claude-alias") -> dict:
    before = copy.deepcopy(resp)
    out = openai_response_to_anthropic(resp, model=model)
    assert resp == before, "input was mutated"
    validate_message(out)
    return out


def anthropic_message(content, stop_reason="end_turn", usage=None, mid="msg_01AbCdEf"):
    return {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 12, "output_tokens": 34},
    }


def chat_completion(message, finish_reason="stop", usage=None, cid="chatcmpl-Xy12"):
    return {
        "id": cid,
        "object": "chat.completion",
        "created": 1761580000,
        "model": "gpt-4.1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage or {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }


# ===========================================================================
# Anthropic Message -> OpenAI chat.completion
# ===========================================================================


def test_anthropic_text_response():
    before = int(time.time())
    out = to_openai(anthropic_message([{"type": "text", "text": "Hello"}, {"type": "text", "text": " world"}]))
    assert out["id"] == "chatcmpl-01AbCdEf"
    assert out["object"] == "chat.completion" and out["model"] == "gpt-alias"
    assert before <= out["created"] <= int(time.time()) + 1
    assert out["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello world", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert out["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 34,
        "total_tokens": 46,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_anthropic_tool_use_response():
    out = to_openai(
        anthropic_message(
            [
                {"type": "text", "text": "Checking both."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A",
                    "name": "get_weather",
                    "input": {"city": "Zürich", "days": [1, 2]},
                },
                {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
            ],
            stop_reason="tool_use",
        )
    )
    message = out["choices"][0]["message"]
    assert message["content"] == "Checking both."
    assert [(c["id"], c["type"], c["function"]["name"]) for c in message["tool_calls"]] == [
        ("toolu_01A", "function", "get_weather"),
        ("toolu_01B", "function", "get_time"),
    ]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "Zürich", "days": [1, 2]}
    assert "Zürich" in message["tool_calls"][0]["function"]["arguments"]  # not \\u-escaped
    assert message["tool_calls"][1]["function"]["arguments"] == "{}"
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_anthropic_tool_only_response_has_null_content_and_empty_has_empty_string():
    out = to_openai(anthropic_message([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "tool_use"))
    assert out["choices"][0]["message"]["content"] is None
    out = to_openai(anthropic_message([], "end_turn"))
    assert out["choices"][0]["message"]["content"] == ""
    assert "tool_calls" not in out["choices"][0]["message"]


def test_anthropic_thinking_becomes_reasoning_content_and_details():
    out = to_openai(
        anthropic_message(
            [
                {"type": "thinking", "thinking": "Step one. ", "signature": "SIG-A"},
                {"type": "redacted_thinking", "data": "ENCRYPTED"},
                {"type": "thinking", "thinking": "Step two.", "signature": "SIG-B"},
                {"type": "text", "text": "Answer."},
            ]
        )
    )
    message = out["choices"][0]["message"]
    assert message["content"] == "Answer."
    assert message["reasoning_content"] == "Step one. Step two."
    assert message["reasoning_details"] == [
        {"type": "reasoning.text", "text": "Step one. ", "signature": "SIG-A"},
        {"type": "reasoning.encrypted", "data": "ENCRYPTED"},
        {"type": "reasoning.text", "text": "Step two.", "signature": "SIG-B"},
    ]


def test_anthropic_server_tool_blocks_and_citations_are_dropped():
    out = to_openai(
        anthropic_message(
            [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {
                    "type": "text",
                    "text": "Per the source, yes.",
                    "citations": [
                        {
                            "type": "web_search_result_location",
                            "url": "u",
                            "title": "t",
                            "encrypted_index": "e",
                            "cited_text": "c",
                        }
                    ],
                },
            ]
        )
    )
    message = out["choices"][0]["message"]
    assert message["content"] == "Per the source, yes."
    assert "tool_calls" not in message and "citations" not in json.dumps(out)


@pytest.mark.parametrize(
    "stop_reason, finish",
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
        ("brand_new_reason", "stop"),
    ],
)
def test_anthropic_stop_reason_to_finish_reason(stop_reason, finish):
    out = to_openai(anthropic_message([{"type": "text", "text": "x"}], stop_reason))
    assert out["choices"][0]["finish_reason"] == finish


def test_anthropic_usage_with_cache_and_thinking_tokens():
    out = to_openai(
        anthropic_message(
            [{"type": "text", "text": "x"}],
            usage={
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_read_input_tokens": 2000,
                "cache_creation_input_tokens": 300,
                "output_tokens_details": {"thinking_tokens": 20},
            },
        )
    )
    assert out["usage"] == {
        "prompt_tokens": 2400,
        "completion_tokens": 50,
        "total_tokens": 2450,
        "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 300},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    sdk = validate_chat_completion(out).usage
    assert sdk.prompt_tokens_details.cached_tokens == 2000
    assert sdk.completion_tokens_details.reasoning_tokens == 20


def test_anthropic_response_without_id_or_usage():
    resp = anthropic_message([{"type": "text", "text": "x"}])
    del resp["id"]
    resp["usage"] = None
    out = to_openai(resp)
    assert out["id"].startswith("chatcmpl-") and len(out["id"]) > len("chatcmpl-") + 8
    assert out["usage"]["total_tokens"] == 0


# ===========================================================================
# OpenAI chat.completion -> Anthropic Message
# ===========================================================================


def test_openai_text_response():
    out = to_anthropic(
        chat_completion(
            {"content": "Hello!", "refusal": None},
            usage={
                "prompt_tokens": 2071,
                "completion_tokens": 10,
                "total_tokens": 2081,
                "prompt_tokens_details": {"cached_tokens": 1920},
            },
        )
    )
    assert out == {
        "id": "msg_Xy12",
        "type": "message",
        "role": "assistant",
        "model": "claude-alias",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 151,
            "output_tokens": 10,
            "cache_read_input_tokens": 1920,
            "cache_creation_input_tokens": 0,
        },
    }


def test_openai_tool_calls_response():
    out = to_anthropic(
        chat_completion(
            {
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call 2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                    {"id": "call_3", "type": "function", "function": {"name": "broken", "arguments": '{"city": "Par'}},
                    {"id": "call_4", "type": "function", "function": {"name": "listy", "arguments": "[1, 2]"}},
                ],
            },
            finish_reason="tool_calls",
        )
    )
    assert out["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
        {"type": "tool_use", "id": "call_3", "name": "broken", "input": {"_raw_arguments": '{"city": "Par'}},
        {"type": "tool_use", "id": "call_4", "name": "listy", "input": {"_raw_arguments": "[1, 2]"}},
    ]
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    "finish, expected", [("stop", "tool_use"), (None, "tool_use"), ("length", "max_tokens"), ("tool_calls", "tool_use")]
)
def test_openai_finish_with_tool_calls(finish, expected):
    out = to_anthropic(
        chat_completion(
            {
                "content": "x",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            finish_reason=finish,
        )
    )
    assert out["stop_reason"] == expected
    assert [b["type"] for b in out["content"]] == ["text", "tool_use"]


@pytest.mark.parametrize(
    "finish, expected",
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("function_call", "tool_use"),
        (None, "end_turn"),
        ("eos", "end_turn"),
    ],
)
def test_openai_finish_reason_to_stop_reason(finish, expected):
    out = to_anthropic(chat_completion({"content": "x"}, finish_reason=finish))
    assert out["stop_reason"] == expected and out["stop_sequence"] is None


def test_openai_refusal_becomes_text_and_refusal_stop():
    out = to_anthropic(chat_completion({"content": None, "refusal": "I can't help with that."}))
    assert out["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert out["stop_reason"] == "refusal"


def test_openai_reasoning_content_becomes_unsigned_thinking():
    out = to_anthropic(chat_completion({"content": "9.9 is larger.", "reasoning_content": "Compare tenths."}))
    assert out["content"] == [
        {"type": "thinking", "thinking": "Compare tenths.", "signature": ""},
        {"type": "text", "text": "9.9 is larger."},
    ]
    out = to_anthropic(chat_completion({"content": "ok", "reasoning": "OpenRouter style."}))
    assert out["content"][0] == {"type": "thinking", "thinking": "OpenRouter style.", "signature": ""}


def test_openai_signed_reasoning_details_become_signed_thinking_blocks():
    out = to_anthropic(
        chat_completion(
            {
                "content": "Answer.",
                "reasoning": "Step one. Step two.",
                "reasoning_details": [
                    {
                        "type": "reasoning.text",
                        "text": "Step one. ",
                        "signature": "SIG-A",
                        "format": "anthropic-claude-v1",
                        "index": 0,
                    },
                    {"type": "reasoning.encrypted", "data": "ENCRYPTED", "index": 1},
                    {"type": "reasoning.text", "text": "Step two.", "signature": "SIG-B", "index": 2},
                    {"type": "reasoning.summary", "summary": "ignored", "index": 3},
                ],
            }
        )
    )
    assert out["content"] == [
        {"type": "thinking", "thinking": "Step one. ", "signature": "SIG-A"},
        {"type": "redacted_thinking", "data": "ENCRYPTED"},
        {"type": "thinking", "thinking": "Step two.", "signature": "SIG-B"},
        {"type": "text", "text": "Answer."},
    ]


def test_openai_content_parts_and_empty_content():
    out = to_anthropic(chat_completion({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}))
    assert out["content"] == [{"type": "text", "text": "ab"}]
    out = to_anthropic(chat_completion({"content": ""}))
    assert out["content"] == []
    assert out["stop_reason"] == "end_turn"


def test_openai_usage_with_cache_write_and_reasoning_tokens():
    out = to_anthropic(
        chat_completion(
            {"content": "x"},
            usage={
                "prompt_tokens": 1000,
                "completion_tokens": 80,
                "total_tokens": 1080,
                "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 300},
                "completion_tokens_details": {"reasoning_tokens": 64},
            },
        )
    )
    assert out["usage"] == {
        "input_tokens": 100,
        "output_tokens": 80,
        "cache_read_input_tokens": 600,
        "cache_creation_input_tokens": 300,
        "output_tokens_details": {"thinking_tokens": 64},
    }


def test_openai_response_with_nothing_usable():
    out = to_anthropic({"choices": [], "usage": None})
    assert out["id"].startswith("msg_") and len(out["id"]) > len("msg_") + 8
    assert out["content"] == [] and out["stop_reason"] == "end_turn"
    assert out["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


def test_openai_response_uses_only_the_first_choice():
    resp = chat_completion({"content": "first"})
    resp["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "second"}, "finish_reason": "length"}
    )
    out = to_anthropic(resp)
    assert out["content"] == [{"type": "text", "text": "first"}] and out["stop_reason"] == "end_turn"


# ===========================================================================
# Round trips
# ===========================================================================


def test_anthropic_message_round_trips_through_openai():
    original = anthropic_message(
        [
            {"type": "thinking", "thinking": "Plan.", "signature": "SIG"},
            {"type": "redacted_thinking", "data": "ENC"},
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "toolu_01Q", "name": "lookup", "input": {"q": "x", "n": 3}},
        ],
        stop_reason="tool_use",
        usage={
            "input_tokens": 10,
            "output_tokens": 20,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 40,
            "output_tokens_details": {"thinking_tokens": 5},
        },
        mid="msg_01RoundTrip",
    )
    back = to_anthropic(to_openai(original), model="claude-sonnet-4-5")
    assert back == {**original, "model": "claude-sonnet-4-5"}


def test_openai_completion_round_trips_through_anthropic():
    original = chat_completion(
        {
            "content": "Calling.",
            "refusal": None,
            "tool_calls": [
                {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
            ],
        },
        finish_reason="tool_calls",
        usage={
            "prompt_tokens": 50,
            "completion_tokens": 7,
            "total_tokens": 57,
            "prompt_tokens_details": {"cached_tokens": 20},
        },
        cid="chatcmpl-RT1",
    )
    back = to_openai(to_anthropic(original), model="gpt-4.1")
    assert back["id"] == "chatcmpl-RT1"
    assert back["choices"][0]["message"] == original["choices"][0]["message"]
    assert back["choices"][0]["finish_reason"] == "tool_calls"
    assert back["usage"] == original["usage"]


# ===========================================================================
# Small helpers
# ===========================================================================


@pytest.mark.parametrize(
    "anthropic, openai",
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, None),
    ],
)
def test_stop_reason_helpers(anthropic, openai):
    assert anthropic_stop_to_openai(anthropic) == openai
    assert openai_finish_to_anthropic(openai) == ("end_turn" if anthropic == "stop_sequence" else anthropic)


def test_usage_helpers_are_inverse():
    anthropic = {
        "input_tokens": 5,
        "output_tokens": 7,
        "cache_read_input_tokens": 11,
        "cache_creation_input_tokens": 13,
    }
    assert openai_usage_to_anthropic(anthropic_usage_to_openai(anthropic)) == anthropic
    # missing, null and non-integer counts are 0, and input never goes negative
    assert openai_usage_to_anthropic(
        {"prompt_tokens": 5, "completion_tokens": None, "prompt_tokens_details": {"cached_tokens": 9}}
    ) == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 9,
        "cache_creation_input_tokens": 0,
    }
    assert anthropic_usage_to_openai({"input_tokens": True, "output_tokens": "3"})["total_tokens"] == 0


def test_ids_map_both_ways():
    assert openai_id_from_anthropic("msg_01AbC") == "chatcmpl-01AbC"
    assert anthropic_id_from_openai("chatcmpl-Ab12") == "msg_Ab12"
    assert anthropic_id_from_openai(openai_id_from_anthropic("msg_x")) == "msg_x"
    assert anthropic_id_from_openai("gen-123") == "msg_gen-123"
    assert openai_id_from_anthropic("msg_") != openai_id_from_anthropic("msg_")  # fresh random suffix
    assert tool_use_id("call_ok-1") == "call_ok-1"
    assert tool_use_id("functions.f:0") == tool_use_id("functions.f:0") == "functions_f_0"
    assert tool_use_id("ünï") == "_n_"
    generated = tool_use_id(None)
    assert generated.startswith("toolu_") and generated != tool_use_id("")


@pytest.mark.parametrize(
    "effort, max_tokens, budget",
    [
        ("low", 10000, 2000),
        ("medium", 10000, 5000),
        ("high", 10000, 8000),
        ("minimal", 10000, 2000),
        ("max", 10000, 8000),
        ("low", 2000, 1024),
        ("none", 10000, 0),
        ("low", None, 2048),
        ("medium", None, 8192),
        ("high", None, 24576),
        ("high", 0, 24576),
    ],
)
def test_effort_to_budget(effort, max_tokens, budget):
    assert effort_to_budget(effort, max_tokens) == budget


def test_effort_to_budget_rejects_unknown_effort():
    with pytest.raises(TranslationError) as info:
        effort_to_budget("ultra", 1000)
    assert info.value.param == "reasoning_effort"


@pytest.mark.parametrize(
    "budget, max_tokens, effort",
    [
        (6500, 10000, "high"),
        (6499, 10000, "medium"),
        (3500, 10000, "medium"),
        (3499, 10000, "low"),
        (16384, None, "high"),
        (16383, None, "medium"),
        (4096, None, "medium"),
        (4095, None, "low"),
        (1024, 0, "low"),
    ],
)
def test_budget_to_effort(budget, max_tokens, effort):
    assert budget_to_effort(budget, max_tokens) == effort


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_effort_survives_a_round_trip_through_a_budget(effort):
    for max_tokens in (4096, 10000, 64000):
        assert budget_to_effort(effort_to_budget(effort, max_tokens), max_tokens) == effort
    assert budget_to_effort(effort_to_budget(effort, None), None) == effort
