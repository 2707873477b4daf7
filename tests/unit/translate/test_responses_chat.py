"""The Chat Completions → Responses pair: requests translated and checked by the
upstream stand-in's strict Responses validator (and the openai SDK's request
types), recorded Responses bodies and streams (text, tool calls, reasoning
summary, refusal, incomplete, failed) translated back and checked the way a
strict client reads them, and the chain on to Anthropic events."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pydantic
import pytest
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

from lumyx.translate import (
    OpenAIToAnthropicStream,
    ResponsesToChatStream,
    TranslationError,
    anthropic_request_to_openai,
    chat_request_to_responses,
    responses_response_to_chat,
)
from tests.fakes.upstream_responses import Invalid, check_request
from tests.unit.translate.translate_support import (
    TRANSCRIPTS,
    check_anthropic_events,
    check_openai_chunks,
    feed_all,
    transcript_payloads,
    validate_chat_completion,
)

RESPONSES_REQUEST = pydantic.TypeAdapter(ResponseCreateParamsNonStreaming)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def accepted(body: dict) -> dict:
    """The Responses request must pass the stand-in's checks and the SDK's types."""
    try:
        check_request(SimpleNamespace(responses={}, responses_items={}), body)
    except Invalid as exc:
        pytest.fail(f"the Responses API would refuse it: {exc.args} {vars(exc)}")
    RESPONSES_REQUEST.validate_python({k: v for k, v in body.items() if k != "stream"})
    return body


def body_of(name: str) -> dict:
    return json.loads((TRANSCRIPTS / "responses_body" / f"{name}.json").read_text())


# -- requests -----------------------------------------------------------------------


def test_a_full_conversation_becomes_instructions_and_input_items():
    chat = {
        "model": "upstream-gpt",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is here, and the weather?"},
                    {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me look.",
                "reasoning_content": "thinking aloud",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21°C"},
            {"role": "system", "content": "Mention the source."},
            {"role": "user", "content": "Thanks", "name": "ada"},
        ],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "max_completion_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.9,
        "user": "u-1",
        "metadata": {"ticket": "42"},
        "reasoning_effort": "high",
        "stream": True,
        "stream_options": {"include_usage": True},
        "seed": 7,
        "frequency_penalty": 0.5,
        "presence_penalty": 0.1,
        "logit_bias": {"50256": -100},
        "n": 1,
    }
    out = accepted(chat_request_to_responses(chat))
    assert out["instructions"] == "Be brief.\n\nAnswer in English."
    assert out["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is here, and the weather?"},
                {"type": "input_image", "image_url": PNG, "detail": "low"},
            ],
        },
        {"type": "message", "role": "assistant", "content": "Let me look."},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 21°C"},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Mention the source."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
    ]
    assert out["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "strict": False,
            "description": "Weather for a city.",
            "parameters": WEATHER["function"]["parameters"],
        }
    ]
    assert out["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert (out["parallel_tool_calls"], out["max_output_tokens"], out["temperature"], out["top_p"]) == (
        False,
        300,
        0.3,
        0.9,
    )
    assert (out["user"], out["metadata"], out["store"], out["stream"]) == ("u-1", {"ticket": "42"}, False, True)
    assert out["reasoning"] == {"effort": "high", "summary": "auto"}
    for dropped in ("seed", "frequency_penalty", "presence_penalty", "logit_bias", "n", "stream_options", "messages"):
        assert dropped not in out


@pytest.mark.parametrize(
    "response_format, text_format",
    [
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, {"type": "text"}),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "city",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                        "additionalProperties": False,
                    },
                },
            },
            {
                "type": "json_schema",
                "name": "city",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            },
        ),
    ],
)
def test_response_format_becomes_text_format(response_format, text_format):
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": response_format}
    assert accepted(chat_request_to_responses(chat))["text"] == {"format": text_format}


def test_a_small_output_limit_is_raised_to_the_responses_minimum_and_reasoning_effort_nests():
    chat = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5,
        "reasoning": {"effort": "low"},
    }
    out = accepted(chat_request_to_responses(chat))
    assert out["max_output_tokens"] == 16 and out["reasoning"] == {"effort": "low", "summary": "auto"}
    assert "reasoning" not in chat_request_to_responses({**chat, "reasoning": {"effort": "none"}})


def test_an_anthropic_request_goes_through_the_chat_pair_to_a_valid_responses_request():
    messages = {
        "model": "m",
        "max_tokens": 200,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]},
        ],
        "tools": [{"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}],
    }
    out = accepted(chat_request_to_responses(anthropic_request_to_openai(messages)))
    assert out["instructions"] == "Be brief."
    assert [item["type"] for item in out["input"]] == ["message", "function_call", "function_call_output"]
    assert out["input"][1]["call_id"] == out["input"][2]["call_id"] == "toolu_1"


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"n": 2}, "n"),
        ({"stop": ["END"]}, "stop"),
        ({"stop": "END"}, "stop"),
        ({"logprobs": True}, "logprobs"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"tools": [WEATHER, {"type": "custom", "custom": {"name": "x"}}]}, "tools[1]"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}
                ]
            },
            "messages[0].content[0]",
        ),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
    ],
)
def test_what_the_responses_api_cannot_express_is_refused_naming_the_parameter(extra, param):
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}
    with pytest.raises(TranslationError) as refused:
        chat_request_to_responses(chat)
    assert refused.value.param == param


def test_an_empty_stop_list_and_n_of_one_are_dropped():
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stop": [], "n": 1, "logprobs": False}
    out = accepted(chat_request_to_responses(chat))
    assert "stop" not in out and "n" not in out and "logprobs" not in out


# -- whole responses ----------------------------------------------------------------


def test_a_text_answer():
    body = body_of("text_basic")
    chat = responses_response_to_chat(body, model="gpt-via-gateway")
    validate_chat_completion(chat)
    assert chat["id"] == "chatcmpl-" + body["id"].removeprefix("resp_") and chat["created"] == body["created_at"]
    assert chat["model"] == "gpt-via-gateway"
    assert chat["choices"][0]["message"] == {"role": "assistant", "content": body["output"][0]["content"][0]["text"]}
    assert chat["choices"][0]["finish_reason"] == "stop"
    assert chat["usage"] == {
        "prompt_tokens": 15,
        "completion_tokens": 5,
        "total_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@pytest.mark.parametrize("name", ["tool_call", "parallel_tools"])
def test_function_calls_become_tool_calls(name):
    body = body_of(name)
    chat = responses_response_to_chat(body, model="m")
    validate_chat_completion(chat)
    message = chat["choices"][0]["message"]
    assert message["content"] is None and chat["choices"][0]["finish_reason"] == "tool_calls"
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        (item["call_id"], item["name"], item["arguments"]) for item in body["output"]
    ]
    assert len(message["tool_calls"]) == {"tool_call": 1, "parallel_tools": 2}[name]


def test_a_reasoning_summary_becomes_reasoning_content_and_its_tokens_are_kept():
    body = body_of("reasoning_summary")
    chat = responses_response_to_chat(body, model="m")
    message = chat["choices"][0]["message"]
    assert message["reasoning_content"] == body["output"][0]["summary"][0]["text"]
    assert message["content"] == body["output"][1]["content"][0]["text"]
    assert chat["usage"]["completion_tokens_details"] == {"reasoning_tokens": 14}


def test_an_incomplete_answer_finishes_with_length_and_a_refusal_is_kept():
    incomplete = responses_response_to_chat(body_of("incomplete"), model="m")
    assert incomplete["choices"][0]["finish_reason"] == "length" and incomplete["usage"]["completion_tokens"] == 16
    refusal = responses_response_to_chat(body_of("refusal"), model="m")
    validate_chat_completion(refusal)
    assert refusal["choices"][0]["message"]["refusal"] and refusal["choices"][0]["message"]["content"] == ""
    filtered = {**body_of("incomplete"), "incomplete_details": {"reason": "content_filter"}}
    assert responses_response_to_chat(filtered, model="m")["choices"][0]["finish_reason"] == "content_filter"


def test_cached_input_tokens_are_reported_as_cached():
    body = {
        **body_of("text_basic"),
        "usage": {"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 1536}, "output_tokens": 4},
    }
    usage = responses_response_to_chat(body, model="m")["usage"]
    assert (usage["prompt_tokens"], usage["prompt_tokens_details"]["cached_tokens"], usage["total_tokens"]) == (
        2000,
        1536,
        2004,
    )


# -- streams ------------------------------------------------------------------------


def stream(name: str, payloads: list[dict] | None = None) -> tuple[ResponsesToChatStream, list[dict]]:
    translator = ResponsesToChatStream(model="gpt-via-gateway")
    chunks = feed_all(translator, payloads or transcript_payloads("responses_stream", name), close=False)
    return translator, chunks


def final_response(name: str) -> dict:
    (last,) = [
        p
        for p in transcript_payloads("responses_stream", name)
        if p["type"] in ("response.completed", "response.incomplete")
    ]
    return last["response"]


def test_a_text_stream():
    translator, chunks = stream("text_basic")
    result = check_openai_chunks(chunks, include_usage=True)
    final = final_response("text_basic")
    assert translator.ended and translator.failure is None
    assert result.content == final["output"][0]["content"][0]["text"] and result.finish_reason == "stop"
    assert result.usage["prompt_tokens"] == final["usage"]["input_tokens"]
    assert result.usage["completion_tokens"] == final["usage"]["output_tokens"]
    assert chunks[0]["id"] == "chatcmpl-" + final["id"].removeprefix("resp_")


@pytest.mark.parametrize("name", ["tool_call", "parallel_tools"])
def test_a_stream_of_tool_calls_keeps_their_indices(name):
    _translator, chunks = stream(name)
    result = check_openai_chunks(chunks, include_usage=True)
    calls = [item for item in final_response(name)["output"] if item["type"] == "function_call"]
    assert len(calls) == {"tool_call": 1, "parallel_tools": 2}[name]
    assert result.finish_reason == "tool_calls"
    assert [(c["id"], c["name"], c["arguments"]) for c in result.tool_calls] == [
        (c["call_id"], c["name"], c["arguments"]) for c in calls
    ]
    assert all(json.loads(c["arguments"]) for c in result.tool_calls)


def test_a_reasoning_summary_streams_as_reasoning_content_before_the_answer():
    _translator, chunks = stream("reasoning_summary")
    result = check_openai_chunks(chunks, include_usage=True)
    final = final_response("reasoning_summary")
    assert result.reasoning_content == final["output"][0]["summary"][0]["text"]
    assert result.content == final["output"][1]["content"][0]["text"]
    first_content = next(i for i, c in enumerate(chunks) if c["choices"] and c["choices"][0]["delta"].get("content"))
    assert all(
        not c["choices"] or not c["choices"][0]["delta"].get("reasoning_content") for c in chunks[first_content:]
    )
    assert result.usage["completion_tokens_details"]["reasoning_tokens"] == 14


def test_summary_parts_are_separated():
    translator = ResponsesToChatStream(model="m")
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "created_at": 5}},
        {"type": "response.reasoning_summary_part.added", "summary_index": 0},
        {"type": "response.reasoning_summary_text.delta", "delta": "one"},
        {"type": "response.reasoning_summary_part.added", "summary_index": 1},
        {"type": "response.reasoning_summary_text.delta", "delta": "two"},
        {"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": []}},
    ]
    result = check_openai_chunks(feed_all(translator, events, close=False), include_usage=False)
    assert result.reasoning_content == "one\n\ntwo"


def test_an_incomplete_stream_finishes_with_length_and_its_usage():
    translator, chunks = stream("incomplete")
    result = check_openai_chunks(chunks, include_usage=True)
    assert translator.ended and result.finish_reason == "length" and result.usage["completion_tokens"] == 16


def test_a_refusal_streams_as_refusal():
    _translator, chunks = stream("refusal")
    refusal = "".join(c["choices"][0]["delta"].get("refusal") or "" for c in chunks if c["choices"])
    check_openai_chunks(chunks, include_usage=True)
    assert refusal == final_response("refusal")["output"][0]["content"][0]["refusal"]


@pytest.mark.parametrize("name", ["failed", "failed_mid_stream"])
def test_a_failed_response_is_kept_as_the_failure_and_nothing_follows(name):
    translator, chunks = stream(name)
    assert not translator.ended and translator.failure
    failed = [p for p in transcript_payloads("responses_stream", name) if p["type"] == "response.failed"][0]
    assert translator.failure == failed["response"]["error"]["message"]
    assert translator.feed({"type": "response.output_text.delta", "delta": "late"}) == []
    if chunks:
        check_openai_chunks(chunks, include_usage=False, finished=False)
    assert (name == "failed_mid_stream") == any(c["choices"][0]["delta"].get("content") for c in chunks)


def test_an_error_event_is_kept_as_the_failure():
    translator = ResponsesToChatStream(model="m")
    translator.feed({"type": "response.created", "response": {"id": "resp_1"}})
    assert translator.feed({"type": "error", "code": "server_error", "message": "The server had an error"}) == []
    assert translator.failure == "The server had an error" and not translator.ended


def test_a_stream_cut_before_its_terminal_event_is_not_ended():
    payloads = transcript_payloads("responses_stream", "text_basic")[:-3]
    translator, chunks = stream("text_basic", payloads)
    assert not translator.ended and translator.failure is None
    check_openai_chunks(chunks, include_usage=False, finished=False)


@pytest.mark.parametrize("name", ["text_basic", "parallel_tools", "reasoning_summary", "incomplete"])
def test_chained_on_to_anthropic_events(name):
    _translator, chunks = stream(name)
    anthropic = OpenAIToAnthropicStream(model="claude-via-gateway", input_tokens=11)
    events = feed_all(anthropic, chunks)
    result = check_anthropic_events(events)
    final = final_response(name)
    assert events[-2]["usage"]["output_tokens"] == final["usage"]["output_tokens"]
    stop = {
        "text_basic": "end_turn",
        "parallel_tools": "tool_use",
        "reasoning_summary": "end_turn",
        "incomplete": "max_tokens",
    }
    assert events[-2]["delta"]["stop_reason"] == stop[name]
    kinds = [block.type for block in result.blocks]
    expected = {
        "text_basic": ["text"],
        "parallel_tools": ["tool_use", "tool_use"],
        "reasoning_summary": ["thinking", "text"],
        "incomplete": ["text"],
    }
    assert kinds == expected[name]


ODD_EVENTS = [
    {"type": "response.created", "response": "not an object"},
    {"type": "response.output_item.added", "item": "not an object"},
    {"type": "response.output_item.added", "item": {"type": "function_call", "id": 5, "name": None, "arguments": {}}},
    {"type": "response.function_call_arguments.delta", "item_id": ["x"], "delta": "{}"},
    {"type": "response.output_text.delta", "delta": 12},
    {
        "type": "response.completed",
        "response": {
            "status": "incomplete",
            "incomplete_details": "x",
            "usage": {"input_tokens": "many", "output_tokens_details": []},
        },
    },
]


def test_odd_upstream_shapes_translate_without_failing():
    chunks = feed_all(ResponsesToChatStream(model="m"), ODD_EVENTS, close=False)
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls" and chunks[-1]["usage"]["prompt_tokens"] == 0
    assert [c["choices"][0]["delta"] for c in chunks[:-2]] == [
        {"role": "assistant", "content": ""},
        {"tool_calls": [{"index": 0, "id": "", "type": "function", "function": {"name": "", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
    ]
    odd = {
        "id": 3,
        "created_at": "soon",
        "output": [{"type": "message", "content": "text"}, "x", {"type": "function_call", "arguments": 1}],
    }
    chat = responses_response_to_chat(odd, model="m")
    assert chat["created"] == 0 and chat["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == ""
    failed = ResponsesToChatStream(model="m")
    failed.feed({"type": "response.failed", "response": None})
    assert failed.failure == "the response failed"
