"""A model whose only route is an ``openai-responses`` provider (the stand-in's
strict Responses API), served to the official openai and anthropic SDKs:
whole answers and streams, tool call round trips, reasoning, fallback when a
Responses route fails before the first byte, failures mid-stream, and what the
Responses API cannot express refused with 400 naming the parameter."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
import requests

MODEL = "responses-pro"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ANTHROPIC_WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": WEATHER["function"]["parameters"],
}


@pytest.fixture
def claude(live, key):
    return anthropic.Anthropic(api_key=key, base_url=live.url + "/api/v1", max_retries=0, timeout=30)


def sent(upstream) -> dict:
    """The body the gateway last posted to the stand-in's /responses."""
    return upstream.last_request("/v1/responses")["body"]


# -- OpenAI chat clients ----------------------------------------------------------


def test_a_chat_completion(openai_client, upstream):
    response = openai_client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is machine learning?"},
        ],
        temperature=0.7,
        max_tokens=512,
        user="user-123",
    )
    assert (response.object, response.model) == ("chat.completion", MODEL)
    assert response.id.startswith("chatcmpl-")
    assert response.choices[0].message.content == "Echo: What is machine learning?"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens > 0
    body = sent(upstream)
    assert body["model"] == "upstream-responses" and body["store"] is False
    assert body["instructions"] == "You are a helpful assistant."
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is machine learning?"}]}
    ]
    assert (body["max_output_tokens"], body["temperature"], body["user"]) == (512, 0.7, "user-123")


def test_a_chat_stream_with_usage(openai_client):
    chunks = list(
        openai_client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Tell me a story"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: Tell me a story"
    assert all(c.model == MODEL and c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_a_chat_stream_without_include_usage_has_no_usage_chunk(api):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
    chunks = [json.loads(e[6:]) for e in response.text.split("\n\n") if e.startswith("data: {")]
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_round_trip(openai_client, upstream, stream):
    messages = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
    if stream:
        with openai_client.chat.completions.stream(model=MODEL, messages=messages, tools=[WEATHER]) as events:
            first = events.get_final_completion()
    else:
        first = openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and "city" in json.loads(call.function.arguments)
    assert sent(upstream)["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "strict": False,
            "description": "Weather for a city.",
            "parameters": WEATHER["function"]["parameters"],
        }
    ]
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"},
    ]
    second = openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == "Tool result: Sunny, 21C"
    assert second.choices[0].finish_reason == "stop"
    items = sent(upstream)["input"]
    assert [item["type"] for item in items] == ["message", "function_call", "function_call_output"]
    assert items[1]["call_id"] == items[2]["call_id"] == call.id


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_comes_back_as_reasoning_content(api, upstream, stream):
    body = {
        "model": MODEL,
        "reasoning_effort": "low",
        "stream": stream,
        "messages": [{"role": "user", "content": "Why is the sky blue?"}],
    }
    response = api("POST", "/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    if stream:
        chunks = [json.loads(e[6:]) for e in response.text.split("\n\n") if e.startswith("data: {")]
        deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
        reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
        content = "".join(d.get("content") or "" for d in deltas)
    else:
        message = response.json()["choices"][0]["message"]
        reasoning, content = message["reasoning_content"], message["content"]
    assert reasoning.startswith("The user wrote:") and content == "Echo: Why is the sky blue?"
    assert sent(upstream)["reasoning"] == {"effort": "low", "summary": "auto"}


def test_json_mode_reaches_the_upstream_as_text_format(openai_client, upstream):
    response = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Ada"}], response_format={"type": "json_object"}
    )
    assert json.loads(response.choices[0].message.content) == {"echo": "Ada"}
    assert sent(upstream)["text"] == {"format": {"type": "json_object"}}


def test_a_length_limited_answer_finishes_with_length(openai_client):
    response = openai_client.chat.completions.create(
        model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "Go on [[scenario:long:60]]"}]
    )
    assert response.choices[0].finish_reason == "length" and response.usage.completion_tokens == 16


# -- Anthropic clients ------------------------------------------------------------


def test_a_message(claude, upstream):
    message = claude.messages.create(
        model=MODEL,
        max_tokens=1024,
        system="You are a helpful assistant.",
        messages=[{"role": "user", "content": "What is machine learning?"}],
    )
    assert (message.type, message.model, message.stop_reason) == ("message", MODEL, "end_turn")
    assert message.content[0].text == "Echo: What is machine learning?"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    body = sent(upstream)
    assert body["instructions"] == "You are a helpful assistant." and body["max_output_tokens"] == 1024


def test_a_message_stream(claude):
    with claude.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Tell me a story"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: Tell me a story" and final.content[-1].text == text
    assert final.stop_reason == "end_turn" and final.model == MODEL and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_use_round_trip(claude, upstream, stream):
    messages = [{"role": "user", "content": "What is the weather in Paris? Use get_weather."}]
    if stream:
        with claude.messages.stream(model=MODEL, max_tokens=256, messages=messages, tools=[ANTHROPIC_WEATHER]) as s:
            first = s.get_final_message()
    else:
        first = claude.messages.create(model=MODEL, max_tokens=256, messages=messages, tools=[ANTHROPIC_WEATHER])
    assert first.stop_reason == "tool_use"
    (use,) = [block for block in first.content if block.type == "tool_use"]
    assert use.name == "get_weather" and "city" in use.input
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21C"}]},
    ]
    second = claude.messages.create(model=MODEL, max_tokens=256, messages=messages, tools=[ANTHROPIC_WEATHER])
    assert second.content[0].text == "Tool result: Sunny, 21C" and second.stop_reason == "end_turn"
    items = sent(upstream)["input"]
    assert items[-2]["type"] == "function_call" and items[-1] == {
        "type": "function_call_output",
        "call_id": use.id,
        "output": "Sunny, 21C",
    }


# -- failures -----------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_failing_responses_routes_give_way_to_the_next(api, upstream, stream):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "responses-fallback", "stream": stream, "messages": [{"role": "user", "content": "there?"}]},
    )
    assert response.status_code == 200, response.text
    if stream:
        chunks = [json.loads(e[6:]) for e in response.text.split("\n\n") if e.startswith("data: {")]
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    else:
        text = response.json()["choices"][0]["message"]["content"]
    assert text == "Echo: there?"
    tried = [r["body"]["model"] for r in upstream.requests("/v1/responses", limit=3)]
    assert tried == ["fake-status-503", "fake-failed:rate_limit_exceeded", "upstream-responses-fallback"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_responses_route_that_fails_is_502_before_any_byte(api, stream):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={"model": "responses-failing", "stream": stream, "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"


def test_a_failure_mid_stream_ends_the_chat_stream_with_an_error(api):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "stream": True,
            "messages": [{"role": "user", "content": "hi [[scenario:error-event:5]]"}],
        },
    )
    assert response.status_code == 200
    events = [e for e in response.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    error = json.loads(events[-2][6:])["error"]
    assert error["code"] == 502 and error["type"] == "upstream_error"
    assert any(json.loads(e[6:]).get("choices") for e in events[:-2])


def test_a_failure_mid_stream_ends_the_message_stream_with_an_error_event(live, key):
    response = requests.post(
        live.url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": MODEL,
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "hi [[scenario:error-event:5]]"}],
        },
        timeout=30,
    )
    assert response.status_code == 200
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-1] == "error" and "message_stop" not in names


@pytest.mark.parametrize(
    "extra, param", [({"n": 2}, "n"), ({"stop": ["END"]}, "stop"), ({"logprobs": True}, "logprobs")]
)
def test_what_the_responses_api_cannot_express_is_400_naming_the_parameter(openai_client, upstream, extra, param):
    before = len(upstream.requests("/v1/responses"))
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_body=extra
        )
    error = refused.value.body
    assert refused.value.status_code == 400 and error["param"] == param and error["type"] == "invalid_request"
    assert len(upstream.requests("/v1/responses")) == before, "never sent upstream"


def test_stop_sequences_from_an_anthropic_client_are_refused(claude):
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude.messages.create(
            model=MODEL, max_tokens=50, stop_sequences=["END"], messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 400 and "stop" in refused.value.message
