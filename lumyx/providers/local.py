"""Kind ``local``: the built-in offline provider.

It needs no network and no key and speaks the OpenAI format in-process, so a
fresh install answers chat (streaming included), tool calls, JSON mode,
reasoning, legacy completions and embeddings. Its answers are deterministic:
it replies about what it was sent, calls the first (or the chosen) tool with
arguments drawn from the tool's JSON Schema, and embeds text by feature
hashing of its words (similar texts get similar vectors).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import time
import uuid
from collections.abc import Iterator

import orjson

from lumyx.providers.base import CHAT, COMPLETIONS, EMBEDDINGS, UpstreamFailure, UpstreamReply

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
WORD_RE = re.compile(r"\S+\s*")
DEFAULT_DIMENSIONS = 256
FINGERPRINT = "fp_lumyx_local"


def count_tokens(text: str) -> int:
    """The local models' tokenizer: words and punctuation marks."""
    return len(TOKEN_RE.findall(text))


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _prompt_tokens(messages: list) -> int:
    total = 0
    for message in messages:
        total += 3 + count_tokens(_text_of(message.get("content")))
        for call in message.get("tool_calls") or ():
            total += count_tokens(call.get("function", {}).get("arguments", ""))
    return total + 3


def _value_for(schema: dict, name: str, hint: str):
    kind = schema.get("type")
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        items = schema.get("items")
        return [_value_for(items if isinstance(items, dict) else {"type": "string"}, name, hint)]
    if kind == "object":
        return _arguments(schema, hint)
    return hint or name


def _arguments(schema, hint: str) -> dict:
    """Arguments for a tool's JSON Schema; parts of a schema that are not well-formed are skipped."""
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        required = list(properties)
    return {
        name: _value_for(properties[name] if isinstance(properties.get(name), dict) else {}, name, hint)
        for name in required
    }


def _subject(text: str) -> str:
    """The last capitalised word of the user's text, else its last word."""
    words = re.findall(r"[A-Za-z][\w-]*", text)
    capitalised = [w for w in words[1:] if w[0].isupper()]
    return (capitalised or words or ["it"])[-1]


def _pick_tool(body: dict) -> dict | None:
    tools = body.get("tools") or []
    choice = body.get("tool_choice", "auto")
    if not tools or choice == "none":
        return None
    messages = body["messages"]
    if messages[-1].get("role") not in ("user",):
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t.get("function", {}).get("name") == wanted), None)
    return tools[0]


def _reply_text(body: dict) -> str:
    messages = body["messages"]
    last = messages[-1]
    if last.get("role") == "tool":
        return f"The tool returned: {_text_of(last.get('content'))}"
    text = _text_of(last.get("content")).strip()
    fmt = (body.get("response_format") or {}).get("type")
    if fmt in ("json_object", "json_schema"):
        return orjson.dumps({"answer": f"You said: {text[:200]}", "model": "local"}).decode()
    if not text:
        return "Hello! I am the built-in local model of this Lumyx gateway."
    return (
        f"You said: {text[:400]}. I am the built-in local model of this Lumyx gateway; I answer offline and for free."
    )


def _limit(text: str, body: dict) -> tuple[str, str]:
    """Applies stop sequences and max_tokens; returns (text, finish_reason)."""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else stops or ():
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit and count_tokens(text) > limit:
        pieces, used = [], 0
        for piece in WORD_RE.findall(text):
            used += count_tokens(piece)
            if used > limit:
                break
            pieces.append(piece)
        return "".join(pieces).rstrip(), "length"
    return text, "stop"


def _reasoning(body: dict) -> str | None:
    effort = body.get("reasoning_effort")
    if not effort or effort == "none":
        return None
    question = _text_of(body["messages"][-1].get("content")).strip()[:200]
    return f"The user wrote: {question}. Effort {effort}: I will answer plainly."


def _chat(body: dict) -> dict:
    created = int(time.time())
    tool = _pick_tool(body)
    message: dict = {"role": "assistant", "content": None}
    reasoning = _reasoning(body)
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool is not None:
        fn = tool["function"]
        hint = _subject(_text_of(body["messages"][-1].get("content")))
        args = orjson.dumps(_arguments(fn.get("parameters") or {}, hint)).decode()
        message["tool_calls"] = [
            {
                "id": "call_" + uuid.uuid4().hex[:24],
                "type": "function",
                "function": {"name": fn["name"], "arguments": args},
            }
        ]
        finish, completion = "tool_calls", count_tokens(args) + 5
    else:
        message["content"], finish = _limit(_reply_text(body), body)
        completion = count_tokens(message["content"])
    reasoning_tokens = count_tokens(reasoning) if reasoning else 0
    prompt = _prompt_tokens(body["messages"])
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "object": "chat.completion",
        "created": created,
        "model": body["model"],
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion + reasoning_tokens,
            "total_tokens": prompt + completion + reasoning_tokens,
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def _chat_stream(body: dict) -> Iterator[dict]:
    result = _chat(body)
    base = {
        "id": result["id"],
        "object": "chat.completion.chunk",
        "created": result["created"],
        "model": result["model"],
        "system_fingerprint": FINGERPRINT,
    }
    choice = result["choices"][0]
    message = choice["message"]

    def chunk(delta: dict, finish=None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in WORD_RE.findall(message.get("reasoning_content") or ""):
        yield chunk({"reasoning_content": piece})
    for piece in WORD_RE.findall(message.get("content") or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(message.get("tool_calls") or ()):
        args = call["function"]["arguments"]
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ]
            }
        )
        for start in range(0, len(args), 16):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": args[start : start + 16]}}]})
    yield chunk({}, choice["finish_reason"])
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": result["usage"]}


def _completion(body: dict) -> dict:
    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
    choices, prompt_tokens, completion_tokens = [], 0, 0
    for index, prompt in enumerate(prompts):
        text, finish = _limit(f" and so the text goes on: {prompt[-200:]}", body)
        choices.append({"index": index, "text": text, "finish_reason": finish, "logprobs": None})
        prompt_tokens += count_tokens(prompt)
        completion_tokens += count_tokens(text)
    return {
        "id": "cmpl-" + uuid.uuid4().hex,
        "object": "text_completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _completion_stream(body: dict) -> Iterator[dict]:
    result = _completion(body)
    base = {"id": result["id"], "object": "text_completion", "created": result["created"], "model": result["model"]}
    for choice in result["choices"]:
        for piece in WORD_RE.findall(choice["text"]):
            yield {
                **base,
                "choices": [{"index": choice["index"], "text": piece, "finish_reason": None, "logprobs": None}],
            }
        yield {
            **base,
            "choices": [
                {"index": choice["index"], "text": "", "finish_reason": choice["finish_reason"], "logprobs": None}
            ],
        }
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": result["usage"]}


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector from hashed word (and word-pair) features of ``text``."""
    vector = [0.0] * dimensions
    words = [w.lower() for w in re.findall(r"\w+", text)] or [""]
    features = words + [a + " " + b for a, b in zip(words, words[1:])]
    for feature in features:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _embeddings(body: dict) -> dict:
    inputs = body["input"]
    if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
        inputs = [inputs]
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    data, tokens = [], 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(f"t{t}" for t in item)
        tokens += count_tokens(text) if isinstance(item, str) else len(item)
        vector = embed(text, dimensions)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def send(provider, operation: str, body: dict, *, stream: bool, client_headers: dict) -> UpstreamReply:
    if operation == CHAT:
        return UpstreamReply(events=_chat_stream(body)) if stream else UpstreamReply(body=_chat(body))
    if operation == COMPLETIONS:
        return UpstreamReply(events=_completion_stream(body)) if stream else UpstreamReply(body=_completion(body))
    if operation == EMBEDDINGS:
        return UpstreamReply(body=_embeddings(body))
    raise UpstreamFailure("unsupported", f"operation {operation} is not served by the local provider", retryable=False)
