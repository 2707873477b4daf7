"""Anthropic assistant content becomes the same OpenAI assistant message in a request's
history and in a response (lumyx.translate.content.assistant_blocks_to_openai)."""

from __future__ import annotations

import pytest

from lumyx.translate import TranslationError, anthropic_request_to_openai, anthropic_response_to_openai

BLOCKS = [
    {"type": "thinking", "thinking": "Let me see.", "signature": "sig-1"},
    {"type": "redacted_thinking", "data": "ENC"},
    {"type": "text", "text": "Checking "},
    {"type": "text", "text": "the weather."},
    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Zürich"}},
]
MESSAGE = {
    "role": "assistant",
    "content": "Checking the weather.",
    "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Zürich"}'}}
    ],
    "reasoning_content": "Let me see.",
    "reasoning_details": [
        {"type": "reasoning.text", "text": "Let me see.", "signature": "sig-1"},
        {"type": "reasoning.encrypted", "data": "ENC"},
    ],
}


def _in_request(blocks: list[dict]) -> dict:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "assistant", "content": blocks}]}
    return anthropic_request_to_openai(body)["messages"][0]


def _in_response(blocks: list[dict]) -> dict:
    response = {"id": "msg_1", "content": blocks, "stop_reason": "tool_use", "usage": {}}
    return anthropic_response_to_openai(response, model="m")["choices"][0]["message"]


def test_a_request_turn_and_a_response_give_the_same_message():
    assert _in_request(BLOCKS) == MESSAGE
    assert _in_response(BLOCKS) == {
        "role": "assistant",
        "content": MESSAGE["content"],
        "refusal": None,
        **{key: MESSAGE[key] for key in ("tool_calls", "reasoning_content", "reasoning_details")},
    }
    assert list(_in_response(BLOCKS)) == [
        "role",
        "content",
        "refusal",
        "tool_calls",
        "reasoning_content",
        "reasoning_details",
    ]


def test_content_is_null_with_only_tool_calls_and_empty_with_nothing():
    assert _in_request(BLOCKS[-1:])["content"] is None and _in_response(BLOCKS[-1:])["content"] is None
    assert _in_request([]) == {"role": "assistant", "content": ""}
    assert _in_response([])["content"] == ""


def test_server_tool_blocks_are_refused_in_a_request_and_dropped_from_a_response():
    server = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    with pytest.raises(TranslationError) as caught:
        _in_request([BLOCKS[2], server])
    assert caught.value.param == "messages[0].content[1]" and "'server_tool_use'" in caught.value.message
    assert _in_response([BLOCKS[2], server])["content"] == "Checking "
