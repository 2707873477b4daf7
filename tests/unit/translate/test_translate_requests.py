"""Request translation both ways: ``openai_request_to_anthropic`` and ``anthropic_request_to_openai``.

Every successful translation is also validated against the target SDK's own
request parameter types (``MessageCreateParams`` / ``CompletionCreateParams``).
"""

from __future__ import annotations

import copy
import json

import pytest

from lumyx.translate import TranslationError, anthropic_request_to_openai, openai_request_to_anthropic
from lumyx.translate.chat_messages.request_to_anthropic import JSON_OBJECT_INSTRUCTION, JSON_SCHEMA_INSTRUCTION
from tests.unit.translate.translate_support import validate_anthropic_request, validate_openai_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}


def to_anthropic(body: dict, default_max_tokens: int = 4096) -> dict:
    """Translate, checking that the input is left untouched and the output is a valid Anthropic request."""
    before = copy.deepcopy(body)
    out = openai_request_to_anthropic(body, default_max_tokens=default_max_tokens)
    assert body == before, "input was mutated"
    validate_anthropic_request(out)
    return out


def to_openai(body: dict) -> dict:
    before = copy.deepcopy(body)
    out = anthropic_request_to_openai(body)
    assert body == before, "input was mutated"
    validate_openai_request(out)
    return out


def user(text="Hi"):
    return {"role": "user", "content": text}


def oa(messages=None, **params):
    return {"model": "claude-x", "messages": messages or [user()], **params}


def an(messages=None, **params):
    return {"model": "gpt-x", "max_tokens": 1024, "messages": messages or [user()], **params}


def rejects(fn, body, param, **kwargs):
    with pytest.raises(TranslationError) as info:
        fn(body, **kwargs)
    assert info.value.param == param, (info.value.param, info.value.message)
    return info.value


# ===========================================================================
# OpenAI -> Anthropic
# ===========================================================================

# -- system and developer -----------------------------------------------------


def test_system_and_developer_messages_join_into_system_string_in_order():
    out = to_anthropic(
        oa(
            [
                {"role": "system", "content": "You are terse."},
                user("Hi"),
                {
                    "role": "developer",
                    "content": [{"type": "text", "text": "Answer in French."}, {"type": "text", "text": "No emojis."}],
                },
                {"role": "assistant", "content": "Salut"},
                user("Ça va ?"),
            ]
        )
    )
    assert out["system"] == "You are terse.\n\nAnswer in French.\n\nNo emojis."
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert out["messages"][0] == {"role": "user", "content": [{"type": "text", "text": "Hi"}]}


def test_system_blocks_with_cache_control_keep_markers():
    out = to_anthropic(
        oa(
            [
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": "Long stable prompt", "cache_control": {"type": "ephemeral"}},
                        {"type": "text", "text": "   "},
                    ],
                },
                {"role": "developer", "content": "Today is Monday."},
                user(),
            ]
        )
    )
    assert out["system"] == [
        {"type": "text", "text": "Long stable prompt", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Today is Monday."},
    ]


def test_empty_system_is_omitted():
    out = to_anthropic(oa([{"role": "system", "content": ""}, user()]))
    assert "system" not in out


def test_system_with_image_is_rejected():
    body = oa([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, user()])
    rejects(to_anthropic, body, "messages[0].content[0]")


# -- user content ---------------------------------------------------------------


def test_images_data_uri_and_url():
    out = to_anthropic(
        oa(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Compare"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                        {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ"}},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp"}},
                        {"type": "image_url", "image_url": "https://example.com/dog.gif"},
                    ],
                },
            ]
        )
    )
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.gif"}},
    ]


@pytest.mark.parametrize(
    "url",
    ["data:image/bmp;base64,Qk0=", "data:image/png,rawdata", "ftp://example.com/a.png", ""],
)
def test_unusable_images_are_rejected_naming_the_part(url):
    body = oa(
        [
            user("x"),
            {"role": "assistant", "content": "y"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": url}}],
            },
        ]
    )
    rejects(to_anthropic, body, "messages[2].content[1]")


def test_pdf_file_becomes_document_and_audio_is_rejected():
    out = to_anthropic(
        oa(
            [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "file",
                            "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
                        },
                        {"type": "text", "text": "Summarise"},
                    ],
                }
            ]
        )
    )
    assert out["messages"][0]["content"][0] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }
    rejects(
        to_anthropic,
        oa([{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]),
        "messages[0].content[0]",
    )
    rejects(
        to_anthropic,
        oa([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]),
        "messages[0].content[0]",
    )


def test_empty_text_is_dropped_and_emptied_messages_disappear():
    out = to_anthropic(
        oa(
            [
                user("First"),
                {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": " \n"}]},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": [{"type": "text", "text": "Second"}, {"type": "text", "text": ""}]},
            ]
        )
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "First"}, {"type": "text", "text": "Second"}]}
    ]


def test_request_without_any_content_is_rejected():
    rejects(to_anthropic, oa([{"role": "system", "content": "s"}, user("  ")]), "messages")
    rejects(to_anthropic, {"model": "m", "messages": []}, "messages")
    rejects(to_anthropic, {"model": "m"}, "messages")


def test_final_assistant_prefill_loses_trailing_whitespace():
    out = to_anthropic(oa([user("Write JSON"), {"role": "assistant", "content": "{\n  "}]))
    assert out["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": "{"}]}
    out = to_anthropic(oa([user("Hi"), {"role": "assistant", "content": "Sure thing"}]))
    assert out["messages"][-1]["content"] == [{"type": "text", "text": "Sure thing"}]


def test_message_name_is_dropped():
    out = to_anthropic(oa([{"role": "user", "content": "hi", "name": "alice"}]))
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


# -- tool calls and results -----------------------------------------------------


def tool_call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_multi_turn_parallel_tool_calls_and_merged_results():
    out = to_anthropic(
        oa(
            [
                user("Weather and time in Paris?"),
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        tool_call("call_1", "get_weather", '{"city": "Paris"}'),
                        tool_call("call_2", "get_time", ""),
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "14:05"}]},
                user("Thanks! And tomorrow?"),
            ],
            tools=[WEATHER_TOOL, TIME_TOOL],
        )
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather and time in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18°C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "14:05"}]},
                {"type": "text", "text": "Thanks! And tomorrow?"},
            ],
        },
    ]


def test_tool_results_are_moved_before_user_text_in_the_same_turn():
    out = to_anthropic(
        oa(
            [
                user("go"),
                {"role": "assistant", "content": None, "tool_calls": [tool_call("c1", "get_time", "{}")]},
                {"role": "user", "content": "(the tool is slow)"},
                {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
            ],
            tools=[TIME_TOOL],
        )
    )
    assert [b["type"] for b in out["messages"][2]["content"]] == ["tool_result", "text"]


def test_tool_ids_are_sanitised_identically_on_use_and_result():
    out = to_anthropic(
        oa(
            [
                user("go"),
                {"role": "assistant", "tool_calls": [tool_call("functions.get_time:0", "get_time", "{}")]},
                {"role": "tool", "tool_call_id": "functions.get_time:0", "content": ""},
            ],
            tools=[TIME_TOOL],
        )
    )
    use = out["messages"][1]["content"][0]
    result = out["messages"][2]["content"][0]
    assert use["id"] == result["tool_use_id"] == "functions_get_time_0"
    assert "content" not in result  # empty tool output is omitted
    assert "is_error" not in result


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"', 42])
def test_bad_tool_call_arguments_are_rejected_naming_the_message(arguments):
    body = oa(
        [
            user("go"),
            {"role": "assistant", "tool_calls": [tool_call("c1", "get_time", arguments)]},
            {"role": "tool", "tool_call_id": "c1", "content": "x"},
        ]
    )
    rejects(to_anthropic, body, "messages[1]")


def test_tool_message_without_id_is_rejected():
    rejects(to_anthropic, oa([user(), {"role": "tool", "content": "x"}]), "messages[1].tool_call_id")


def test_legacy_functions_are_rejected():
    rejects(to_anthropic, oa(functions=[{"name": "f", "parameters": {}}]), "functions")
    rejects(to_anthropic, oa(function_call="auto"), "function_call")
    rejects(to_anthropic, oa([user(), {"role": "function", "name": "f", "content": "x"}]), "messages[1].role")
    rejects(
        to_anthropic,
        oa([user(), {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}]),
        "messages[1].function_call",
    )


def test_unknown_role_is_rejected():
    rejects(to_anthropic, oa([{"role": "robot", "content": "x"}]), "messages[0].role")


# -- tools and tool_choice --------------------------------------------------------


def test_tool_definitions():
    out = to_anthropic(
        oa(
            tools=[
                WEATHER_TOOL,
                {"type": "function", "function": {"name": "ping"}},
                {
                    "type": "function",
                    "function": {
                        "name": "loose",
                        "parameters": {"properties": {"a": {"type": "integer"}}},
                        "strict": True,
                    },
                },
            ]
        )
    )
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        },
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
        {"name": "loose", "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}},
    ]
    assert "tool_choice" not in out


def test_empty_schemas_are_independent_objects():
    out = to_anthropic(
        oa(tools=[{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}])
    )
    out["tools"][0]["input_schema"]["properties"]["x"] = {}
    assert out["tools"][1]["input_schema"] == {"type": "object", "properties": {}}
    again = to_anthropic(oa(tools=[{"type": "function", "function": {"name": "a"}}]))
    assert again["tools"][0]["input_schema"] == {"type": "object", "properties": {}}


def test_non_function_tools_are_rejected_naming_the_tool():
    err = rejects(
        to_anthropic, oa(tools=[WEATHER_TOOL, {"type": "custom", "custom": {"name": "grammar_tool"}}]), "tools[1]"
    )
    assert "grammar_tool" in err.message
    rejects(
        to_anthropic, oa(tools=[{"type": "function", "function": {"description": "no name"}}]), "tools[0].function.name"
    )


@pytest.mark.parametrize(
    "choice, parallel, expected",
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        ("none", None, {"type": "none"}),
        ({"type": "function", "function": {"name": "get_weather"}}, None, {"type": "tool", "name": "get_weather"}),
        (None, None, None),
        (None, True, None),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        ("none", False, {"type": "none"}),
    ],
)
def test_tool_choice_and_parallel_tool_calls(choice, parallel, expected):
    params = {"tools": [WEATHER_TOOL]}
    if choice is not None:
        params["tool_choice"] = choice
    if parallel is not None:
        params["parallel_tool_calls"] = parallel
    out = to_anthropic(oa(**params))
    assert out.get("tool_choice") == expected


@pytest.mark.parametrize("tools", [None, []])
@pytest.mark.parametrize("choice", ["auto", "required", "none", {"type": "function", "function": {"name": "f"}}])
def test_tool_choice_without_tools_is_dropped(tools, choice):
    params = {"tool_choice": choice, "parallel_tool_calls": False}
    if tools is not None:
        params["tools"] = tools
    out = to_anthropic(oa(**params))
    assert "tool_choice" not in out and "tools" not in out
    assert "disable_parallel_tool_use" not in json.dumps(out)


@pytest.mark.parametrize(
    "choice, param",
    [
        ({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}, "tool_choice"),
        ({"type": "function", "function": {}}, "tool_choice"),
        ("sometimes", "tool_choice"),
    ],
)
def test_unsupported_tool_choice_is_rejected(choice, param):
    rejects(to_anthropic, oa(tools=[WEATHER_TOOL], tool_choice=choice), param)


# -- sampling and other parameters --------------------------------------------------


def test_parameters_are_translated():
    out = to_anthropic(
        oa(
            max_tokens=500,
            temperature=1.7,
            top_p=0.9,
            top_k=40,
            stop=["END", "  ", "", "\n\nHuman:"],
            user="user-123",
            stream=True,
            seed=7,
            frequency_penalty=0.5,
            presence_penalty=0.1,
            logit_bias={"50256": -100},
            logprobs=True,
            top_logprobs=2,
            stream_options={"include_usage": True},
            n=1,
            service_tier="auto",
            store=True,
            metadata={"k": "v"},
            modalities=["text"],
        )
    )
    assert out == {
        "model": "claude-x",
        "max_tokens": 500,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "temperature": 1.0,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["END", "\n\nHuman:"],
        "metadata": {"user_id": "user-123"},
        "stream": True,
    }


@pytest.mark.parametrize("temperature, expected", [(0, 0.0), (0.3, 0.3), (1, 1), (2, 1.0), (-0.5, 0.0)])
def test_temperature_is_clamped_to_anthropic_range(temperature, expected):
    assert to_anthropic(oa(temperature=temperature))["temperature"] == expected


def test_stop_as_string_and_whitespace_only():
    assert to_anthropic(oa(stop="###"))["stop_sequences"] == ["###"]
    assert "stop_sequences" not in to_anthropic(oa(stop="\n"))
    assert "stop_sequences" not in to_anthropic(oa(stop=[]))


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, 4096),
        ({"max_tokens": 300}, 300),
        ({"max_completion_tokens": 700}, 700),
        ({"max_completion_tokens": 700, "max_tokens": 300}, 700),
        ({"max_tokens": None}, 4096),
    ],
)
def test_max_tokens_is_always_sent(params, expected):
    out = to_anthropic(oa(**params), default_max_tokens=4096)
    assert out["max_tokens"] == expected


def test_stream_false_is_copied():
    assert to_anthropic(oa(stream=False))["stream"] is False
    assert "stream" not in to_anthropic(oa())


def test_n_greater_than_one_is_rejected():
    err = rejects(to_anthropic, oa(n=3), "n")
    assert "n" in err.message
    assert "n" not in to_anthropic(oa(n=1))


def test_json_object_response_format_adds_instruction():
    out = to_anthropic(
        oa([{"role": "system", "content": "Be helpful."}, user()], response_format={"type": "json_object"})
    )
    assert out["system"] == "Be helpful.\n\n" + JSON_OBJECT_INSTRUCTION
    assert to_anthropic(oa(response_format={"type": "json_object"}))["system"] == JSON_OBJECT_INSTRUCTION
    assert "system" not in to_anthropic(oa(response_format={"type": "text"}))


def test_json_schema_response_format_includes_schema():
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    out = to_anthropic(
        oa(response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": True}})
    )
    assert out["system"].startswith(JSON_SCHEMA_INSTRUCTION)
    assert json.loads(out["system"][len(JSON_SCHEMA_INSTRUCTION) :]) == schema
    no_schema = to_anthropic(oa(response_format={"type": "json_schema", "json_schema": {"name": "a"}}))
    assert no_schema["system"] == JSON_OBJECT_INSTRUCTION


def test_json_instruction_joins_a_cached_system_as_a_block():
    out = to_anthropic(
        oa(
            [
                {"role": "system", "content": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}]},
                user(),
            ],
            response_format={"type": "json_object"},
        )
    )
    assert out["system"] == [
        {"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": JSON_OBJECT_INSTRUCTION},
    ]


# -- reasoning -> thinking ----------------------------------------------------------


@pytest.mark.parametrize(
    "params, budget, max_tokens",
    [
        ({"reasoning_effort": "low", "max_tokens": 10000}, 2000, 10000),
        ({"reasoning_effort": "medium", "max_tokens": 10000}, 5000, 10000),
        ({"reasoning_effort": "high", "max_tokens": 10000}, 8000, 10000),
        ({"reasoning_effort": "minimal", "max_tokens": 10000}, 2000, 10000),
        ({"reasoning_effort": "xhigh", "max_tokens": 10000}, 8000, 10000),
        ({"reasoning": {"effort": "high"}, "max_tokens": 10000}, 8000, 10000),
        ({"reasoning": {"effort": "low"}, "reasoning_effort": "high", "max_tokens": 10000}, 2000, 10000),
        ({"reasoning": {}, "max_tokens": 10000}, 5000, 10000),
        ({"reasoning": {"enabled": True}, "max_tokens": 10000}, 5000, 10000),
        ({"reasoning": {"max_tokens": 3000}, "max_tokens": 10000}, 3000, 10000),
        ({"reasoning": {"max_tokens": 500}, "max_tokens": 10000}, 1024, 10000),
        # the budget must stay below max_tokens: max_tokens grows to keep the answer's room
        ({"reasoning": {"max_tokens": 3000}, "max_tokens": 2000}, 3000, 5000),
        ({"reasoning_effort": "low", "max_tokens": 1000}, 1024, 2024),
        ({"reasoning_effort": "high", "max_completion_tokens": 1024}, 1024, 2048),
        ({"reasoning_effort": "medium"}, 2048, 4096),  # default_max_tokens
    ],
)
def test_reasoning_becomes_thinking_budget(params, budget, max_tokens):
    out = to_anthropic(oa(**params), default_max_tokens=4096)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert out["max_tokens"] == max_tokens
    assert 1024 <= out["thinking"]["budget_tokens"] < out["max_tokens"]


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high", "xhigh", "max"])
@pytest.mark.parametrize("max_tokens", [1, 512, 1024, 1025, 2048, 4096, 32000, 128000])
def test_thinking_budget_is_always_valid(effort, max_tokens):
    out = to_anthropic(oa(reasoning_effort=effort, max_tokens=max_tokens))
    budget = out["thinking"]["budget_tokens"]
    assert 1024 <= budget < out["max_tokens"]
    # a budget that does not fit is added on top, so the answer keeps the room asked for
    assert out["max_tokens"] in (max_tokens, budget + max_tokens)


@pytest.mark.parametrize(
    "params",
    [
        {"reasoning_effort": "none"},
        {"reasoning": {"effort": "none"}},
        {"reasoning": {"enabled": False, "effort": "high"}},
        {"reasoning": {"max_tokens": 0}},
        {},
    ],
)
def test_no_thinking_when_reasoning_is_off(params):
    out = to_anthropic(oa(temperature=0.2, **params))
    assert "thinking" not in out
    assert out["temperature"] == 0.2


def test_thinking_drops_sampling_parameters():
    out = to_anthropic(oa(reasoning_effort="high", temperature=0.2, top_p=0.5, top_k=3, max_tokens=8000))
    assert out["thinking"]["type"] == "enabled"
    assert not {"temperature", "top_p", "top_k"} & set(out)


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_forced_tool_choice_disables_thinking(choice):
    out = to_anthropic(oa(tools=[WEATHER_TOOL], tool_choice=choice, reasoning_effort="high", temperature=0.5))
    assert "thinking" not in out
    assert out["temperature"] == 0.5


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_unforced_tool_choice_keeps_thinking(choice):
    out = to_anthropic(oa(tools=[WEATHER_TOOL], tool_choice=choice, reasoning_effort="high"))
    assert out["thinking"]["type"] == "enabled"


def test_tool_loop_without_signed_thinking_disables_thinking():
    # most OpenAI clients do not send reasoning_details back; Anthropic would
    # reject the request ("a final assistant message must start with a thinking block")
    messages = [
        user("Weather in Paris?"),
        {"role": "assistant", "content": None, "tool_calls": [tool_call("c1", "get_weather", '{"city": "Paris"}')]},
        {"role": "tool", "tool_call_id": "c1", "content": "18°C"},
    ]
    out = to_anthropic(oa(messages, tools=[WEATHER_TOOL], reasoning_effort="high"))
    assert "thinking" not in out
    # an unsigned reasoning_content does not help: it cannot be sent back
    messages[1] = {**messages[1], "reasoning_content": "I should call the tool."}
    assert "thinking" not in to_anthropic(oa(messages, tools=[WEATHER_TOOL], reasoning_effort="high"))


def test_tool_loop_with_signed_thinking_keeps_thinking_and_replays_it():
    messages = [
        user("Weather in Paris?"),
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "I should call the tool.",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "I should call ", "index": 0},
                {"type": "reasoning.text", "text": "the tool.", "index": 0},
                {"type": "reasoning.text", "signature": "SIG", "index": 0},
                {"type": "reasoning.encrypted", "data": "REDACTED", "index": 1},
            ],
            "tool_calls": [tool_call("c1", "get_weather", '{"city": "Paris"}')],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "18°C"},
    ]
    out = to_anthropic(oa(messages, tools=[WEATHER_TOOL], reasoning_effort="high", max_tokens=10000))
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "I should call the tool.", "signature": "SIG"},
        {"type": "redacted_thinking", "data": "REDACTED"},
        {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Paris"}},
    ]


def test_earlier_tool_turns_without_thinking_do_not_disable_thinking():
    messages = [
        user("Weather in Paris?"),
        {"role": "assistant", "tool_calls": [tool_call("c1", "get_weather", '{"city": "Paris"}')]},
        {"role": "tool", "tool_call_id": "c1", "content": "18°C"},
        {"role": "assistant", "content": "It is 18°C."},
        user("And in Rome?"),
    ]
    out = to_anthropic(oa(messages, tools=[WEATHER_TOOL], reasoning_effort="low"))
    assert out["thinking"]["type"] == "enabled"


def test_signature_only_detail_takes_reasoning_content_and_unsigned_reasoning_is_dropped():
    out = to_anthropic(
        oa(
            [
                user("q"),
                {
                    "role": "assistant",
                    "content": "a1",
                    "reasoning_content": "full thought",
                    "reasoning_details": [{"type": "reasoning.text", "signature": "S1"}],
                },
                user("q2"),
                {"role": "assistant", "content": "a2", "reasoning_content": "unsigned thought"},
                user("q3"),
            ]
        )
    )
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "full thought", "signature": "S1"},
        {"type": "text", "text": "a1"},
    ]
    assert out["messages"][3]["content"] == [{"type": "text", "text": "a2"}]


@pytest.mark.parametrize(
    "params, param",
    [
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"reasoning": {"effort": "turbo"}}, "reasoning.effort"),
        ({"reasoning": "high"}, "reasoning"),
    ],
)
def test_invalid_reasoning_is_rejected(params, param):
    rejects(to_anthropic, oa(**params), param)


# -- input is never mutated, even by a long, rich request -------------------------


def test_rich_openai_request_is_not_mutated_and_is_valid():
    body = oa(
        [
            {"role": "system", "content": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            },
            {
                "role": "assistant",
                "content": "ok ",
                "tool_calls": [tool_call("call 1", "get_weather", '{"city": "Oslo"}')],
                "reasoning_details": [{"type": "reasoning.text", "text": "t", "signature": "s"}],
            },
            {"role": "tool", "tool_call_id": "call 1", "content": [{"type": "text", "text": "cold"}]},
            {"role": "assistant", "content": "Done.  "},
        ],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        parallel_tool_calls=False,
        reasoning={"effort": "medium", "exclude": True},
        response_format={"type": "json_object"},
        stop=["x"],
        max_tokens=3000,
    )
    out = to_anthropic(body)
    assert out["messages"][1]["content"][0] == {"type": "thinking", "thinking": "t", "signature": "s"}
    assert out["messages"][1]["content"][2]["id"] == "call_1"
    assert out["messages"][2]["content"][0]["tool_use_id"] == "call_1"
    assert out["messages"][-1]["content"][-1] == {"type": "text", "text": "Done."}
    assert out["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_non_object_body_is_rejected():
    with pytest.raises(TranslationError):
        openai_request_to_anthropic([], default_max_tokens=10)
    with pytest.raises(TranslationError):
        anthropic_request_to_openai("x")


# ===========================================================================
# Anthropic -> OpenAI
# ===========================================================================


def test_anthropic_system_string_and_blocks():
    assert to_openai(an(system="Be brief."))["messages"][0] == {"role": "system", "content": "Be brief."}
    out = to_openai(
        an(
            system=[
                {"type": "text", "text": "Cached part", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "text", "text": ""},
                {"type": "text", "text": "Dynamic part"},
            ]
        )
    )
    assert out["messages"][0] == {"role": "system", "content": "Cached part\n\nDynamic part"}
    assert "cache_control" not in json.dumps(out)
    assert to_openai(an())["messages"] == [{"role": "user", "content": "Hi"}]
    rejects(to_openai, an(system=[{"type": "image", "source": {}}]), "system[0]")


def test_anthropic_user_blocks_images_and_documents():
    out = to_openai(
        an(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?", "cache_control": {"type": "ephemeral"}},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
                            "title": "spec.pdf",
                        },
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"},
                        },
                        {"type": "text", "text": ""},
                    ],
                }
            ]
        )
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                {"type": "file", "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
                {"type": "text", "text": "plain doc"},
            ],
        }
    ]


def test_single_text_block_becomes_plain_string():
    out = to_openai(
        an([{"role": "user", "content": [{"type": "text", "text": "only text"}, {"type": "text", "text": ""}]}])
    )
    assert out["messages"] == [{"role": "user", "content": "only text"}]


def test_unsupported_user_blocks_are_rejected():
    rejects(
        to_openai,
        an([{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]),
        "messages[0].content[0]",
    )
    rejects(
        to_openai,
        an([{"role": "user", "content": [{"type": "search_result", "source": "s"}]}]),
        "messages[0].content[0]",
    )
    rejects(to_openai, an([{"role": "system", "content": "x"}]), "messages[0].role")


def test_anthropic_tool_loop_becomes_tool_messages():
    out = to_openai(
        an(
            [
                user("Weather and time?"),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Two tools.", "signature": "SIG1"},
                        {"type": "redacted_thinking", "data": "ENC"},
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_B", "name": "get_time", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_A",
                            "content": [{"type": "text", "text": "18°C"}, {"type": "text", "text": "sunny"}],
                        },
                        {"type": "tool_result", "tool_use_id": "toolu_B", "content": "14:05", "is_error": True},
                        {"type": "text", "text": "Also tomorrow?"},
                    ],
                },
            ],
            tools=[
                {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
                {"name": "get_time", "input_schema": {"type": "object"}},
            ],
        )
    )
    assert out["messages"] == [
        {"role": "user", "content": "Weather and time?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_A",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {"id": "toolu_B", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
            "reasoning_content": "Two tools.",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Two tools.", "signature": "SIG1"},
                {"type": "reasoning.encrypted", "data": "ENC"},
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_A", "content": "18°C\nsunny"},
        {"role": "tool", "tool_call_id": "toolu_B", "content": "14:05"},
        {"role": "user", "content": "Also tomorrow?"},
    ]


def test_tool_only_assistant_has_null_content_and_results_only_user_adds_no_user_message():
    out = to_openai(
        an(
            [
                user("go"),
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1, 2]}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
            ],
            tools=[{"name": "f", "input_schema": {"type": "object"}}],
        )
    )
    assert out["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a": [1, 2]}'}},
        ],
    }
    assert out["messages"][2:] == [{"role": "tool", "tool_call_id": "t1", "content": ""}]


def test_images_in_tool_results_move_to_a_user_message():
    out = to_openai(
        an(
            [
                user("screenshot please"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [
                                {"type": "text", "text": "captured"},
                                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                            ],
                        }
                    ],
                },
            ],
            tools=[{"name": "shot", "input_schema": {"type": "object"}}],
        )
    )
    assert out["messages"][2:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "captured"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Image output of tool call t1:"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
    ]


def test_assistant_server_tool_blocks_are_rejected_naming_the_type():
    err = rejects(
        to_openai,
        an(
            [
                user(),
                {
                    "role": "assistant",
                    "content": [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}],
                },
            ]
        ),
        "messages[1].content[0]",
    )
    assert "server_tool_use" in err.message


def test_anthropic_tools_and_server_tools():
    out = to_openai(
        an(
            tools=[
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "cache_control": {"type": "ephemeral"},
                    "strict": True,
                },
                {"type": "custom", "name": "noargs"},
            ]
        )
    )
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "noargs", "parameters": {"type": "object", "properties": {}}}},
    ]
    err = rejects(to_openai, an(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools[0]")
    assert "web_search" in err.message
    rejects(to_openai, an(tools=[{"type": "bash_20250124", "name": "bash"}]), "tools[0]")


@pytest.mark.parametrize(
    "choice, expected_choice, expected_parallel",
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}, None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
        (
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
            {"type": "function", "function": {"name": "get_weather"}},
            False,
        ),
        ({"type": "auto", "disable_parallel_tool_use": False}, "auto", None),
        ({"type": "none", "disable_parallel_tool_use": True}, "none", None),
    ],
)
def test_anthropic_tool_choice(choice, expected_choice, expected_parallel):
    out = to_openai(an(tools=[{"name": "get_weather", "input_schema": {"type": "object"}}], tool_choice=choice))
    assert out["tool_choice"] == expected_choice
    assert out.get("parallel_tool_calls") == expected_parallel


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "auto"},
        {"type": "any", "disable_parallel_tool_use": True},
        {"type": "tool", "name": "x"},
        {"type": "none"},
    ],
)
@pytest.mark.parametrize("tools", [None, []])
def test_anthropic_tool_choice_without_tools_is_dropped(choice, tools):
    params = {"tool_choice": choice}
    if tools is not None:
        params["tools"] = tools
    out = to_openai(an(**params))
    # OpenAI rejects tool_choice and parallel_tool_calls without tools
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(out)


@pytest.mark.parametrize(
    "choice, param",
    [({"type": "tool"}, "tool_choice.name"), ({"type": "sometimes"}, "tool_choice"), ("auto", "tool_choice")],
)
def test_anthropic_bad_tool_choice_is_rejected(choice, param):
    rejects(to_openai, an(tools=[{"name": "x", "input_schema": {"type": "object"}}], tool_choice=choice), param)


def test_anthropic_parameters():
    out = to_openai(
        an(
            max_tokens=2048,
            temperature=0.7,
            top_p=0.95,
            top_k=20,
            stop_sequences=["\n\nHuman:", "END"],
            metadata={"user_id": "u-9"},
            stream=True,
            service_tier="auto",
            container="c",
            inference_geo="eu",
        )
    )
    assert out == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 2048,
        "temperature": 0.7,
        "top_p": 0.95,
        "stop": ["\n\nHuman:", "END"],
        "user": "u-9",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_anthropic_stream_false_has_no_stream_options():
    out = to_openai(an(stream=False))
    assert out["stream"] is False and "stream_options" not in out
    assert "metadata" not in to_openai(an(metadata={}))


@pytest.mark.parametrize(
    "thinking, max_tokens, output_config, effort",
    [
        ({"type": "enabled", "budget_tokens": 2000}, 10000, None, "low"),
        ({"type": "enabled", "budget_tokens": 3499}, 10000, None, "low"),
        ({"type": "enabled", "budget_tokens": 3500}, 10000, None, "medium"),
        ({"type": "enabled", "budget_tokens": 5000}, 10000, None, "medium"),
        ({"type": "enabled", "budget_tokens": 6500}, 10000, None, "high"),
        ({"type": "enabled", "budget_tokens": 31999}, 32000, None, "high"),
        ({"type": "adaptive"}, 10000, {"effort": "medium"}, "medium"),
        ({"type": "adaptive"}, 10000, {"effort": "max"}, "high"),
        ({"type": "adaptive"}, 10000, None, None),
        ({"type": "disabled"}, 10000, None, None),
        (None, 10000, {"effort": "high"}, None),
    ],
)
def test_thinking_becomes_reasoning_effort(thinking, max_tokens, output_config, effort):
    params = {"max_tokens": max_tokens}
    if thinking is not None:
        params["thinking"] = thinking
    if output_config is not None:
        params["output_config"] = output_config
    out = to_openai(an(**params))
    assert out.get("reasoning_effort") == effort
    assert "reasoning" not in out and "thinking" not in out


def test_bad_thinking_budget_is_rejected():
    rejects(to_openai, an(thinking={"type": "enabled"}), "thinking.budget_tokens")
    rejects(to_openai, an(thinking={"type": "adaptive"}, output_config={"effort": "ludicrous"}), "output_config.effort")


def test_output_format_becomes_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    out = to_openai(an(output_config={"format": {"type": "json_schema", "schema": schema}}))
    assert out["response_format"] == {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}


def test_rich_anthropic_request_is_not_mutated():
    body = an(
        [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": {"y": 1}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}],
                    }
                ],
            },
        ],
        system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        tools=[{"name": "f", "input_schema": {"type": "object", "properties": {"x": {"type": "object"}}}}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        thinking={"type": "enabled", "budget_tokens": 1024},
        stop_sequences=["s"],
        stream=True,
    )
    out = to_openai(body)
    assert out["parallel_tool_calls"] is False
    assert out["reasoning_effort"] == "high"


# ===========================================================================
# Both ways
# ===========================================================================


def test_openai_request_round_trips_through_anthropic():
    original = oa(
        [
            {"role": "system", "content": "sys"},
            user("go"),
            {
                "role": "assistant",
                "content": "calling",
                "tool_calls": [tool_call("call_1", "get_weather", '{"city": "Paris"}')],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
        ],
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
        stop=["END"],
        user="me",
        max_completion_tokens=321,
        temperature=0.5,
    )
    back = to_openai(to_anthropic(original))
    assert back == {
        "model": "claude-x",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": "calling",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
        ],
        "max_completion_tokens": 321,
        "temperature": 0.5,
        "stop": ["END"],
        "user": "me",
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }
