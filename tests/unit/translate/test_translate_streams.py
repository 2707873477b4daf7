"""The two stream state machines, against recorded upstream transcripts and hand-made edge cases.

Every produced Anthropic event is validated with the anthropic SDK's
``RawMessageStreamEvent`` and accumulated with the SDK's own
``accumulate_event``; every produced OpenAI chunk is validated with
``ChatCompletionChunk`` and accumulated with ``ChatCompletionStreamState``
(what ``client.chat.completions.stream()`` uses).
"""

from __future__ import annotations

import json

import pytest

from lumyx.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    anthropic_request_to_openai,
    openai_request_to_anthropic,
)
from tests.unit.translate.translate_support import (
    ANTHROPIC_TRANSCRIPTS,
    OPENAI_TRANSCRIPTS,
    anthropic_to_openai,
    anthropic_transcript_blocks,
    check_anthropic_events,
    check_openai_chunks,
    feed_all,
    openai_to_anthropic,
    openai_transcript_text,
    openai_transcript_tool_calls,
    transcript_has_done,
    transcript_payloads,
)

# ---------------------------------------------------------------------------
# OpenAI chunks -> Anthropic events: recorded transcripts
# ---------------------------------------------------------------------------

# name -> (stop_reason, final content as the SDK accumulates it, message_delta usage)
OPENAI_EXPECTED = {
    "text_basic": (
        "end_turn",
        [{"type": "text", "text": "Hello! How can I help you today?"}],
        {
            "output_tokens": 10,
            "input_tokens": 151,
            "cache_read_input_tokens": 1920,
            "cache_creation_input_tokens": 0,
            "output_tokens_details": {"thinking_tokens": 0},
        },
    ),
    "finish_without_usage": (
        "max_tokens",
        [{"type": "text", "text": "The answer is 42."}],
        {"output_tokens": 0},
    ),
    "parallel_tools_interleaved": (
        "tool_use",
        [
            {"type": "tool_use", "id": "call_a1", "name": "read_file", "input": {"path": "src/app.py"}},
            {"type": "tool_use", "id": "call_b2", "name": "read_file", "input": {"path": "src/util.py"}},
            {"type": "tool_use", "id": "call_c3", "name": "list_dir", "input": {"path": "tests"}},
        ],
        {"output_tokens": 61, "input_tokens": 812, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0},
    ),
    "parallel_tools_sequential": (
        "tool_use",
        [
            {
                "type": "tool_use",
                "id": "call_2xPf8aN7kQbV3mR1yT6wZ0cL",
                "name": "get_weather",
                "input": {"location": "Paris, France"},
            },
            {
                "type": "tool_use",
                "id": "call_9LmC4eR2sJ7nQ5vB8xK1dW3f",
                "name": "get_time",
                "input": {"timezone": "Europe/Paris"},
            },
        ],
        {
            "output_tokens": 52,
            "input_tokens": 118,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "output_tokens_details": {"thinking_tokens": 0},
        },
    ),
    "reasoning_signature_tool": (
        "tool_use",
        [
            {
                "type": "thinking",
                "thinking": "I need the current weather in Berlin, so I will call get_weather.",
                "signature": "EpMCCkYICBACGAIqQLvM3d0oFakeSignatureForBerlinWeatherThinkingBlock==",
            },
            {"type": "text", "text": "Let me check the weather in Berlin."},
            {
                "type": "tool_use",
                "id": "toolu_01Fz8Qp2Rk5mWn7Lx3Vb9Ty4",
                "name": "get_weather",
                "input": {"city": "Berlin"},
            },
        ],
        {
            "output_tokens": 96,
            "input_tokens": 626,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 0,
            "output_tokens_details": {"thinking_tokens": 31},
        },
    ),
    "reasoning_text_alternating": (
        "end_turn",
        [
            {"type": "thinking", "thinking": "First, 9.11 vs 9.9: compare the tenths digit.", "signature": ""},
            {"type": "text", "text": "9.9 is larger"},
            {"type": "thinking", "thinking": "Double-check: 0.9 > 0.11.", "signature": ""},
            {"type": "text", "text": ", because 0.9 > 0.11."},
        ],
        {
            "output_tokens": 74,
            "input_tokens": 18,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "output_tokens_details": {"thinking_tokens": 40},
        },
    ),
    "truncated_no_finish": (
        # cut off inside a tool call: the call must not look runnable
        "max_tokens",
        [
            {"type": "text", "text": "Checking the repository now."},
            {"type": "tool_use", "id": "call_Zt5nW8qR3xL1mK7vB2cY9pD4", "name": "git_log", "input": {"limit": 1}},
        ],
        {"output_tokens": 0},
    ),
}
COMPLETE_OPENAI = [n for n in OPENAI_TRANSCRIPTS if n != "error_mid_stream"]


def test_every_openai_transcript_has_an_expectation():
    assert set(OPENAI_EXPECTED) | {"error_mid_stream"} == set(OPENAI_TRANSCRIPTS)


def _content(message) -> list[dict]:
    return [block.model_dump(exclude_none=True) for block in message.content]


@pytest.mark.parametrize("name", COMPLETE_OPENAI)
def test_openai_transcript_becomes_a_valid_anthropic_stream(name):
    stream, events = openai_to_anthropic(name, input_tokens=11, model="claude-via-gateway")
    result = check_anthropic_events(events, tool_json_complete=name != "truncated_no_finish")
    stop_reason, content, usage = OPENAI_EXPECTED[name]

    assert result.message_delta["delta"] == {"stop_reason": stop_reason, "stop_sequence": None}
    assert result.message_delta["usage"] == usage
    assert result.message.stop_reason == stop_reason
    assert _content(result.message) == content
    assert result.message.model == "claude-via-gateway"
    upstream_id = transcript_payloads("openai_stream", name)[0]["id"]
    assert result.message.id == "msg_" + upstream_id.removeprefix("chatcmpl-")
    assert stream.id == result.message.id
    # message_start carries the caller's estimate: no transcript reports usage in its first chunk
    assert result.message_start["message"]["usage"]["input_tokens"] == 11
    assert result.message.usage.input_tokens == usage.get("input_tokens", 11)
    assert result.message.usage.output_tokens == usage["output_tokens"]
    assert stream.finished and stream.error is None
    assert stream.close() == [] and stream.feed({"choices": [{"index": 0, "delta": {"content": "x"}}]}) == []


@pytest.mark.parametrize("name", COMPLETE_OPENAI)
def test_openai_transcript_text_thinking_and_tool_arguments_survive(name):
    payloads = transcript_payloads("openai_stream", name)
    _, events = openai_to_anthropic(name)
    result = check_anthropic_events(events, tool_json_complete=name != "truncated_no_finish")

    text = "".join(b.text() for b in result.blocks if b.type == "text")
    assert text == openai_transcript_text(payloads, "content")
    thinking = "".join(b.thinking() for b in result.blocks if b.type == "thinking")
    reasoning = openai_transcript_text(payloads, "reasoning_content") + openai_transcript_text(payloads, "reasoning")
    assert thinking == reasoning

    calls = openai_transcript_tool_calls(payloads)
    tool_blocks = [b for b in result.blocks if b.type == "tool_use"]
    assert [(b.start["id"], b.start["name"]) for b in tool_blocks] == [
        (calls[i]["id"], calls[i]["name"]) for i in sorted(calls)
    ]
    for block, index in zip(tool_blocks, sorted(calls)):
        assert block.partial_json() == calls[index]["arguments"]
        if name != "truncated_no_finish":
            assert json.loads(block.partial_json()) == json.loads(calls[index]["arguments"])


def test_openai_transcripts_end_with_done_except_the_broken_ones():
    assert not transcript_has_done("truncated_no_finish")
    assert not transcript_has_done("error_mid_stream")
    assert transcript_has_done("text_basic")


def test_sequential_parallel_tool_calls_stream_live():
    payloads = transcript_payloads("openai_stream", "parallel_tools_sequential")
    stream = OpenAIToAnthropicStream(model="m", input_tokens=5)
    per_chunk = [stream.feed(p) for p in payloads]
    per_chunk.append(stream.close())
    # first chunk: message_start, ping and the first tool block, at once
    assert [e["type"] for e in per_chunk[0]] == ["message_start", "ping", "content_block_start"]
    assert per_chunk[0][2]["content_block"]["name"] == "get_weather"
    # argument fragments are forwarded as they come, unchanged
    assert per_chunk[1] == [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"lo'}}
    ]
    # the second call closes the first (whose JSON is complete) and opens its own block
    assert [(e["type"], e.get("index")) for e in per_chunk[3]] == [
        ("content_block_stop", 0),
        ("content_block_start", 1),
    ]
    assert [e["delta"]["partial_json"] for e in per_chunk[4] + per_chunk[5]] == ['{"timezone": ', '"Europe/Paris"}']
    # finish_reason alone waits for the usage chunk (include_usage)
    assert per_chunk[6] == []
    assert [e["type"] for e in per_chunk[7]] == ["content_block_stop", "message_delta", "message_stop"]
    assert per_chunk[8] == []


def test_interleaved_parallel_tool_calls_are_buffered_into_whole_blocks():
    _, events = openai_to_anthropic("parallel_tools_interleaved")
    result = check_anthropic_events(events)
    first, second, third = result.blocks
    # the first call streams live; the calls that interleave with it are buffered
    assert [d["partial_json"] for d in first.deltas] == ['{"path": ', '"src/app.py"}']
    assert [d["partial_json"] for d in second.deltas] == ['{"path": "src/util.py"}']
    assert [d["partial_json"] for d in third.deltas] == ['{"path": "tests"}']


def test_usage_after_finish_reason_delays_message_delta_until_it_arrives():
    payloads = transcript_payloads("openai_stream", "reasoning_signature_tool")
    stream = OpenAIToAnthropicStream(model="m", input_tokens=5)
    outputs = [stream.feed(p) for p in payloads]
    finish_at = next(i for i, p in enumerate(payloads) if p["choices"] and p["choices"][0]["finish_reason"])
    assert outputs[finish_at] == []
    assert [e["type"] for e in outputs[finish_at + 1]] == ["content_block_stop", "message_delta", "message_stop"]
    assert outputs[finish_at + 1][1]["usage"]["input_tokens"] == 1650 - 1024


def test_signature_closes_the_thinking_block_right_away():
    payloads = transcript_payloads("openai_stream", "reasoning_signature_tool")
    stream = OpenAIToAnthropicStream(model="m")
    outputs = [stream.feed(p) for p in payloads]
    signature_chunk = next(
        i
        for i, p in enumerate(payloads)
        if any("signature" in d for d in p["choices"][0]["delta"].get("reasoning_details", ()))
    )
    assert outputs[signature_chunk] == [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {
                "type": "signature_delta",
                "signature": "EpMCCkYICBACGAIqQLvM3d0oFakeSignatureForBerlinWeatherThinkingBlock==",
            },
        },
        {"type": "content_block_stop", "index": 0},
    ]


def test_truncated_openai_stream_still_gets_a_well_formed_ending():
    payloads = transcript_payloads("openai_stream", "truncated_no_finish")
    stream = OpenAIToAnthropicStream(model="m", input_tokens=3)
    events = feed_all(stream, payloads, close=False)
    assert not stream.finished
    assert events[-1]["type"] == "content_block_delta"  # nothing invented before close()
    ending = stream.close()
    assert ending == [
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": 0},
        },
        {"type": "message_stop"},
    ]
    check_anthropic_events(events + ending, tool_json_complete=False)
    assert stream.close() == []


def test_truncated_after_complete_tool_call_is_tool_use():
    stream = OpenAIToAnthropicStream(model="m")
    chunks = [
        _oa_chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a": 1}'}}]}),
    ]
    result = check_anthropic_events(feed_all(stream, chunks))
    assert result.message.stop_reason == "tool_use"
    assert _content(result.message) == [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]


def test_truncated_plain_text_is_end_turn():
    stream = OpenAIToAnthropicStream(model="m")
    result = check_anthropic_events(feed_all(stream, [_oa_chunk({"content": "Hi"})]))
    assert result.message.stop_reason == "end_turn"


def test_openai_error_mid_stream_is_stored_and_nothing_more_is_emitted():
    payloads = transcript_payloads("openai_stream", "error_mid_stream")
    stream = OpenAIToAnthropicStream(model="m", input_tokens=9)
    outputs = [stream.feed(p) for p in payloads]
    assert outputs[-1] == []
    events = [e for out in outputs for e in out]
    assert [e["type"] for e in events] == ["message_start", "ping", "content_block_start", "content_block_delta"]
    assert events[3]["delta"] == {"type": "text_delta", "text": "Once upon"}
    assert stream.error == payloads[-1]["error"]
    assert stream.error["type"] == "server_error"
    assert stream.finished
    assert stream.close() == []
    assert stream.feed(payloads[1]) == []


def test_openai_error_before_anything_emits_nothing():
    stream = OpenAIToAnthropicStream(model="m")
    assert stream.feed({"error": {"message": "rate limited", "code": 429}}) == []
    assert stream.error == {"message": "rate limited", "code": 429}
    assert stream.close() == []


def test_openrouter_style_error_with_choices_is_an_error_not_end_turn():
    stream = OpenAIToAnthropicStream(model="m")
    first = stream.feed(_oa_chunk({"content": "Partial answer"}))
    error_chunk = _oa_chunk({"content": ""}, "error")
    error_chunk["error"] = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
    assert stream.feed(error_chunk) == []
    assert stream.error == {"code": "server_error", "message": "Provider disconnected unexpectedly"}
    assert stream.finished and stream.close() == []
    assert "message_delta" not in [e["type"] for e in first]


def test_finish_reason_error_without_error_object_is_an_error():
    stream = OpenAIToAnthropicStream(model="m")
    stream.feed(_oa_chunk({"content": "Partial"}))
    assert stream.feed(_oa_chunk({}, "error", {"prompt_tokens": 1, "completion_tokens": 1})) == []
    assert stream.error["type"] == "server_error" and stream.error["message"]
    assert stream.close() == []


def test_openai_error_that_is_a_string_is_wrapped():
    stream = OpenAIToAnthropicStream(model="m")
    stream.feed(_oa_chunk({"content": "a"}))
    assert stream.feed({"error": "upstream exploded"}) == []
    assert stream.error == {"message": "upstream exploded"}


# ---------------------------------------------------------------------------
# OpenAI chunks -> Anthropic events: hand-made edge cases
# ---------------------------------------------------------------------------


def _oa_chunk(delta=None, finish=None, usage=None, *, cid="chatcmpl-abc123", index=0):
    chunk = {"id": cid, "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": []}
    if delta is not None or finish is not None:
        chunk["choices"] = [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def _run_oa(chunks, **kwargs):
    stream = OpenAIToAnthropicStream(model=kwargs.pop("model", "m"), **kwargs)
    events = feed_all(stream, chunks)
    return stream, check_anthropic_events(events)


def test_close_without_any_chunk_is_a_valid_empty_message():
    stream = OpenAIToAnthropicStream(model="m", input_tokens=42)
    result = check_anthropic_events(stream.close())
    assert result.message.content == []
    assert result.message.stop_reason == "end_turn"
    assert result.message.usage.input_tokens == 42
    assert result.message.id.startswith("msg_") and len(result.message.id) > len("msg_")


def test_role_only_and_empty_chunks_make_no_empty_blocks():
    _, result = _run_oa(
        [
            _oa_chunk({"role": "assistant", "content": ""}),
            _oa_chunk({"content": None, "reasoning_content": ""}),
            _oa_chunk({"tool_calls": []}),
            _oa_chunk({}, "stop", {"prompt_tokens": 4, "completion_tokens": 0}),
        ]
    )
    assert result.blocks == []
    assert result.message.stop_reason == "end_turn"


def test_usage_in_first_chunk_sets_message_start_input_tokens():
    _, result = _run_oa(
        [
            _oa_chunk(
                {"content": "x"},
                usage={"prompt_tokens": 300, "completion_tokens": 0, "prompt_tokens_details": {"cached_tokens": 100}},
            ),
            _oa_chunk(
                {},
                "stop",
                {"prompt_tokens": 300, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 100}},
            ),
        ],
        input_tokens=7,
    )
    assert result.message_start["message"]["usage"]["input_tokens"] == 200
    assert result.message_start["message"]["usage"]["cache_read_input_tokens"] == 100
    assert result.message.usage.output_tokens == 2


def test_cache_write_tokens_become_cache_creation_input_tokens():
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 300},
    }
    _, result = _run_oa([_oa_chunk({"content": "x"}), _oa_chunk({}, "stop", usage)])
    assert result.message_delta["usage"] == {
        "output_tokens": 5,
        "input_tokens": 100,
        "cache_read_input_tokens": 600,
        "cache_creation_input_tokens": 300,
    }


@pytest.mark.parametrize(
    "finish, expected",
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("weird", "end_turn"),
    ],
)
def test_finish_reason_mapping_in_stream(finish, expected):
    _, result = _run_oa(
        [_oa_chunk({"content": "x"}), _oa_chunk({}, finish, {"prompt_tokens": 1, "completion_tokens": 1})]
    )
    assert result.message.stop_reason == expected


def test_stop_with_tool_calls_is_tool_use():
    _, result = _run_oa(
        [
            _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
            _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
        ]
    )
    assert result.message.stop_reason == "tool_use"


def test_refusal_becomes_text_and_stop_reason_refusal():
    _, result = _run_oa(
        [
            _oa_chunk({"role": "assistant", "refusal": "I can't help"}),
            _oa_chunk({"refusal": " with that."}),
            _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
        ]
    )
    assert _content(result.message) == [{"type": "text", "text": "I can't help with that."}]
    assert result.message.stop_reason == "refusal"


def test_redacted_thinking_and_summary_details():
    _, result = _run_oa(
        [
            _oa_chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "Plan: "}]}),
            _oa_chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "look it up."}]}),
            _oa_chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "ENC=="}]}),
            _oa_chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": ""}]}),
            _oa_chunk({"content": "Done."}),
            _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
        ]
    )
    assert _content(result.message) == [
        {"type": "thinking", "thinking": "Plan: look it up.", "signature": ""},
        {"type": "redacted_thinking", "data": "ENC=="},
        {"type": "text", "text": "Done."},
    ]
    redacted = result.blocks[1]
    assert redacted.deltas == [] and redacted.start == {"type": "redacted_thinking", "data": "ENC=="}


def test_reasoning_details_text_is_used_only_without_reasoning_content():
    _, result = _run_oa(
        [
            # both forms in one delta: read once
            _oa_chunk({"reasoning_content": "A", "reasoning_details": [{"type": "reasoning.text", "text": "A"}]}),
            # details only
            _oa_chunk({"reasoning_details": [{"type": "reasoning.text", "text": "B", "signature": "sig-1"}]}),
            # signature with no open thinking block opens an empty one
            _oa_chunk({"reasoning_details": [{"type": "reasoning.text", "signature": "sig-2"}]}),
            _oa_chunk({"content": "ok"}),
            _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
        ]
    )
    assert _content(result.message) == [
        {"type": "thinking", "thinking": "AB", "signature": "sig-1"},
        {"type": "thinking", "thinking": "", "signature": "sig-2"},
        {"type": "text", "text": "ok"},
    ]


def test_thinking_text_and_tool_blocks_interleave_in_order():
    chunks = [
        _oa_chunk({"reasoning_content": "think 1"}),
        _oa_chunk({"reasoning_details": [{"type": "reasoning.text", "signature": "s1"}]}),
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": '{"x": 1}'}}]}),
        _oa_chunk({"reasoning_content": "think 2"}),
        _oa_chunk({"reasoning_details": [{"type": "reasoning.text", "signature": "s2"}]}),
        _oa_chunk({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "b", "arguments": '{"y": 2}'}}]}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert _content(result.message) == [
        {"type": "thinking", "thinking": "think 1", "signature": "s1"},
        {"type": "tool_use", "id": "c1", "name": "a", "input": {"x": 1}},
        {"type": "thinking", "thinking": "think 2", "signature": "s2"},
        {"type": "tool_use", "id": "c2", "name": "b", "input": {"y": 2}},
    ]


def test_text_after_buffered_tool_calls_flushes_them_first():
    chunks = [
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": ""}}]}),
        _oa_chunk({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "b", "arguments": '{"q"'}}]}),
        _oa_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"p": 1}'}}]}),
        _oa_chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}),
        _oa_chunk({"content": "and some text"}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert _content(result.message) == [
        {"type": "tool_use", "id": "c1", "name": "a", "input": {"p": 1}},
        {"type": "tool_use", "id": "c2", "name": "b", "input": {"q": 2}},
        {"type": "text", "text": "and some text"},
    ]


def test_tool_calls_all_at_index_zero_are_kept_apart():
    # some servers send every call with index 0, each with its own id
    chunks = [
        _oa_chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c1", "type": "function", "function": {"name": "a", "arguments": '{"n": 1}'}}
                ]
            }
        ),
        _oa_chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c2", "type": "function", "function": {"name": "b", "arguments": '{"n": 2}'}}
                ]
            }
        ),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert _content(result.message) == [
        {"type": "tool_use", "id": "c1", "name": "a", "input": {"n": 1}},
        {"type": "tool_use", "id": "c2", "name": "b", "input": {"n": 2}},
    ]


def test_repeated_id_on_every_fragment_is_one_call():
    chunks = [
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": '{"n":'}}]}),
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": " 1}"}}]}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert _content(result.message) == [{"type": "tool_use", "id": "c1", "name": "a", "input": {"n": 1}}]


def test_tool_calls_without_index_are_numbered_in_order():
    chunks = [
        _oa_chunk({"tool_calls": [{"id": "c1", "function": {"name": "a", "arguments": '{"n": 1}'}}]}),
        _oa_chunk({"tool_calls": [{"id": "c2", "function": {"name": "b", "arguments": '{"n":'}}]}),
        _oa_chunk({"tool_calls": [{"function": {"arguments": " 2}"}}]}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert [(b.id, b.input) for b in result.message.content] == [("c1", {"n": 1}), ("c2", {"n": 2})]


def test_tool_call_ids_are_made_anthropic_safe_and_missing_ones_generated():
    chunks = [
        _oa_chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "functions.get_weather:0",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ]
            }
        ),
        _oa_chunk({"tool_calls": [{"index": 1, "function": {"name": "other", "arguments": "{}"}}]}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    first, second = result.message.content
    assert first.id == "functions_get_weather_0"
    assert second.id.startswith("toolu_") and len(second.id) > 10
    assert all(c.isalnum() or c in "_-" for c in second.id)


def test_tool_call_without_arguments_has_empty_input():
    chunks = [
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "now", "arguments": ""}}]}),
        _oa_chunk({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "later", "arguments": "{}"}}]}),
        _oa_chunk({}, "tool_calls", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert [(b.name, b.input) for b in result.message.content] == [("now", {}), ("later", {})]


def test_fragments_for_a_closed_tool_call_are_dropped():
    chunks = [
        _oa_chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": '{"n": 1}'}}]}),
        _oa_chunk({"content": "text closes the tool block"}),
        _oa_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "garbage"}}]}),
        _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
    ]
    _, result = _run_oa(chunks)
    assert result.blocks[0].partial_json() == '{"n": 1}'


def test_choices_other_than_the_first_are_ignored():
    _, result = _run_oa(
        [
            _oa_chunk({"content": "first"}),
            _oa_chunk({"content": "second choice"}, index=1),
            _oa_chunk({}, "stop", {"prompt_tokens": 1, "completion_tokens": 1}),
        ]
    )
    assert _content(result.message) == [{"type": "text", "text": "first"}]


# ---------------------------------------------------------------------------
# Anthropic events -> OpenAI chunks: recorded transcripts
# ---------------------------------------------------------------------------

SIG_TOOLS = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds2TdlpyKMd3Sa4g5Ai1KwdY8e2cFSJvK5EyBG/4oSHaTmxBj0w9j5emuSeETq6n6p8sVmQ=="
SIG_REDACTED = "ErUBCkYIBRgCIkB2bXo1cnhlY2RjYXRlZ29yeXNpZ25hdHVyZWZvcnRoaW5raW5nYmxvY2sxEgxmYWtlc2lnbmF0dXJl"
REDACTED_DATA = (
    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB2URj2pbc0Zh7g="
)

# name -> (finish_reason, content, reasoning_content, reasoning_details, tool calls (id, name, arguments), usage)
ANTHROPIC_EXPECTED = {
    "text_basic": (
        "stop",
        "Hello! How can I help you today?",
        "",
        [],
        [],
        {
            "prompt_tokens": 25,
            "completion_tokens": 15,
            "total_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    ),
    "redacted_thinking_interleaved": (
        "length",
        "Here is a short summary of the three articles:\n\n1. The first one",
        "Now I should summarise the search results briefly.",
        [
            {"type": "reasoning.encrypted", "data": REDACTED_DATA},
            {
                "type": "reasoning.text",
                "text": "Now I should summarise the search results briefly.",
                "signature": SIG_REDACTED,
            },
        ],
        [],
        {
            "prompt_tokens": 318,
            "completion_tokens": 64,
            "total_tokens": 382,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    ),
    "thinking_text_two_tools": (
        "tool_calls",
        "I'll check the weather and the time in Paris for you.",
        "The user wants the weather in Paris and the local time there. I can call both tools in parallel.",
        [
            {
                "type": "reasoning.text",
                "text": "The user wants the weather in Paris and the local time there. I can call both tools in parallel.",
                "signature": SIG_TOOLS,
            }
        ],
        [
            ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", {"location": "Paris, France", "unit": "celsius"}),
            ("toolu_01LjQ5mcZ3RC8x4cn8UqRQu1", "get_time", {"timezone": "Europe/Paris"}),
        ],
        {
            "prompt_tokens": 1024 + 2048 + 112,
            "completion_tokens": 187,
            "total_tokens": 1024 + 2048 + 112 + 187,
            "prompt_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 112},
            "completion_tokens_details": {"reasoning_tokens": 41},
        },
    ),
    "truncated_in_tool_use": (
        # cut off inside the tool call: "length", so that no client runs the call
        "length",
        "Let me look that up.",
        "",
        [],
        [("toolu_01NVqL8ReZ3kF7mSgB2HxJ4p", "search_docs", None)],
        {
            "prompt_tokens": 402,
            "completion_tokens": 8,
            "total_tokens": 410,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    ),
    "usage_in_message_delta": (
        "stop",
        "Paris is the capital of France.",
        "",
        [],
        [],
        {
            "prompt_tokens": 2730,
            "completion_tokens": 9,
            "total_tokens": 2739,
            "prompt_tokens_details": {"cached_tokens": 1200},
        },
    ),
}
COMPLETE_ANTHROPIC = [n for n in ANTHROPIC_TRANSCRIPTS if n != "error_mid_stream"]


def test_every_anthropic_transcript_has_an_expectation():
    assert set(ANTHROPIC_EXPECTED) | {"error_mid_stream"} == set(ANTHROPIC_TRANSCRIPTS)


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("name", COMPLETE_ANTHROPIC)
def test_anthropic_transcript_becomes_a_valid_openai_stream(name, include_usage):
    stream, chunks = anthropic_to_openai(name, include_usage=include_usage, model="gpt-via-gateway")
    result = check_openai_chunks(chunks, include_usage=include_usage)
    finish, content, reasoning, details, tools, usage = ANTHROPIC_EXPECTED[name]

    assert result.finish_reason == finish
    assert result.content == content
    assert result.reasoning_content == reasoning
    assert result.reasoning_details == details
    assert [(c["id"], c["name"]) for c in result.tool_calls] == [(i, n) for i, n, _ in tools]
    for call, (_, _, arguments) in zip(result.tool_calls, tools):
        if arguments is not None:
            assert json.loads(call["arguments"]) == arguments
    assert result.usage == (usage if include_usage else None)

    upstream_id = transcript_payloads("anthropic_stream", name)[0]["message"]["id"]
    assert chunks[0]["id"] == "chatcmpl-" + upstream_id.removeprefix("msg_")
    assert {c["model"] for c in chunks} == {"gpt-via-gateway"}
    assert stream.finished and stream.error is None
    assert stream.close() == [] and stream.feed({"type": "message_stop"}) == []


@pytest.mark.parametrize("name", COMPLETE_ANTHROPIC)
def test_anthropic_transcript_tool_arguments_are_forwarded_exactly(name):
    blocks = anthropic_transcript_blocks(transcript_payloads("anthropic_stream", name))
    _, chunks = anthropic_to_openai(name)
    result = check_openai_chunks(chunks, include_usage=True)
    tool_blocks = [b for b in blocks if b["type"] == "tool_use"]
    assert [(c["id"], c["name"], c["arguments"]) for c in result.tool_calls] == [
        (b["id"], b["name"], b["json"]) for b in tool_blocks
    ]
    texts = "".join(b["text"] for b in blocks if b["type"] == "text")
    assert result.content == texts


def test_anthropic_usage_chunk_accumulates_in_the_openai_sdk():
    _, chunks = anthropic_to_openai("thinking_text_two_tools")
    result = check_openai_chunks(chunks, include_usage=True)
    usage = result.completion.usage
    assert usage.prompt_tokens == 3184 and usage.completion_tokens == 187
    assert usage.prompt_tokens_details.cached_tokens == 2048
    assert usage.completion_tokens_details.reasoning_tokens == 41
    tool_calls = result.completion.choices[0].message.tool_calls
    assert [json.loads(tc.function.arguments) for tc in tool_calls] == [
        {"location": "Paris, France", "unit": "celsius"},
        {"timezone": "Europe/Paris"},
    ]
    extra = result.completion.choices[0].message.model_extra
    assert extra["reasoning_content"].startswith("The user wants the weather")
    assert [d["signature"] for d in extra["reasoning_details"]] == [SIG_TOOLS]


def test_redacted_and_signed_thinking_accumulate_into_the_full_details_list():
    _, chunks = anthropic_to_openai("redacted_thinking_interleaved", include_usage=False)
    result = check_openai_chunks(chunks, include_usage=False)
    details = result.completion.choices[0].message.model_extra["reasoning_details"]
    assert [d["type"] for d in details] == ["reasoning.encrypted", "reasoning.text"]
    assert details[0]["data"] == REDACTED_DATA and details[1]["signature"] == SIG_REDACTED


def test_truncated_anthropic_stream_ends_with_length_and_usage():
    payloads = transcript_payloads("anthropic_stream", "truncated_in_tool_use")
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    chunks = feed_all(stream, payloads, close=False)
    assert not stream.finished and all(c["choices"][0]["finish_reason"] is None for c in chunks)
    ending = stream.close()
    assert [c["choices"][0]["finish_reason"] if c["choices"] else "usage" for c in ending] == ["length", "usage"]
    result = check_openai_chunks(chunks + ending, include_usage=True)
    assert result.tool_calls[0]["arguments"] == '{"query": "rate lim'
    assert stream.close() == []


def test_anthropic_error_mid_stream_is_stored_and_nothing_more_is_emitted():
    payloads = transcript_payloads("anthropic_stream", "error_mid_stream")
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    outputs = [stream.feed(p) for p in payloads]
    assert outputs[-1] == []
    chunks = [c for out in outputs for c in out]
    check_openai_chunks(chunks, include_usage=True, finished=False)
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "Sure, here is the first part of"},
    ]
    assert stream.error == {"type": "overloaded_error", "message": "Overloaded"}
    assert stream.finished and stream.close() == []
    assert stream.feed({"type": "message_stop"}) == []


# ---------------------------------------------------------------------------
# Anthropic events -> OpenAI chunks: hand-made edge cases
# ---------------------------------------------------------------------------


def _message_start(usage=None, mid="msg_01Test"):
    usage = usage or {"input_tokens": 10, "output_tokens": 1}
    return {
        "type": "message_start",
        "message": {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def _block_start(index, block):
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index, delta):
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index):
    return {"type": "content_block_stop", "index": index}


def _message_end(stop_reason="end_turn", usage=None):
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage or {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]


def _run_an(events, include_usage=True):
    stream = AnthropicToOpenAIStream(model="m", include_usage=include_usage)
    return check_openai_chunks(feed_all(stream, events), include_usage=include_usage)


def test_tool_without_parameters_gets_empty_object_arguments():
    result = _run_an(
        [
            _message_start(),
            _block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}),
            _delta(0, {"type": "input_json_delta", "partial_json": ""}),
            _stop(0),
            *_message_end("tool_use"),
        ]
    )
    assert result.tool_calls == [{"id": "toolu_1", "name": "now", "arguments": "{}"}]
    assert result.finish_reason == "tool_calls"


def test_tool_use_start_with_input_sends_it_as_arguments():
    result = _run_an(
        [
            _message_start(),
            _block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"city": "Zürich"}}),
            _stop(0),
            *_message_end("tool_use"),
        ]
    )
    assert result.tool_calls == [{"id": "toolu_1", "name": "f", "arguments": '{"city": "Zürich"}'}]


def test_server_tool_blocks_and_citations_produce_nothing_and_do_not_shift_tool_indices():
    result = _run_an(
        [
            _message_start(),
            _block_start(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
            _delta(0, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}),
            _stop(0),
            _block_start(1, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
            _stop(1),
            _block_start(2, {"type": "text", "text": ""}),
            _delta(
                2,
                {
                    "type": "citations_delta",
                    "citation": {
                        "type": "web_search_result_location",
                        "url": "u",
                        "title": "t",
                        "encrypted_index": "e",
                        "cited_text": "c",
                    },
                },
            ),
            _delta(2, {"type": "text_delta", "text": "Found it."}),
            _stop(2),
            _block_start(3, {"type": "tool_use", "id": "toolu_9", "name": "save", "input": {}}),
            _delta(3, {"type": "input_json_delta", "partial_json": '{"v": 1}'}),
            _stop(3),
            *_message_end("tool_use"),
        ]
    )
    assert result.content == "Found it."
    assert result.tool_calls == [{"id": "toolu_9", "name": "save", "arguments": '{"v": 1}'}]


def test_unsigned_thinking_gets_its_detail_at_block_stop():
    result = _run_an(
        [
            _message_start(),
            _block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
            _stop(0),
            _block_start(1, {"type": "thinking", "thinking": "whole", "signature": "sig-in-start"}),
            _stop(1),
            _block_start(2, {"type": "text", "text": "start text"}),
            _stop(2),
            *_message_end(),
        ]
    )
    assert result.reasoning_content == "hmmwhole"
    assert result.reasoning_details == [
        {"type": "reasoning.text", "text": "hmm"},
        {"type": "reasoning.text", "text": "whole", "signature": "sig-in-start"},
    ]
    assert result.content == "start text"


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
        ("something_new", "stop"),
    ],
)
def test_stop_reason_mapping_in_stream(stop_reason, finish):
    result = _run_an(
        [
            _message_start(),
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "text_delta", "text": "x"}),
            _stop(0),
            *_message_end(stop_reason),
        ]
    )
    assert result.finish_reason == finish


def test_message_delta_without_stop_reason_emits_nothing():
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    stream.feed(_message_start())
    assert stream.feed({"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 3}}) == []


def test_usage_keeps_largest_input_and_last_output_counts():
    result = _run_an(
        [
            _message_start({"input_tokens": 50, "cache_read_input_tokens": 10, "output_tokens": 1}),
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "text_delta", "text": "x"}),
            _stop(0),
            *_message_end("end_turn", {"input_tokens": 0, "output_tokens": 30}),
        ]
    )
    assert result.usage == {
        "prompt_tokens": 60,
        "completion_tokens": 30,
        "total_tokens": 90,
        "prompt_tokens_details": {"cached_tokens": 10},
    }


def test_anthropic_stream_without_message_start_still_gets_an_id_and_role():
    result = _run_an(
        [
            _block_start(0, {"type": "text", "text": ""}),
            _delta(0, {"type": "text_delta", "text": "hi"}),
            _stop(0),
            *_message_end(),
        ]
    )
    assert result.content == "hi"
    assert result.chunks[0]["id"].startswith("chatcmpl-")


def test_empty_anthropic_stream_closes_with_stop():
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    result = check_openai_chunks(stream.close(), include_usage=True)
    assert result.finish_reason == "stop" and result.content == ""
    assert result.usage["total_tokens"] == 0


def test_anthropic_error_event_before_anything_emits_nothing():
    stream = AnthropicToOpenAIStream(model="m", include_usage=True)
    assert stream.feed({"type": "error", "error": {"type": "api_error", "message": "boom"}}) == []
    assert stream.error == {"type": "api_error", "message": "boom"}
    assert stream.close() == []


# ---------------------------------------------------------------------------
# Round trips: what a client accumulates from the stream, sent back next turn
# ---------------------------------------------------------------------------


def _accumulated_openai_message(name):
    _, chunks = anthropic_to_openai(name)
    result = check_openai_chunks(chunks, include_usage=True)
    message = result.completion.choices[0].message
    return json.loads(message.model_dump_json(exclude_none=True, exclude={"parsed"}))


@pytest.mark.parametrize("name", ["thinking_text_two_tools", "redacted_thinking_interleaved"])
def test_openai_client_sends_streamed_thinking_back_as_the_original_blocks(name):
    original = anthropic_transcript_blocks(transcript_payloads("anthropic_stream", name))
    assistant = _accumulated_openai_message(name)
    messages = [{"role": "user", "content": "Paris please"}, assistant]
    for call in assistant.get("tool_calls") or ():
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": "ok"})
    if not assistant.get("tool_calls"):
        messages.append({"role": "user", "content": "go on"})
    body = openai_request_to_anthropic(
        {
            "model": "claude",
            "messages": messages,
            "reasoning_effort": "low",
            "tools": [
                {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
                for n in ("get_weather", "get_time")
            ],
        },
        default_max_tokens=4096,
    )
    expected = []
    for block in original:
        if block["type"] == "tool_use":
            expected.append(
                {"type": "tool_use", "id": block["id"], "name": block["name"], "input": json.loads(block["json"])}
            )
        else:
            expected.append(block)
    assert body["messages"][1] == {"role": "assistant", "content": expected}
    # the tool loop carries its signed thinking, so thinking stays enabled
    assert body["thinking"]["type"] == "enabled"


def test_anthropic_client_sends_streamed_openai_answer_back():
    _, events = openai_to_anthropic("reasoning_signature_tool")
    message = check_anthropic_events(events).message
    assistant = {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
    body = anthropic_request_to_openai(
        {
            "model": "gpt",
            "max_tokens": 1000,
            "messages": [
                {"role": "user", "content": "Weather in Berlin?"},
                assistant,
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_01Fz8Qp2Rk5mWn7Lx3Vb9Ty4", "content": "21°C"}
                    ],
                },
            ],
        }
    )
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "Let me check the weather in Berlin.",
        "tool_calls": [
            {
                "id": "toolu_01Fz8Qp2Rk5mWn7Lx3Vb9Ty4",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Berlin"}'},
            }
        ],
        "reasoning_content": "I need the current weather in Berlin, so I will call get_weather.",
        "reasoning_details": [
            {
                "type": "reasoning.text",
                "text": "I need the current weather in Berlin, so I will call get_weather.",
                "signature": "EpMCCkYICBACGAIqQLvM3d0oFakeSignatureForBerlinWeatherThinkingBlock==",
            }
        ],
    }
    assert body["messages"][2] == {"role": "tool", "tool_call_id": "toolu_01Fz8Qp2Rk5mWn7Lx3Vb9Ty4", "content": "21°C"}


# ---------------------------------------------------------------------------
# The checkers themselves catch broken streams (so the tests above can fail)
# ---------------------------------------------------------------------------


def _valid_anthropic_events():
    _, events = openai_to_anthropic("reasoning_signature_tool")
    return events


def _drop_type(events, kind):
    index = next(i for i, e in enumerate(events) if e["type"] == kind)
    return events[:index] + events[index + 1 :]


ANTHROPIC_BREAKAGES = {
    "no ping": lambda ev: [e for e in ev if e["type"] != "ping"],
    "missing block stop": lambda ev: _drop_type(ev, "content_block_stop"),
    "missing message_stop": lambda ev: ev[:-1],
    "two message_stop": lambda ev: ev + [{"type": "message_stop"}],
    "gap in indices": lambda ev: [
        {**e, "index": e["index"] + 1} if e.get("index") is not None and e["index"] >= 1 else e for e in ev
    ],
    "wrong delta type": lambda ev: [
        {**e, "delta": {"type": "text_delta", "text": "x"}}
        if e.get("delta", {}).get("type") == "input_json_delta"
        else e
        for e in ev
    ],
    "empty text block": lambda ev: [
        {**e, "delta": {"type": "text_delta", "text": ""}} if e.get("delta", {}).get("type") == "text_delta" else e
        for e in ev
    ],
    "broken tool json": lambda ev: [
        {**e, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}
        if e.get("delta", {}).get("type") == "input_json_delta"
        else e
        for e in ev
    ],
    "invalid stop reason": lambda ev: (
        ev[:-2] + [{**ev[-2], "delta": {"stop_reason": "done", "stop_sequence": None}}, ev[-1]]
    ),
}


@pytest.mark.parametrize("breakage", sorted(ANTHROPIC_BREAKAGES))
def test_anthropic_checker_rejects_broken_streams(breakage):
    valid = _valid_anthropic_events()
    check_anthropic_events(valid)
    events = ANTHROPIC_BREAKAGES[breakage](valid)
    assert events != valid
    with pytest.raises((AssertionError, KeyError, TypeError, ValueError, IndexError)):
        check_anthropic_events(events)


OPENAI_BREAKAGES = {
    "no finish chunk": lambda ch: [c for c in ch if not (c["choices"] and c["choices"][0]["finish_reason"])],
    "two usage chunks": lambda ch: ch + [ch[-1]],
    "content after finish": lambda ch: (
        ch[:-1] + [{**ch[1], "choices": [{"index": 0, "delta": {"content": "late"}, "finish_reason": None}]}, ch[-1]]
    ),
    "tool index skips": lambda ch: [
        {
            **c,
            "choices": [
                {
                    **c["choices"][0],
                    "delta": {
                        "tool_calls": [
                            {**tc, "index": tc["index"] * 2} for tc in c["choices"][0]["delta"]["tool_calls"]
                        ]
                    },
                }
            ],
        }
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
        else c
        for c in ch
    ],
    "reasoning detail without index": lambda ch: [
        {
            **c,
            "choices": [
                {
                    **c["choices"][0],
                    "delta": {
                        "reasoning_details": [
                            {k: v for k, v in d.items() if k != "index"}
                            for d in c["choices"][0]["delta"]["reasoning_details"]
                        ]
                    },
                }
            ],
        }
        if c["choices"] and "reasoning_details" in c["choices"][0]["delta"]
        else c
        for c in ch
    ],
    "invalid finish reason": lambda ch: [
        {**c, "choices": [{**c["choices"][0], "finish_reason": "done"}]}
        if c["choices"] and c["choices"][0]["finish_reason"]
        else c
        for c in ch
    ],
    "two ids": lambda ch: ch[:-1] + [{**ch[-1], "id": "chatcmpl-other"}],
}


@pytest.mark.parametrize("breakage", sorted(OPENAI_BREAKAGES))
def test_openai_checker_rejects_broken_streams(breakage):
    _, chunks = anthropic_to_openai("thinking_text_two_tools")
    check_openai_chunks(chunks, include_usage=True)
    broken = OPENAI_BREAKAGES[breakage](chunks)
    assert broken != chunks
    with pytest.raises((AssertionError, KeyError, TypeError, ValueError, IndexError)):
        check_openai_chunks(broken, include_usage=True)
