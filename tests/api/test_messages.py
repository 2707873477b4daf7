"""The Anthropic Messages API through the official Anthropic SDK, on a model
behind an Anthropic-format upstream (pass-through), one behind an
OpenAI-format upstream (translated) and the built-in local model."""

from __future__ import annotations

import json

import anthropic
import pytest
import requests

NATIVE, TRANSLATED, LOCAL = "lumyx-plus_v1", "gpt-5.2", "lumyx-local"
WEATHER = {
    "name": "get_weather",
    "description": "Get weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture
def client(live, key):
    # Exactly as the docs' migration snippet: base URL …/api/v1, the key as api_key.
    return anthropic.Anthropic(api_key=key, base_url=live.url + "/api/v1", max_retries=0, timeout=30)


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED, LOCAL])
def test_docs_example(client, model):
    message = client.messages.create(
        model=model,
        max_tokens=1024,
        system="You are a helpful assistant.",
        messages=[{"role": "user", "content": "What is machine learning?"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == model
    assert "What is machine learning?" in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED, LOCAL])
def test_stream_accumulates_to_the_same_message(client, model):
    with client.messages.stream(
        model=model, max_tokens=256, messages=[{"role": "user", "content": "Tell me a story"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "Tell me a story" in text
    assert final.content[-1].text == text
    assert final.stop_reason == "end_turn" and final.model == model
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
def test_stream_event_sequence_is_exact(live, key, model):
    response = requests.post(
        live.url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": model,
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "one two three"}],
        },
        timeout=30,
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        payload = json.loads(data_line[len("data: ") :])
        assert name_line == "event: " + payload["type"]
        events.append(payload)
    kinds = [e["type"] for e in events if e["type"] != "ping"]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert events[0]["message"]["model"] == model and events[0]["message"]["usage"]["input_tokens"] > 0
    starts = [e["index"] for e in events if e["type"] == "content_block_start"]
    stops = [e["index"] for e in events if e["type"] == "content_block_stop"]
    assert starts == stops == list(range(len(starts)))
    delta = next(e for e in events if e["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED, LOCAL])
def test_tool_use_then_tool_result(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.messages.create(model=model, max_tokens=512, tools=[WEATHER], messages=messages)
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "get_weather" and set(use.input) == {"city"} and use.id
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "22 degrees and sunny"}],
        },
    ]
    second = client.messages.create(model=model, max_tokens=512, tools=[WEATHER], messages=messages)
    assert second.stop_reason == "end_turn"
    assert "22 degrees and sunny" in second.content[-1].text


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
def test_streamed_tool_use_arrives_as_input_json_delta(client, model):
    with client.messages.stream(
        model=model,
        max_tokens=512,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "Weather in Rome?"}],
    ) as stream:
        kinds = {event.delta.type for event in stream if event.type == "content_block_delta"}
        final = stream.get_final_message()
    assert "input_json_delta" in kinds
    use = next(b for b in final.content if b.type == "tool_use")
    assert use.name == "get_weather" and set(use.input) == {"city"}
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
def test_images_base64_and_url(client, model, upstream):
    message = client.messages.create(
        model=model,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {"type": "text", "text": "What is in these images?"},
                ],
            }
        ],
    )
    assert "What is in these images?" in message.content[0].text
    sent = upstream.requests(limit=1)[-1]["body"]
    if model == TRANSLATED:
        parts = sent["messages"][0]["content"]
        assert parts[0] == {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}}
        assert parts[1]["image_url"]["url"] == "https://example.com/cat.jpg"
    else:
        assert sent["messages"][0]["content"][1]["source"]["url"] == "https://example.com/cat.jpg"


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
def test_thinking(client, model, upstream):
    message = client.messages.create(
        model=model,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "Solve: x^2 + 5x + 6 = 0"}],
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking.startswith("The user wrote")
    sent = upstream.requests(limit=1)[-1]["body"]
    if model == TRANSLATED:
        assert sent["reasoning_effort"] == "medium"  # 2048 of 4096 is a medium share
    else:
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert message.content[0].signature, "signatures survive the pass-through"


def test_thinking_signature_round_trips_in_pass_through(client, upstream):
    first = client.messages.create(
        model=NATIVE,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
    )
    blocks = [b.model_dump(exclude_none=True) for b in first.content]
    use = next(b for b in first.content if b.type == "tool_use")
    client.messages.create(
        model=NATIVE,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": blocks},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "cold"}]},
        ],
    )
    sent = upstream.requests(path="/v1/messages", limit=1)[-1]["body"]
    assert sent["messages"][1]["content"] == blocks


def test_pass_through_keeps_everything_and_forwards_headers(live, key, upstream):
    body = {
        "model": NATIVE,
        "max_tokens": 50,
        "top_k": 5,
        "top_p": 0.9,
        "temperature": 0.2,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
        "service_tier": "auto",
    }
    response = requests.post(
        live.url + "/api/v1/messages",
        json=body,
        timeout=30,
        headers={
            "Authorization": f"Bearer {key}",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "prompt-caching-2024-07-31",
        },
    )
    assert response.status_code == 200, response.text
    sent = upstream.last_request("/v1/messages")
    assert sent["body"] == {**body, "model": "claude-sonnet-4-5-20250929"}
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["headers"]["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert sent["headers"]["x-api-key"] == "upstream-test-key"
    assert "authorization" not in sent["headers"]


def test_translated_request_parameters(client, upstream):
    # This SDK version no longer names the sampling parameters; the docs still offer them.
    client.messages.create(
        model=TRANSLATED,
        max_tokens=300,
        extra_body={"temperature": 0.5, "top_p": 0.8, "top_k": 3},
        stop_sequences=["STOP"],
        metadata={"user_id": "u-9"},
        system=[{"type": "text", "text": "Sys"}],
        tools=[WEATHER],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "hi"}],
    )
    sent = upstream.last_request("/v1/chat/completions")["body"]
    assert sent["model"] == "upstream-gpt"
    assert sent["messages"][0] == {"role": "system", "content": "Sys"}
    assert sent["max_completion_tokens"] == 300 and sent["temperature"] == 0.5 and sent["top_p"] == 0.8
    assert sent["stop"] == ["STOP"] and sent["user"] == "u-9"
    assert sent["tools"][0]["function"]["name"] == "get_weather" and sent["parallel_tool_calls"] is False
    assert "top_k" not in sent, "OpenAI has no top_k; the documented rule drops it"


class TestOpenAIClientOnAnthropicUpstream:
    """An OpenAI-format request to a model on an Anthropic-kind upstream."""

    def test_chat_and_usage(self, openai_client, upstream):
        response = openai_client.chat.completions.create(
            model=NATIVE,
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}],
            max_tokens=100,
            stop=["END"],
            user="u-2",
        )
        assert response.model == NATIVE
        assert response.choices[0].message.content == "Echo: Hello!"
        assert response.choices[0].finish_reason == "stop"
        assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens > 0
        sent = upstream.last_request("/v1/messages")["body"]
        assert sent["system"] == "Be brief." and sent["max_tokens"] == 100
        assert sent["stop_sequences"] == ["END"] and sent["metadata"] == {"user_id": "u-2"}

    def test_stream_with_usage(self, openai_client):
        chunks = list(
            openai_client.chat.completions.create(
                model=NATIVE,
                messages=[{"role": "user", "content": "Stream it"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Echo: Stream it"
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0

    def test_parallel_tool_calls(self, openai_client):
        tools = [
            {"type": "function", "function": {"name": n, "parameters": WEATHER["input_schema"]}}
            for n in ("get_weather", "get_time")
        ]
        response = openai_client.chat.completions.create(
            model=NATIVE, tools=tools, messages=[{"role": "user", "content": "Do both in parallel for Paris"}]
        )
        calls = response.choices[0].message.tool_calls
        assert response.choices[0].finish_reason == "tool_calls"
        assert [c.function.name for c in calls] == ["get_weather", "get_time"]
        assert all(json.loads(c.function.arguments).keys() == {"city"} for c in calls)

    def test_reasoning_becomes_thinking(self, openai_client, upstream):
        response = openai_client.chat.completions.create(
            model=NATIVE,
            messages=[{"role": "user", "content": "Solve it"}],
            max_tokens=1024,
            extra_body={"reasoning": {"effort": "high"}},
        )
        thinking = upstream.last_request("/v1/messages")["body"]["thinking"]
        assert thinking["type"] == "enabled" and thinking["budget_tokens"] >= 1024
        assert response.choices[0].message.model_extra["reasoning_content"].startswith("The user wrote")
        excluded = openai_client.chat.completions.create(
            model=NATIVE,
            messages=[{"role": "user", "content": "Solve it"}],
            max_tokens=1024,
            extra_body={"reasoning": {"effort": "high", "exclude": True}},
        )
        assert "reasoning_content" not in (excluded.choices[0].message.model_extra or {})

    def test_max_tokens_stop_reason(self, openai_client):
        response = openai_client.chat.completions.create(
            model=NATIVE, messages=[{"role": "user", "content": "alpha beta gamma delta"}], max_tokens=2
        )
        assert response.choices[0].finish_reason == "length"

    def test_unsupported_parameter_is_a_clear_400(self, api):
        response = api(
            "POST",
            "/v1/chat/completions",
            json={"model": NATIVE, "n": 2, "messages": [{"role": "user", "content": "x"}]},
        )
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "n"


def test_count_tokens(client, upstream):
    native = client.messages.count_tokens(
        model=NATIVE, messages=[{"role": "user", "content": "Count these words please"}]
    )
    assert native.input_tokens > 0
    assert upstream.last_request("/v1/messages/count_tokens")["body"]["model"] == "claude-sonnet-4-5-20250929"
    short = client.messages.count_tokens(model=TRANSLATED, messages=[{"role": "user", "content": "hi"}])
    long = client.messages.count_tokens(
        model=TRANSLATED, system="You are terse.", tools=[WEATHER], messages=[{"role": "user", "content": "hi " * 50}]
    )
    assert 0 < short.input_tokens < long.input_tokens


def test_claude_code_base_url_reaches_messages(live, key):
    # Claude Code's ANTHROPIC_BASE_URL is …/api/ (no v1): it posts to /api/v1/messages.
    response = requests.post(
        live.url + "/api/v1/messages",
        timeout=30,
        headers={"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"},
        json={"model": NATIVE, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "Echo: hi"


class TestAnthropicErrors:
    def _post(self, live, key, body, headers=None):
        return requests.post(
            live.url + "/v1/messages", json=body, timeout=30, headers={"x-api-key": key, **(headers or {})}
        )

    def _error(self, response, status, type_):
        assert response.status_code == status, response.text
        body = response.json()
        assert body["type"] == "error" and body["error"]["type"] == type_ and body["error"]["message"]
        return body["error"]["message"]

    @pytest.mark.parametrize(
        "patch, needle",
        [
            ({"max_tokens": None}, "max_tokens"),
            ({"messages": [{"role": "tool", "content": "x"}]}, "Input should be 'user', 'assistant' or 'system'"),
            ({"messages": [{"role": "system", "content": "x"}]}, "besides system messages"),
            ({"messages": []}, "messages"),
            ({"temperature": 1.5}, "temperature"),
            ({"thinking": {"type": "enabled", "budget_tokens": 500}}, "budget_tokens"),
            ({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 1024}, "greater"),
            ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
            ({"tools": [{"name": "x"}]}, "input_schema"),
            ({"system": 5}, "system"),
            (
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "x"}}
                            ],
                        }
                    ]
                },
                "media_type",
            ),
        ],
    )
    def test_bad_requests(self, live, key, patch, needle):
        body = {"model": NATIVE, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **patch}
        body = {k: v for k, v in body.items() if v is not None}
        assert needle in self._error(self._post(live, key, body), 400, "invalid_request_error")

    def test_auth_and_model_errors(self, live, key):
        self._error(self._post(live, "lx-wrong", {"model": NATIVE}), 401, "authentication_error")
        self._error(
            self._post(live, key, {"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
            404,
            "not_found_error",
        )
        self._error(
            self._post(
                live, key, {"model": "nokey-chat", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            ),
            503,
            "overloaded_error",
        )

    def test_sdk_error_classes(self, client):
        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model=NATIVE, max_tokens=0, messages=[{"role": "user", "content": "x"}])
        assert caught.value.body["error"]["type"] == "invalid_request_error"

    @pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
    def test_stream_broken_midway_ends_with_an_error_event(self, live, key, model):
        response = self._post(
            live,
            key,
            {
                "model": model,
                "max_tokens": 100,
                "stream": True,
                "messages": [{"role": "user", "content": "one two three four five six seven [[scenario:drop:4]]"}],
            },
        )
        assert response.status_code == 200
        last = response.text.strip().split("\n\n")[-1]
        assert last.startswith("event: error\n")
        assert json.loads(last.split("\n")[1][6:])["error"]["type"] == "api_error"


@pytest.mark.parametrize("model", [NATIVE, TRANSLATED])
def test_system_turns_between_messages_join_the_system_prompt(live, key, upstream, model):
    # What Claude Code sends for models it does not know by name.
    response = requests.post(
        live.url + "/api/v1/messages?beta=true",
        timeout=30,
        headers={"Authorization": f"Bearer {key}", "anthropic-version": "2023-06-01"},
        json={
            "model": model,
            "max_tokens": 100,
            "system": [{"type": "text", "text": "You are Claude Code."}],
            "messages": [
                {"role": "user", "content": "Say hello"},
                {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["content"][-1]["text"] == "Echo: Say hello"
    sent = upstream.requests(limit=1)[-1]["body"]
    if model == NATIVE:
        assert sent["system"] == [
            {"type": "text", "text": "You are Claude Code."},
            {"type": "text", "text": "# Environment"},
        ]
        assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    else:
        assert sent["messages"][0] == {"role": "system", "content": "You are Claude Code.\n\n# Environment"}
        assert sent["messages"][1] == {"role": "user", "content": "Say hello"}
