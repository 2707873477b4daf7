"""Responses clients on Chat upstreams: the request rules one by one (and the
recorded Codex and Agents SDK follow-ups, checked by the SDKs' request types on
to Chat and Messages), and the answer translated back into a Response object
that openai-python parses."""

from __future__ import annotations

import copy
import json

import pytest
from openai.types.responses import Response

from lumyx.translate import (
    TranslationError,
    anthropic_response_to_openai,
    chat_response_to_responses,
    openai_request_to_anthropic,
    responses_envelope,
    responses_request_to_chat,
)
from tests.unit.translate.responses_client_support import CREATED_AT, MODEL, RESPONSE_ID, SUFFIX, client_request
from tests.unit.translate.translate_support import validate_anthropic_request, validate_openai_request

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
SIGNED = {"type": "reasoning.text", "text": "Think first.", "signature": "EqQBsig=="}


def to_chat(body: dict) -> dict:
    before = copy.deepcopy(body)
    out = responses_request_to_chat(body)
    assert body == before, "the translator mutated its input"
    validate_openai_request(out)
    return out


def chat_of(*items, **params) -> dict:
    return to_chat({"model": "m", "input": list(items), **params})


def refused(body: dict) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        responses_request_to_chat(body)
    return caught.value


# -- messages ---------------------------------------------------------------------


def test_instructions_become_the_first_system_message_and_a_string_input_one_user_message():
    out = to_chat({"model": "m", "instructions": "Be brief.", "input": "Hello"})
    assert out == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    }


def test_message_items_with_or_without_type_and_with_string_or_part_content():
    out = chat_of(
        {"role": "developer", "content": "Answer in English."},
        {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "A"}, {"type": "input_text", "text": "B"}],
        },
        {"role": "user", "content": "What is here?"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "This:"},
                {"type": "input_image", "image_url": PNG, "detail": "low"},
                {"type": "input_image", "image_url": "https://example.com/a.png"},
            ],
        },
        {"id": "msg_1", "status": "completed", "type": "message", "role": "assistant", "content": "A pixel."},
    )
    assert out["messages"] == [
        {"role": "system", "content": "Answer in English."},
        {"role": "system", "content": "A\n\nB"},
        {"role": "user", "content": "What is here?"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "This:"},
                {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        },
        {"role": "assistant", "content": "A pixel."},
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_file", "file_id": "file-1"},
        {"type": "input_image", "file_id": "file-1"},
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}},
    ],
)
def test_files_and_images_by_id_are_refused_naming_the_part(part):
    body = {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}, part]}]}
    assert refused(body).param == "input[0].content[1]"


def test_an_assistant_turn_becomes_one_message_with_its_text_first_and_all_its_calls():
    out = chat_of(
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Two tools."}],
            "reasoning_details": [SIGNED],
        },
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Checking", "annotations": []}],
        },
        {"type": "function_call", "call_id": "c2", "name": "get_time", "arguments": "", "status": "completed"},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "12:00"}, {"type": "output_text", "text": "CET"}],
        },
    )
    assert out["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
            "reasoning_details": [SIGNED],
            "reasoning_content": "Two tools.",
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "12:00\n\nCET"},
    ]


def test_reasoning_without_details_and_a_turn_of_reasoning_only_are_dropped():
    out = chat_of(
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": "gAAAAABforeign", "content": None},
        {"type": "message", "role": "assistant", "content": "Hello"},
        {"role": "user", "content": "again"},
        {"type": "reasoning", "id": "rs_y", "summary": [], "reasoning_details": [SIGNED]},
        {"role": "user", "content": "still there?"},
    )
    assert out["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "again"},
        {"role": "user", "content": "still there?"},
    ]


def test_reasoning_with_details_only_carries_no_reasoning_content():
    out = chat_of(
        {"role": "user", "content": "hi"},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "reasoning_details": [{"type": "reasoning.encrypted", "data": "xyz"}],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]},
    )
    assert out["messages"][1] == {
        "role": "assistant",
        "content": "I can't.",
        "reasoning_details": [{"type": "reasoning.encrypted", "data": "xyz"}],
    }


def test_custom_and_namespaced_calls_and_their_outputs():
    out = chat_of(
        {"role": "user", "content": "go"},
        {
            "type": "custom_tool_call",
            "id": "ctc_1",
            "status": "completed",
            "call_id": "c1",
            "name": "apply_patch",
            "input": "*** Begin Patch\n",
        },
        {
            "type": "function_call",
            "call_id": "c2",
            "name": "spawn_agent",
            "namespace": "multi_agent_v1",
            "arguments": "{}",
        },
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "Success."},
        {"type": "function_call_output", "call_id": "c2", "output": "agent-7"},
    )
    calls = out["messages"][1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["apply_patch", "multi_agent_v1__spawn_agent"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"input": "*** Begin Patch\n"}
    assert out["messages"][2:] == [
        {"role": "tool", "tool_call_id": "c1", "content": "Success."},
        {"role": "tool", "tool_call_id": "c2", "content": "agent-7"},
    ]


def test_records_of_tools_only_openai_runs_are_dropped():
    out = chat_of(
        {"role": "user", "content": "news?"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "news"}},
        {"type": "message", "role": "assistant", "content": "Here they are."},
    )
    assert out["messages"] == [{"role": "user", "content": "news?"}, {"role": "assistant", "content": "Here they are."}]


@pytest.mark.parametrize(
    "item",
    [
        {"type": "item_reference", "id": "msg_unknown"},
        {"type": "compaction", "id": "cmp_1", "encrypted_content": "..."},
        {"type": "local_shell_call", "id": "lsh_1", "call_id": "c", "action": {}, "status": "completed"},
        {"type": "computer_call_output", "call_id": "c", "output": {}},
        {"type": "mcp_approval_request", "id": "m", "name": "x", "arguments": "{}", "server_label": "s"},
        "just a string",
    ],
)
def test_unresolved_references_and_other_item_types_are_refused(item):
    assert refused({"model": "m", "input": [{"role": "user", "content": "hi"}, item]}).param == "input[1]"


@pytest.mark.parametrize(
    "item, param",
    [
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "input[0].call_id"),
        ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[0].name"),
        ({"type": "function_call_output", "output": "x"}, "input[0].call_id"),
        ({"type": "message", "role": "tool", "content": "x"}, "input[0].role"),
        (
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": PNG}]},
            "input[0].output[0]",
        ),
    ],
)
def test_malformed_items_are_refused_naming_the_field(item, param):
    assert refused({"model": "m", "input": [item]}).param == param


# -- tools -------------------------------------------------------------------------


def test_tools_custom_namespace_and_built_ins():
    grammar = {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}
    out = chat_of(
        {"role": "user", "content": "hi"},
        tools=[
            {"type": "function", "name": "plain", "parameters": None},
            {
                "type": "function",
                "name": "strict_one",
                "description": "S.",
                "strict": True,
                "parameters": {"type": "object", "properties": {}},
                "defer_loading": True,
            },
            {"type": "custom", "name": "apply_patch", "description": "Edit files.", "format": grammar},
            {"type": "custom", "name": "note"},
            {
                "type": "namespace",
                "name": "ns",
                "description": "N.",
                "tools": [
                    {
                        "type": "function",
                        "name": "f",
                        "description": "F.",
                        "parameters": {"type": "object", "properties": {}},
                    }
                ],
            },
            {"type": "web_search", "external_web_access": False},
            {"type": "tool_search", "execution": "client"},
        ],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    tools = {t["function"]["name"]: t["function"] for t in out["tools"]}
    assert list(tools) == ["plain", "strict_one", "apply_patch", "note", "ns__f"]
    assert tools["plain"] == {"name": "plain", "parameters": {"type": "object", "properties": {}}}
    assert tools["strict_one"]["strict"] is True and "strict" not in tools["ns__f"]
    assert tools["apply_patch"]["description"] == "Edit files.\n\nInput format (lark grammar):\nstart: /.+/"
    assert tools["apply_patch"]["parameters"]["required"] == ["input"]
    assert tools["apply_patch"]["parameters"]["properties"]["input"]["type"] == "string"
    assert "description" not in tools["note"] and tools["ns__f"]["description"] == "F."
    assert (out["tool_choice"], out["parallel_tool_calls"]) == ("required", False)


@pytest.mark.parametrize(
    "choice, expected",
    [
        ("none", "none"),
        ({"type": "function", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
        ({"type": "custom", "name": "apply_patch"}, {"type": "function", "function": {"name": "apply_patch"}}),
        ({"type": "function", "name": "spawn"}, {"type": "function", "function": {"name": "ns__spawn"}}),
        ({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]}, "auto"),
        ({"type": "allowed_tools", "mode": "required", "tools": []}, "required"),
    ],
)
def test_tool_choice(choice, expected):
    tools = [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}},
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "spawn", "parameters": None}]},
    ]
    assert chat_of({"role": "user", "content": "hi"}, tools=tools, tool_choice=choice)["tool_choice"] == expected


def test_without_a_tool_left_tool_choice_is_dropped_but_a_built_in_choice_is_refused():
    body = {
        "model": "m",
        "input": "hi",
        "tools": [{"type": "web_search"}],
        "tool_choice": "required",
        "parallel_tool_calls": True,
    }
    assert set(to_chat(body)) == {"model", "messages"}
    assert refused({**body, "tool_choice": {"type": "web_search_preview"}}).param == "tool_choice"
    assert refused({**body, "tools": [{"type": "hosted_thing"}]}).param == "tools[0]"


# -- parameters --------------------------------------------------------------------


def test_parameters_copied_mapped_and_dropped():
    body = {
        "model": "m",
        "input": "hi",
        "max_output_tokens": 500,
        "temperature": 0.2,
        "top_p": 0.8,
        "user": "u-1",
        "stream": True,
        "reasoning": {"effort": "xhigh", "summary": "detailed"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "city",
                "strict": True,
                "description": "A city.",
                "schema": {"type": "object"},
            },
            "verbosity": "low",
        },
        **DROPPED,
    }
    out = to_chat(body)
    assert out == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 500,
        "temperature": 0.2,
        "top_p": 0.8,
        "user": "u-1",
        "reasoning_effort": "xhigh",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True, "description": "A city."},
        },
        "stream": True,
        "stream_options": {"include_usage": True},
    }


DROPPED = {
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "metadata": {"k": "v"},
    "prompt_cache_key": "pk",
    "prompt_cache_retention": "24h",
    "truncation": "auto",
    "service_tier": "flex",
    "client_metadata": {"session_id": "s"},
    "safety_identifier": "sid",
    "max_tool_calls": 3,
    "top_logprobs": 5,
    "stream_options": {"include_obfuscation": False},
    "background": False,
    "conversation": None,
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ({"format": {"type": "json_object"}}, {"type": "json_object"}),
        ({"format": {"type": "text"}}, None),
        ({"verbosity": "low"}, None),
    ],
)
def test_text_formats(text, expected):
    assert to_chat({"model": "m", "input": "hi", "text": text}).get("response_format") == expected


def test_no_reasoning_effort_for_none():
    assert "reasoning_effort" not in to_chat({"model": "m", "input": "hi", "reasoning": {"effort": "none"}})
    assert "reasoning_effort" not in to_chat({"model": "m", "input": "hi", "reasoning": {"summary": "auto"}})


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"conversation": {"id": "conv_1"}}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"instructions": [{"role": "system", "content": "x"}]}, "instructions"),
        ({"input": None}, "input"),
    ],
)
def test_what_a_chat_upstream_cannot_do_is_refused_naming_the_parameter(extra, param):
    assert refused({"model": "m", "input": "hi", **extra}).param == param


# -- recorded requests, on to Chat and Messages ------------------------------------


def test_codex_follow_up_on_chat_and_messages():
    body = client_request("codex_followup_request")
    out = to_chat(body)
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["system", "user", "user", "assistant", "tool", "assistant", "tool"]
    patch_turn, exec_turn = out["messages"][3], out["messages"][5]
    assert patch_turn["reasoning_details"][0]["signature"] == "EqQBCgIYAhIMsig-notes-1=="
    assert json.loads(patch_turn["tool_calls"][0]["function"]["arguments"]) == {"input": body["input"][4]["input"]}
    assert "reasoning_details" not in exec_turn  # a foreign encrypted_content is dropped
    assert [t["function"]["name"] for t in out["tools"]] == [
        "exec_command",
        "apply_patch",
        "multi_agent_v1__spawn_agent",
        "multi_agent_v1__close_agent",
    ]
    assert (out["reasoning_effort"], out["tool_choice"], out["parallel_tool_calls"]) == ("low", "auto", True)
    messages = openai_request_to_anthropic(out, default_max_tokens=4096)
    validate_anthropic_request(messages)
    assert messages["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants notes.txt; apply_patch adds it.",
        "signature": "EqQBCgIYAhIMsig-notes-1==",
    }


def test_agents_sdk_follow_up_on_chat():
    out = to_chat(client_request("agents_followup_request"))
    assert out["messages"][0] == {"role": "system", "content": "You answer briefly."}
    assert out["messages"][2]["reasoning_content"] == "Paris weather: call get_weather."
    assert out["tools"][0]["function"]["strict"] is True
    assert "response_format" not in out and out["reasoning_effort"] == "low"


# -- the answer -----------------------------------------------------------------------


def completion(message: dict, finish: str = "stop", usage: dict | None = None) -> dict:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "upstream",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = usage
    return body


def answer(body: dict, request: dict | None = None) -> dict:
    request = request or {"model": "m", "input": "hi"}
    before = (copy.deepcopy(body), copy.deepcopy(request))
    out = chat_response_to_responses(body, request=request, response_id=RESPONSE_ID, created_at=CREATED_AT, model=MODEL)
    assert (body, request) == before
    Response.model_validate(out)
    return out


USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 16},
    "completion_tokens_details": {"reasoning_tokens": 12},
}


def test_a_text_answer_with_usage_and_the_echo_of_the_request():
    out = answer(completion({"content": "Hello!"}, usage=USAGE))
    assert out["output"] == [
        {
            "id": f"msg_{SUFFIX}_0",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}],
        }
    ]
    assert out["usage"] == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 16},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 150,
    }
    assert (out["id"], out["object"], out["created_at"], out["model"], out["status"]) == (
        RESPONSE_ID,
        "response",
        CREATED_AT,
        MODEL,
        "completed",
    )
    assert (out["tool_choice"], out["parallel_tool_calls"], out["store"], out["truncation"]) == (
        "auto",
        True,
        True,
        "disabled",
    )
    assert (out["text"], out["reasoning"], out["metadata"], out["tools"]) == (
        {"format": {"type": "text"}},
        {"effort": None, "summary": None},
        {},
        [],
    )
    assert "output_text" not in out and out["error"] is None and out["incomplete_details"] is None


def test_reasoning_text_and_every_kind_of_call():
    request = client_request("codex_followup_request")
    message = {
        "content": None,
        "reasoning_content": "Three calls.",
        "reasoning_details": [{**SIGNED, "index": 0}],
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "apply_patch", "arguments": '{"input": "*** Begin Patch\\n"}'},
            },
            {
                "id": "c2",
                "type": "function",
                "function": {"name": "multi_agent_v1__spawn_agent", "arguments": '{"task": "t"}'},
            },
            {"id": "c3", "type": "function", "function": {"name": "exec_command", "arguments": ""}},
            {"id": "c4", "type": "function", "function": {"name": "apply_patch", "arguments": "raw patch"}},
        ],
    }
    out = answer(completion(message, "tool_calls"), request)
    assert out["output"][0] == {
        "id": f"rs_{SUFFIX}_0",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Three calls."}],
        "reasoning_details": [SIGNED],
    }
    assert out["output"][1:] == [
        {
            "id": f"ctc_{SUFFIX}_1",
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "c1",
            "name": "apply_patch",
            "input": "*** Begin Patch\n",
        },
        {
            "id": f"fc_{SUFFIX}_2",
            "type": "function_call",
            "status": "completed",
            "call_id": "c2",
            "name": "spawn_agent",
            "arguments": '{"task": "t"}',
            "namespace": "multi_agent_v1",
        },
        {
            "id": f"fc_{SUFFIX}_3",
            "type": "function_call",
            "status": "completed",
            "call_id": "c3",
            "name": "exec_command",
            "arguments": "{}",
        },
        {
            "id": f"ctc_{SUFFIX}_4",
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "c4",
            "name": "apply_patch",
            "input": "raw patch",
        },
    ]
    assert out["tools"] == request["tools"] and out["tools"] is not request["tools"]
    assert (out["store"], out["reasoning"]) == (False, {"effort": "low", "summary": "auto"})


@pytest.mark.parametrize("finish, reason", [("length", "max_output_tokens"), ("content_filter", "content_filter")])
def test_a_cut_answer_is_incomplete_and_its_last_item_too(finish, reason):
    out = answer(completion({"content": "Once upon a", "reasoning": "story"}, finish))
    assert (out["status"], out["incomplete_details"]) == ("incomplete", {"reason": reason})
    assert [item.get("status") for item in out["output"]] == [None, "incomplete"]
    assert out["output"][0]["summary"] == [{"type": "summary_text", "text": "story"}]


def test_a_refusal_and_details_without_text():
    out = answer(
        completion(
            {"content": None, "refusal": "No.", "reasoning_details": [{"type": "reasoning.encrypted", "data": "d"}]}
        )
    )
    assert out["output"][0]["summary"] == [] and out["output"][0]["reasoning_details"] == [
        {"type": "reasoning.encrypted", "data": "d"}
    ]
    assert out["output"][1]["content"] == [{"type": "refusal", "refusal": "No."}]
    assert out["usage"] is None


def test_the_envelope_echoes_the_request():
    request = {
        "model": "m",
        "input": "hi",
        "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "f", "parameters": None, "strict": True}],
        "tool_choice": {"type": "function", "name": "f"},
        "parallel_tool_calls": False,
        "temperature": 0.5,
        "top_p": 0.9,
        "max_output_tokens": 99,
        "reasoning": {"effort": "high"},
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "store": False,
        "metadata": {"a": "b"},
        "truncation": "auto",
        "user": "u",
    }
    out = responses_envelope(request, response_id=RESPONSE_ID, created_at=CREATED_AT, model=MODEL)
    Response.model_validate(out)
    assert out["status"] == "in_progress" and out["output"] == [] and out["usage"] is None
    for key in (
        "instructions",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "max_output_tokens",
        "metadata",
        "truncation",
        "user",
    ):
        assert out[key] == request[key], key
    assert (out["parallel_tool_calls"], out["store"], out["service_tier"], out["background"]) == (
        False,
        False,
        "default",
        False,
    )
    assert out["reasoning"] == {"effort": "high", "summary": None}
    assert out["text"] == {"format": {"type": "json_object"}, "verbosity": "low"}


def test_an_anthropic_answer_chains_through_chat_keeping_the_signed_thinking():
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "Look it up.", "signature": "sig-1"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    out = answer(anthropic_response_to_openai(message, model="claude-via-lumyx"))
    assert [item["type"] for item in out["output"]] == ["reasoning", "message", "function_call"]
    assert out["output"][0]["reasoning_details"] == [
        {"type": "reasoning.text", "text": "Look it up.", "signature": "sig-1"}
    ]
    assert (out["output"][2]["call_id"], out["output"][2]["arguments"]) == ("toolu_1", '{"city": "Paris"}')
    assert (out["usage"]["input_tokens"], out["usage"]["output_tokens"]) == (5, 7)
