"""The upstream stand-in's OpenAI Responses API (tests/fakes/upstream_responses.py),
run as a real server: its strict request checks, its answers, its stream shape,
and the stored responses behind previous_response_id."""

from __future__ import annotations

import json

import openai
import orjson
import pytest
import requests

from tests.fakes.upstream_core import DEFAULT_KEY

AUTH = {"Authorization": f"Bearer {DEFAULT_KEY}"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}},
        "required": ["cmd"],
    },
}
SHELL = {
    "type": "function",
    "name": "shell",
    "parameters": {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}, "timeout_ms": {"type": "number"}},
        "required": ["command"],
    },
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /(.|\\n)+/"},
}


def post(upstream, body, path="/v1/responses", **headers):
    return requests.post(upstream.url + path, json=body, headers={**AUTH, **headers}, timeout=10)


def events(resp) -> list[tuple[str, dict]]:
    out = []
    for block in resp.text.split("\n\n"):
        if not block.strip():
            continue
        name = data = None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        out.append((name, data))
    return out


def bad(upstream, body, status=400, **headers) -> dict:
    r = post(upstream, body, **headers)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


@pytest.fixture
def client(upstream):
    return openai.OpenAI(base_url=upstream.url + "/v1", api_key=DEFAULT_KEY, max_retries=0)


# --------------------------------------------------------------------------- strict checks


def test_unknown_top_level_field_names_the_param(upstream):
    err = bad(upstream, {"model": "gpt-5", "input": "hi", "messages": []})
    assert err == {
        "message": "Unknown parameter: 'messages'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "unknown_parameter",
    }


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": "hi"}, "model", "missing_required_parameter"),
        ({"model": "gpt-5"}, "input", "missing_required_parameter"),
        ({"model": "gpt-5", "input": 5}, "input", "invalid_type"),
        ({"model": "gpt-5", "input": "hi", "max_output_tokens": "9"}, "max_output_tokens", "invalid_type"),
        ({"model": "gpt-5", "input": "hi", "max_output_tokens": 8}, "max_output_tokens", "integer_below_min_value"),
        ({"model": "gpt-5", "input": "hi", "temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"model": "gpt-5", "input": "hi", "store": "no"}, "store", "invalid_type"),
        ({"model": "gpt-5", "input": "hi", "truncation": "middle"}, "truncation", "invalid_value"),
        ({"model": "gpt-5", "input": "hi", "include": ["reasoning.raw"]}, "include[0]", "invalid_value"),
        ({"model": "gpt-5", "input": "hi", "reasoning": {"effort": "max"}}, "reasoning.effort", "invalid_value"),
        ({"model": "gpt-5", "input": "hi", "reasoning": {"budget": 5}}, "reasoning.budget", "unknown_parameter"),
        ({"model": "gpt-5", "input": "hi", "text": {"format": {"type": "xml"}}}, "text.format.type", "invalid_value"),
        (
            {"model": "gpt-5", "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}},
            "text.format.schema",
            "missing_required_parameter",
        ),
        ({"model": "gpt-5", "input": "hi", "metadata": {"a": 1}}, "metadata.a", "invalid_type"),
        ({"model": "gpt-5", "input": "hi", "stream_options": {}}, "stream_options", "invalid_value"),
        ({"model": "gpt-5", "input": "hi", "tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value"),
        ({"model": "gpt-5", "input": "hi", "tools": [{"type": "function"}]}, "tools[0].name", None),
        (
            {"model": "gpt-5", "input": "hi", "tools": [{**WEATHER, "function": {}}]},
            "tools[0].function",
            "unknown_parameter",
        ),
        (
            {"model": "gpt-5", "input": "hi", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}},
            "tool_choice",
            "invalid_value",
        ),
        ({"model": "gpt-5", "input": [{"type": "shout", "text": "hi"}]}, "input[0].type", "invalid_value"),
        ({"model": "gpt-5", "input": [{"role": "robot", "content": "hi"}]}, "input[0].role", "invalid_value"),
        (
            {"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            {"model": "gpt-5", "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "hi"}]}]},
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            {"model": "gpt-5", "input": [{"role": "user", "content": "hi", "name": "bob"}]},
            "input[0].name",
            "unknown_parameter",
        ),
        (
            {"model": "gpt-5", "input": [{"type": "function_call", "call_id": "c1", "name": "f"}]},
            "input[0].arguments",
            "missing_required_parameter",
        ),
        (
            {"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0].image_url",
            "missing_required_parameter",
        ),
    ],
)
def test_request_checks(upstream, body, param, code):
    err = bad(upstream, body)
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"
    if code:
        assert err["code"] == code


def test_tool_output_needs_its_call_in_the_same_input(upstream):
    body = {"model": "gpt-5", "input": [{"type": "function_call_output", "call_id": "call_x", "output": "42"}]}
    err = bad(upstream, body)
    assert err["message"] == "No tool call found for function call output with call_id call_x."
    assert err["param"] == "input"
    call = {"type": "custom_tool_call", "call_id": "call_y", "name": "apply_patch", "input": "x"}
    wrong_kind = {"type": "function_call_output", "call_id": "call_y", "output": "ok"}
    assert "call_id call_y" in bad(upstream, {"model": "gpt-5", "input": [call, wrong_kind]})["message"]
    ok = {"type": "custom_tool_call_output", "call_id": "call_y", "output": "done"}
    r = post(upstream, {"model": "gpt-5", "input": [call, ok]})
    assert r.status_code == 200, r.text
    assert r.json()["output"][0]["content"][0]["text"] == "Tool result: done"


def test_bearer_auth(upstream):
    r = requests.post(upstream.url + "/v1/responses", json={"model": "gpt-5", "input": "hi"}, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(
        upstream.url + "/responses",
        json={"model": "gpt-5", "input": "hi"},
        headers={"Authorization": "Bearer wrong-key-123456"},
        timeout=5,
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_unknown_previous_response_and_reasoning_items(upstream):
    err = bad(upstream, {"model": "gpt-5", "input": "hi", "previous_response_id": "resp_nope"})
    assert (err["param"], err["code"]) == ("previous_response_id", "previous_response_not_found")
    item = {"type": "reasoning", "id": "rs_unknown", "summary": []}
    err = bad(upstream, {"model": "gpt-5", "input": [item, {"role": "user", "content": "hi"}]}, status=404)
    assert "Item with id 'rs_unknown' not found" in err["message"]
    forged = dict(item, encrypted_content="gAAAAABnot-ours")
    err = bad(upstream, {"model": "gpt-5", "input": [forged, {"role": "user", "content": "hi"}]})
    assert err["code"] == "invalid_encrypted_content"


# --------------------------------------------------------------------------- answers


def test_plain_answer_and_echoed_settings(upstream):
    body = {
        "model": "gpt-5",
        "instructions": "Be brief.",
        "input": "Tell me a story",
        "metadata": {"k": "v"},
        "temperature": 0.5,
        "text": {"verbosity": "low"},
        "service_tier": "auto",
        "store": False,
        "user": "u1",
    }
    r = post(upstream, body)
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"].startswith("req_")
    out = r.json()
    assert out["id"].startswith("resp_") and out["object"] == "response"
    assert out["status"] == "completed" and out["error"] is None and out["incomplete_details"] is None
    assert out["model"] == "gpt-5" and out["instructions"] == "Be brief."
    assert (out["temperature"], out["top_p"], out["store"], out["user"]) == (0.5, 1.0, False, "u1")
    assert out["text"] == {"format": {"type": "text"}, "verbosity": "low"}
    assert (out["tool_choice"], out["tools"], out["parallel_tool_calls"]) == ("auto", [], True)
    assert out["metadata"] == {"k": "v"} and out["service_tier"] == "default"
    (msg,) = out["output"]
    assert msg["id"].startswith("msg_") and msg["role"] == "assistant" and msg["status"] == "completed"
    assert msg["content"] == [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": "Echo: Tell me a story"}
    ]
    usage = out["usage"]
    assert usage["output_tokens"] == 5 and usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert usage["input_tokens"] > 0 and usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # store: false keeps nothing
    assert requests.get(f"{upstream.url}/v1/responses/{out['id']}", headers=AUTH, timeout=5).status_code == 404


def test_json_schema_format(upstream):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}, "required": ["n"]}
    body = {
        "model": "gpt-5",
        "input": "count",
        "text": {"format": {"type": "json_schema", "name": "c", "schema": schema}},
    }
    out = post(upstream, body).json()
    assert json.loads(out["output"][0]["content"][0]["text"]) == {"n": 1}


def test_reasoning_item_summary_and_encrypted_content_round_trip(upstream):
    body = {
        "model": "gpt-5",
        "input": "Why is the sky blue",
        "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    out = post(upstream, body).json()
    rs, msg = out["output"]
    assert rs["type"] == "reasoning" and rs["id"].startswith("rs_")
    assert rs["summary"][0]["type"] == "summary_text" and "Why is the sky blue" in rs["summary"][0]["text"]
    assert rs["encrypted_content"].startswith("gAAAAA")
    assert out["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    assert out["reasoning"] == {"effort": "low", "summary": "auto"}
    # back as input (stateless, as Codex does): accepted only with the content it was given
    follow = {"model": "gpt-5", "store": False, "input": [{"role": "user", "content": "Why"}, rs, msg]}
    follow["input"].append({"role": "user", "content": "And at night?"})
    assert post(upstream, follow).status_code == 200
    without = dict(rs)
    del without["encrypted_content"]
    follow["input"][1] = without
    assert post(upstream, follow).status_code == 404
    # no summary asked: an empty summary, tokens still counted
    plain = post(upstream, {"model": "gpt-5", "input": "hi", "reasoning": {"effort": "medium"}}).json()
    assert plain["output"][0]["summary"] == [] and "encrypted_content" not in plain["output"][0]


def test_function_tool_call_and_follow_up(upstream):
    out = post(upstream, {"model": "gpt-5", "input": "Weather in Paris?", "tools": [WEATHER]}).json()
    (call,) = out["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather" and call["status"] == "completed"
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"city": "Weather in Paris?"}
    assert out["tools"][0]["strict"] is True
    follow = {
        "model": "gpt-5",
        "tools": [WEATHER],
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
        ],
    }
    out = post(upstream, follow).json()
    assert out["output"][0]["content"][0]["text"] == "Tool result: sunny"
    none = post(upstream, {"model": "gpt-5", "input": "hi", "tools": [WEATHER], "tool_choice": "none"}).json()
    assert none["output"][0]["type"] == "message"


def test_shell_like_tools_get_runnable_commands(upstream):
    out = post(upstream, {"model": "gpt-5", "input": "Say hello", "tools": [EXEC, SHELL]}).json()
    assert json.loads(out["output"][0]["arguments"]) == {"cmd": "echo 'Echo: Say hello'"}
    out = post(upstream, {"model": "gpt-5", "input": "Run `ls -la` with shell", "tools": [EXEC, SHELL]}).json()
    assert out["output"][0]["name"] == "shell"
    assert json.loads(out["output"][0]["arguments"]) == {"command": ["bash", "-lc", "ls -la"]}


def test_apply_patch_custom_tool_gets_a_valid_patch(upstream):
    body = {"model": "gpt-5", "input": "Create notes.txt using apply_patch", "tools": [EXEC, APPLY_PATCH]}
    out = post(upstream, body).json()
    (call,) = out["output"]
    assert call["type"] == "custom_tool_call" and call["name"] == "apply_patch" and call["id"].startswith("ctc_")
    assert call["input"] == (
        "*** Begin Patch\n*** Add File: notes.txt\n+Echo: Create notes.txt using apply_patch\n*** End Patch\n"
    )
    assert out["tools"][1]["format"]["syntax"] == "lark"


def test_parallel_calls_and_tool_scenario(upstream):
    body = {"model": "gpt-5", "input": "weather, in parallel", "tools": [WEATHER, EXEC]}
    assert [o["name"] for o in post(upstream, body).json()["output"]] == ["get_weather", "exec_command"]
    body["parallel_tool_calls"] = False
    assert len(post(upstream, body).json()["output"]) == 1
    out = post(upstream, {"model": "fake-tool", "input": "look it up"}).json()
    assert out["output"][0]["name"] == "fake_lookup"


def test_max_output_tokens_makes_it_incomplete(upstream):
    out = post(upstream, {"model": "fake-long:40", "input": "go on", "max_output_tokens": 16}).json()
    assert out["status"] == "incomplete" and out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["output"][0]["status"] == "incomplete" and out["usage"]["output_tokens"] == 16


def test_cached_tokens(upstream):
    body = {"model": "gpt-5", "input": "a short prompt, cached by key", "prompt_cache_key": "k-cache-1"}
    assert post(upstream, body).json()["usage"]["input_tokens_details"]["cached_tokens"] == 0
    again = post(upstream, body).json()["usage"]
    assert again["input_tokens_details"]["cached_tokens"] == again["input_tokens"]
    long = {"model": "gpt-5", "input": "word " * 1200 + "unique-long-1"}
    assert post(upstream, long).json()["usage"]["input_tokens_details"]["cached_tokens"] == 0
    cached = post(upstream, long).json()["usage"]["input_tokens_details"]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0
    short = {"model": "gpt-5", "input": "short and repeated"}
    post(upstream, short)
    assert post(upstream, short).json()["usage"]["input_tokens_details"]["cached_tokens"] == 0


def test_status_and_failed_scenarios_not_streamed(upstream):
    r = post(upstream, {"model": "gpt-5", "input": "hi"}, **{"x-fake-scenario": "status-429"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    r = post(upstream, {"model": "gpt-5", "input": "hi [[scenario:failed:context_length_exceeded]]"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


# --------------------------------------------------------------------------- streams


def check_stream(evs):
    """The framing every stream keeps: event name = type, sequence numbers 0.., ids where OpenAI puts them."""
    for i, (name, data) in enumerate(evs):
        assert name == data["type"]
        assert data["sequence_number"] == i
        kind = name.split(".", 1)[1]
        if kind.startswith(("output_text", "content_part", "refusal")):
            assert {"item_id", "output_index", "content_index"} <= set(data)
        if kind.startswith("reasoning_summary"):
            assert {"item_id", "output_index", "summary_index"} <= set(data)
        if kind.startswith(("function_call_arguments", "custom_tool_call_input")):
            assert {"item_id", "output_index"} <= set(data)
        if kind.startswith("output_item"):
            assert {"item", "output_index"} <= set(data)


def test_stream_of_text_with_reasoning(upstream):
    body = {
        "model": "gpt-5",
        "input": "Stream a reply",
        "stream": True,
        "reasoning": {"effort": "low", "summary": "detailed"},
        "include": ["reasoning.encrypted_content"],
    }
    r = post(upstream, body)
    assert r.headers["content-type"].startswith("text/event-stream")
    evs = events(r)
    check_stream(evs)
    names = [n for n, _ in evs]
    head = ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[:3] == head
    assert names[3] == "response.reasoning_summary_part.added"
    i = names.index("response.reasoning_summary_text.done")
    assert names[i + 1 : i + 4] == [
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
    ]
    assert names[i + 4] == "response.content_part.added"
    assert names[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = evs[0][1]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    final = evs[-1][1]["response"]
    assert final["id"] == created["id"] and final["status"] == "completed"
    done_items = [d["item"] for n, d in evs if n == "response.output_item.done"]
    assert done_items == final["output"]
    text = "".join(d["delta"] for n, d in evs if n == "response.output_text.delta")
    assert text == final["output"][1]["content"][0]["text"] == "Echo: Stream a reply"
    summary = "".join(d["delta"] for n, d in evs if n == "response.reasoning_summary_text.delta")
    assert summary == final["output"][0]["summary"][0]["text"]
    assert all("obfuscation" in d for n, d in evs if n.endswith(".delta"))
    assert final["output"][0]["encrypted_content"].startswith("gAAAAA")


def test_stream_of_tool_calls(upstream):
    body = {"model": "gpt-5", "input": "Use apply_patch and exec_command in parallel", "stream": True}
    body["tools"] = [EXEC, APPLY_PATCH]
    body["stream_options"] = {"include_obfuscation": False}
    evs = events(post(upstream, body))
    check_stream(evs)
    final = evs[-1][1]["response"]
    fc, ctc = final["output"]
    assert fc["type"] == "function_call" and ctc["type"] == "custom_tool_call"
    args = "".join(d["delta"] for n, d in evs if n == "response.function_call_arguments.delta")
    assert args == fc["arguments"]
    (done,) = [d for n, d in evs if n == "response.function_call_arguments.done"]
    assert done["arguments"] == fc["arguments"] and done["item_id"] == fc["id"]
    patch = "".join(d["delta"] for n, d in evs if n == "response.custom_tool_call_input.delta")
    assert patch == ctc["input"] and patch.startswith("*** Begin Patch\n")
    added = [d["item"] for n, d in evs if n == "response.output_item.added"]
    assert added[0]["arguments"] == "" and added[0]["status"] == "in_progress"
    assert added[1]["input"] == "" and added[1]["call_id"] == ctc["call_id"]
    assert not any("obfuscation" in d for _, d in evs)


def test_stream_incomplete_and_failed(upstream):
    evs = events(post(upstream, {"model": "fake-long:30", "input": "x", "stream": True, "max_output_tokens": 16}))
    check_stream(evs)
    assert evs[-1][0] == "response.incomplete"
    assert evs[-1][1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    body = {"model": "gpt-5", "input": "hi", "stream": True}
    evs = events(post(upstream, body, **{"x-fake-scenario": "failed:rate_limit_exceeded"}))
    check_stream(evs)
    assert [n for n, _ in evs] == ["response.created", "response.in_progress", "response.failed"]
    error = evs[-1][1]["response"]["error"]
    assert error["code"] == "rate_limit_exceeded" and "try again in 1.5s" in error["message"]
    evs = events(post(upstream, body, **{"x-fake-scenario": "error-event:3"}))
    check_stream(evs)
    assert len(evs) == 4 and evs[-1][0] == "response.failed"
    assert evs[-1][1]["response"]["error"]["code"] == "server_error"


def test_stream_refusal(upstream):
    evs = events(post(upstream, {"model": "fake-refusal", "input": "hi", "stream": True}))
    check_stream(evs)
    names = [n for n, _ in evs]
    assert "response.refusal.delta" in names and "response.refusal.done" in names
    assert evs[-1][1]["response"]["output"][0]["content"][0]["type"] == "refusal"


def test_echo_request(upstream):
    body = {"model": "gpt-5", "input": "hi", "metadata": {"marker": "m-echo"}}
    out = post(upstream, body, **{"x-fake-scenario": "echo-request"}).json()
    assert orjson.loads(out["output"][0]["content"][0]["text"]) == body


# --------------------------------------------------------------------------- the official SDK, stored responses


def test_official_sdk_create_stream_retrieve_delete(client):
    first = client.responses.create(model="gpt-5", input="Remember the word kiwi", instructions="Be kind.")
    assert first.output_text == "Echo: Remember the word kiwi"
    second = client.responses.create(
        model="gpt-5", input="Weather in Rome?", tools=[WEATHER], previous_response_id=first.id
    )
    call = second.output[0]
    assert call.type == "function_call"
    with client.responses.stream(
        model="gpt-5",
        previous_response_id=second.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}],
        tools=[WEATHER],
    ) as stream:
        kinds = [ev.type for ev in stream]
        third = stream.get_final_response()
    assert third.output_text == "Tool result: rainy" and kinds[-1] == "response.completed"
    assert third.previous_response_id == second.id
    assert client.responses.retrieve(first.id).output_text == first.output_text
    items = client.responses.input_items.list(third.id)
    assert [i.type for i in items.data] == ["function_call_output"]
    items = client.responses.input_items.list(first.id, order="asc")
    assert items.data[0].type == "message" and items.data[0].content[0].text == "Remember the word kiwi"
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-5", input="hi", previous_response_id=first.id)
    assert exc.value.code == "previous_response_not_found"


def test_previous_response_supplies_the_calls_for_tool_outputs(upstream):
    first = post(upstream, {"model": "gpt-5", "input": "patch it with apply_patch", "tools": [APPLY_PATCH]}).json()
    call = first["output"][0]
    body = {
        "model": "gpt-5",
        "previous_response_id": first["id"],
        "input": [{"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "applied"}],
    }
    assert post(upstream, body).json()["output"][0]["content"][0]["text"] == "Tool result: applied"
    unknown = {"model": "gpt-5", "input": [{"type": "item_reference", "id": "msg_nothing"}]}
    assert bad(upstream, unknown, status=404)["param"] == "input"
