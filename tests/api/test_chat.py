"""Chat completions through the official OpenAI SDK, against the live server."""

from __future__ import annotations

import json

import pytest


def test_docs_example_non_stream(openai_client):
    response = openai_client.chat.completions.create(
        model="gpt-5.2",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is machine learning?"},
        ],
        temperature=0.7,
        max_tokens=512,
    )
    assert response.object == "chat.completion"
    assert response.model == "gpt-5.2"
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].message.content == "Echo: What is machine learning?"
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_docs_example_stream(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "Tell me a story"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: Tell me a story"
    assert all(c.model == "gpt-5.2" and c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks), "usage only when stream_options.include_usage asks for it"


def test_stream_include_usage_ends_with_a_usage_chunk(openai_client):
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-5.2",
            messages=[{"role": "user", "content": "count me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens


def test_stream_is_sse_ending_with_done(api):
    response = api(
        "POST",
        "/api/v1/chat/completions",
        stream=True,
        json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.content.decode()
    events = [block for block in raw.split("\n\n") if block]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] == "stop"


def test_local_model_answers_chat_and_stream(openai_client):
    whole = openai_client.chat.completions.create(
        model="lumyx-local", messages=[{"role": "user", "content": "Hello local"}]
    )
    assert "Hello local" in whole.choices[0].message.content
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in openai_client.chat.completions.create(
            model="lumyx-local", messages=[{"role": "user", "content": "Hello local"}], stream=True
        )
        if c.choices
    )
    assert streamed == whole.choices[0].message.content


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


@pytest.mark.parametrize("model", ["gpt-5.2", "lumyx-local"])
def test_tool_call_and_multi_turn_result(openai_client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = openai_client.chat.completions.create(model=model, messages=messages, tools=[WEATHER], max_tokens=512)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather" and call.id
    assert set(json.loads(call.function.arguments)) == {"city"}
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 degrees and sunny"},
    ]
    second = openai_client.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert "22 degrees and sunny" in second.choices[0].message.content


def test_streamed_tool_call_reassembles(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=True,
    )
    name, arguments, finish = "", "", None
    for chunk in stream:
        for delta_call in chunk.choices[0].delta.tool_calls or () if chunk.choices else ():
            name += delta_call.function.name or ""
            arguments += delta_call.function.arguments or ""
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert name == "get_weather" and finish == "tool_calls"
    assert set(json.loads(arguments)) == {"city"}


def test_parameters_reach_the_upstream_untouched(openai_client, upstream):
    openai_client.chat.completions.create(
        model="gpt-5.2",
        messages=[{"role": "user", "content": "params"}],
        temperature=0.3,
        top_p=0.9,
        seed=42,
        stop=["\n\n", "END"],
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        max_tokens=100,
        user="user-123",
        response_format={"type": "json_object"},
        tools=[WEATHER],
        tool_choice="none",
        extra_body={"logit_bias": {"50256": -100}, "metadata": {"trace": "abc"}},
    )
    sent = upstream.last_request("/v1/chat/completions")
    body = sent["body"]
    assert body["model"] == "upstream-gpt", "the catalog's upstream model name, not ours"
    for name, value in {
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 42,
        "stop": ["\n\n", "END"],
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "max_tokens": 100,
        "user": "user-123",
        "response_format": {"type": "json_object"},
        "tool_choice": "none",
        "logit_bias": {"50256": -100},
        "metadata": {"trace": "abc"},
    }.items():
        assert body[name] == value, name
    assert body["tools"] == [WEATHER]
    assert sent["headers"]["authorization"] == "Bearer upstream-test-key"


def test_json_mode(openai_client):
    response = openai_client.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "give json"}], response_format={"type": "json_object"}
    )
    assert json.loads(response.choices[0].message.content) == {"echo": "give json"}


def test_stop_and_max_tokens(openai_client):
    stopped = openai_client.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "alpha beta gamma"}], stop=" beta"
    )
    assert stopped.choices[0].message.content == "Echo: alpha"
    cut = openai_client.chat.completions.create(
        model="gpt-5.2", messages=[{"role": "user", "content": "alpha beta gamma"}], max_tokens=2
    )
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.content == "Echo: alpha"


def test_vision_content_parts(openai_client, upstream):
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    response = openai_client.chat.completions.create(
        model="gpt-5.2",
        max_tokens=256,
        messages=[{"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, image]}],
    )
    assert response.choices[0].message.content == "Echo: What is in this image?"
    assert upstream.last_request("/v1/chat/completions")["body"]["messages"][0]["content"][1] == image


def test_images_are_refused_by_models_without_vision(api):
    response = api(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "plain-chat",
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}],
                }
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"


def test_max_tokens_is_capped_at_the_models_limit(openai_client, upstream):
    openai_client.chat.completions.create(
        model="plain-chat", messages=[{"role": "user", "content": "x"}], max_tokens=50_000
    )
    assert upstream.last_request("/v1/chat/completions")["body"]["max_tokens"] == 1000


class TestReasoning:
    def test_reasoning_object_becomes_reasoning_effort_upstream(self, openai_client, upstream):
        response = openai_client.chat.completions.create(
            model="gpt-5.2",
            messages=[{"role": "user", "content": "Solve: x^2 + 5x + 6 = 0"}],
            max_tokens=1024,
            extra_body={"reasoning": {"effort": "high"}},
        )
        body = upstream.last_request("/v1/chat/completions")["body"]
        assert body["reasoning_effort"] == "high" and "reasoning" not in body
        message = response.choices[0].message
        assert message.model_extra["reasoning_content"].startswith("The user wrote")
        assert message.content.startswith("Echo:")
        assert response.usage.completion_tokens_details.reasoning_tokens > 0

    def test_budget_maps_to_an_effort(self, openai_client, upstream):
        openai_client.chat.completions.create(
            model="gpt-5.2",
            messages=[{"role": "user", "content": "What is 15 * 23?"}],
            max_tokens=256,
            extra_body={"reasoning": {"max_tokens": 512}},
        )
        assert upstream.last_request("/v1/chat/completions")["body"]["reasoning_effort"] == "high"

    def test_reasoning_effort_shorthand(self, openai_client, upstream):
        openai_client.chat.completions.create(
            model="gpt-5.2", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low"
        )
        assert upstream.last_request("/v1/chat/completions")["body"]["reasoning_effort"] == "low"

    def test_exclude_hides_reasoning_text_in_stream_and_body(self, openai_client):
        kwargs = {
            "model": "gpt-5.2",
            "messages": [{"role": "user", "content": "think"}],
            "extra_body": {"reasoning": {"effort": "medium", "exclude": True}},
        }
        response = openai_client.chat.completions.create(**kwargs)
        assert "reasoning_content" not in (response.choices[0].message.model_extra or {})
        assert response.usage.completion_tokens_details.reasoning_tokens > 0, "still used and billed"
        for chunk in openai_client.chat.completions.create(stream=True, **kwargs):
            for choice in chunk.choices:
                assert "reasoning_content" not in (choice.delta.model_extra or {})

    def test_streamed_reasoning_arrives_before_the_answer(self, openai_client):
        kinds = []
        for chunk in openai_client.chat.completions.create(
            model="gpt-5.2",
            messages=[{"role": "user", "content": "think"}],
            stream=True,
            extra_body={"reasoning": {"effort": "low"}},
        ):
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta and (delta.model_extra or {}).get("reasoning_content"):
                kinds.append("reasoning")
            elif delta and delta.content:
                kinds.append("content")
        assert kinds and kinds[0] == "reasoning" and kinds[-1] == "content"
        assert kinds == sorted(kinds, key=lambda k: k == "content")

    def test_models_without_reasoning_ignore_the_parameters(self, openai_client, upstream):
        response = openai_client.chat.completions.create(
            model="plain-chat",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"reasoning": {"effort": "high"}},
            reasoning_effort="high",
        )
        body = upstream.last_request("/v1/chat/completions")["body"]
        assert "reasoning" not in body and "reasoning_effort" not in body
        assert response.choices[0].message.content == "Echo: hi"
