import math

import orjson

from lumyx.providers import local


def chat(**body):
    return local.send(None, "chat", {"model": "lumyx-local", **body}, stream=False, client_headers={}).body


def test_reply_mentions_what_was_said_and_counts_tokens():
    result = chat(messages=[{"role": "user", "content": "Hello there"}])
    assert "Hello there" in result["choices"][0]["message"]["content"]
    usage = result["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_tool_call_arguments_follow_the_schema():
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            },
        },
    }
    result = chat(messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[tool])
    call = result["choices"][0]["message"]["tool_calls"][0]
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 1}


def test_max_tokens_and_stop():
    result = chat(messages=[{"role": "user", "content": "one two three four five six"}], max_tokens=3)
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] <= 3
    result = chat(messages=[{"role": "user", "content": "abc"}], stop=["said"])
    assert result["choices"][0]["message"]["content"] == "You "


def test_stream_reassembles_to_the_same_text():
    body = {
        "model": "lumyx-local",
        "messages": [{"role": "user", "content": "stream me"}],
        "stream_options": {"include_usage": True},
    }
    whole = chat(messages=body["messages"])["choices"][0]["message"]["content"]
    events = list(local.send(None, "chat", body, stream=True, client_headers={}).events)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text == whole
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0


def test_embeddings_are_unit_vectors_and_similar_for_similar_text():
    body = {"model": "e", "input": ["the cat sat on the mat", "the cat sat on a mat", "stock prices fell"]}
    vectors = [
        d["embedding"] for d in local.send(None, "embeddings", body, stream=False, client_headers={}).body["data"]
    ]
    assert all(abs(math.sqrt(sum(v * v for v in vec)) - 1) < 1e-9 for vec in vectors)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2])
