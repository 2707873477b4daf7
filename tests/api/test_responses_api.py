"""``POST /v1/responses`` driven by the official openai SDK on a model of each
upstream kind — a Chat Completions upstream (``gpt-5.2``), an Anthropic one
(``lumyx-plus_v1``) and a Responses one (``responses-pro``): whole answers and
streams, function and freeform tool turns, ``previous_response_id``,
reasoning round-tripped without storage, and the errors a client sees."""

from __future__ import annotations

import json

import openai
import pytest

MODELS = {"openai": "gpt-5.2", "anthropic": "lumyx-plus_v1", "responses": "responses-pro"}
UPSTREAM_PATH = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}
KINDS = pytest.mark.parametrize("kind", list(MODELS))
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to the workspace. This is a FREEFORM tool.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch" /(.|\\n)*/'},
}


def items(response) -> list[dict]:
    """The response's output items as a client sends them back."""
    return [item.model_dump(exclude_none=True) for item in response.output]


def of_type(response, kind: str) -> list:
    return [item for item in response.output if item.type == kind]


@KINDS
def test_a_whole_response(openai_client, kind):
    response = openai_client.responses.create(
        model=MODELS[kind], instructions="You answer briefly.", input="What is machine learning?"
    )
    assert response.id.startswith("resp_") and response.object == "response"
    assert (response.status, response.model) == ("completed", MODELS[kind])
    assert response.output_text == "Echo: What is machine learning?"
    assert response.instructions == "You answer briefly."
    usage = response.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@KINDS
def test_a_stream_read_with_the_sdk_helper(openai_client, kind):
    with openai_client.responses.stream(model=MODELS[kind], input="Tell me a story") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert final.output_text == "Echo: Tell me a story"
    assert final.id.startswith("resp_") and final.model == MODELS[kind]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert [item.id for item in done] == [item.id for item in final.output]
    assert final.usage.total_tokens > 0


@KINDS
def test_a_function_tool_turn_by_previous_response_id(openai_client, kind):
    first = openai_client.responses.create(
        model=MODELS[kind], input="What is the weather in Paris? Use get_weather.", tools=[WEATHER]
    )
    (call,) = of_type(first, "function_call")
    assert call.name == "get_weather" and isinstance(json.loads(call.arguments)["city"], str)
    second = openai_client.responses.create(
        model=MODELS[kind],
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"}],
        tools=[WEATHER],
    )
    assert second.previous_response_id == first.id
    assert "Sunny, 21 C" in second.output_text


@KINDS
def test_a_freeform_tool_turn_without_storage(openai_client, upstream, kind):
    question = {"role": "user", "content": "Create notes.txt with apply_patch"}
    first = openai_client.responses.create(model=MODELS[kind], input=[question], tools=[APPLY_PATCH], store=False)
    (call,) = of_type(first, "custom_tool_call")
    assert call.name == "apply_patch"
    assert call.input.startswith("*** Begin Patch\n*** Add File: notes.txt\n")
    result = {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Success. Updated A notes.txt"}
    second = openai_client.responses.create(
        model=MODELS[kind], input=[question, *items(first), result], tools=[APPLY_PATCH], store=False
    )
    assert "Success. Updated A notes.txt" in second.output_text
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(first.id)


@KINDS
def test_reasoning_comes_back_sealed_and_goes_upstream_again(openai_client, upstream, kind):
    asked = {
        "model": MODELS[kind],
        "tools": [WEATHER],
        "reasoning": {"effort": "low", "summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    question = {"role": "user", "content": "What is the weather in Paris? Use get_weather."}
    first = openai_client.responses.create(input=[question], **asked)
    (reasoning,) = of_type(first, "reasoning")
    assert reasoning.encrypted_content
    (call,) = of_type(first, "function_call")
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}
    second = openai_client.responses.create(input=[question, *items(first), result], **asked)
    assert "Sunny" in second.output_text
    sent = upstream.last_request(UPSTREAM_PATH[kind])["body"]
    if kind == "anthropic":  # the signed thinking block leads the assistant turn that called the tool
        turn = next(m for m in sent["messages"] if m["role"] == "assistant")
        assert turn["content"][0]["type"] == "thinking" and turn["content"][0]["signature"]
        assert turn["content"][-1]["type"] == "tool_use"
    elif kind == "responses":  # the upstream's own encrypted reasoning, as it issued it
        replayed = next(item for item in sent["input"] if item.get("type") == "reasoning")
        assert replayed["encrypted_content"] == reasoning.encrypted_content
    tampered = dict(items(first)[0], encrypted_content=reasoning.encrypted_content[:-4] + "AAAA")
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.responses.create(input=[question, tampered, *items(first)[1:], result], **asked)
    if kind != "responses":
        assert refused.value.type == "invalid_encrypted_content"


@KINDS
def test_encrypted_reasoning_only_when_included(openai_client, kind):
    response = openai_client.responses.create(
        model=MODELS[kind], input="Think about it", reasoning={"effort": "low", "summary": "auto"}
    )
    (reasoning,) = of_type(response, "reasoning")
    assert reasoning.encrypted_content is None
    assert openai_client.responses.retrieve(response.id).output[0].encrypted_content is None
    kept = openai_client.responses.retrieve(response.id, include=["reasoning.encrypted_content"])
    assert kept.output[0].encrypted_content


@KINDS
def test_reasoning_items_sent_back_by_id_alone(openai_client, kind):
    """The Agents SDK's way: stored responses, reasoning items returned as id and summary only."""
    question = {"role": "user", "content": "What is the weather in Paris? Use get_weather."}
    first = openai_client.responses.create(
        model=MODELS[kind], input=[question], tools=[WEATHER], reasoning={"effort": "low", "summary": "auto"}
    )
    (reasoning,) = of_type(first, "reasoning")
    (call,) = of_type(first, "function_call")
    by_id = {"type": "reasoning", "id": reasoning.id, "summary": [s.model_dump() for s in reasoning.summary]}
    second = openai_client.responses.create(
        model=MODELS[kind],
        input=[question, by_id, call.model_dump(exclude_none=True), _output(call.call_id, "Rainy")],
        tools=[WEATHER],
        reasoning={"effort": "low", "summary": "auto"},
    )
    assert "Rainy" in second.output_text
    unknown = dict(by_id, id="rs_" + "0" * 32)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.create(model=MODELS[kind], input=[question, unknown], tools=[WEATHER])


def _output(call_id: str, text: str) -> dict:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


@KINDS
def test_stored_response_retrieved_listed_and_deleted(openai_client, kind):
    response = openai_client.responses.create(model=MODELS[kind], input="Remember me", metadata={"run": "7"})
    again = openai_client.responses.retrieve(response.id)
    assert (again.id, again.output_text, again.metadata) == (response.id, "Echo: Remember me", {"run": "7"})
    listed = openai_client.responses.input_items.list(response.id)
    assert [item.content[0].text for item in listed.data] == ["Remember me"]
    openai_client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(response.id)


def test_another_accounts_response_is_not_found(openai_client, live, other_key):
    response = openai_client.responses.create(model="gpt-5.2", input="Mine")
    other = openai.OpenAI(base_url=live.url + "/v1", api_key=other_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError) as refused:
        other.responses.create(model="gpt-5.2", input="Go on", previous_response_id=response.id)
    assert refused.value.type == "previous_response_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-5.2"}, "input"),
        ({"model": "gpt-5.2", "input": 7}, "input"),
        ({"model": "gpt-5.2", "input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "gpt-5.2", "input": "x", "temperature": 3}, "temperature"),
        ({"model": "gpt-5.2", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format"),
        ({"model": "gpt-5.2", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
    ],
)
def test_bad_requests_name_the_parameter(api, body, param):
    answer = api("POST", "/v1/responses", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_an_unknown_model_is_404_in_openai_shape(openai_client):
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.responses.create(model="no-such-model", input="hi")
    assert missing.value.type == "model_not_found"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_stream_that_breaks_ends_with_response_failed(openai_client, kind):
    stream = openai_client.responses.create(model=MODELS[kind], input="[[scenario:long:40,drop:6]] go", stream=True)
    events = list(stream)
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "server_error"
    assert [e.sequence_number for e in events] == list(range(len(events)))
