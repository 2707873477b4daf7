"""Shared helpers for the translation tests.

* reading the recorded SSE transcripts,
* running them through the two stream state machines,
* checking an Anthropic event sequence / an OpenAI chunk sequence the way a
  strict client would, validating every payload with the official SDK types
  and accumulating it with the SDK's own stream accumulators,
* independent reference readings of what a transcript says (tool arguments,
  text), to compare the translated stream against,
* validating translated request bodies against the SDKs' request param types.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import pydantic
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

from lumyx.providers.sse import decode, read_events
from lumyx.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream

TRANSCRIPTS = Path(__file__).parent / "transcripts"
OPENAI_TRANSCRIPTS = sorted(p.stem for p in (TRANSCRIPTS / "openai_stream").glob("*.sse"))
ANTHROPIC_TRANSCRIPTS = sorted(p.stem for p in (TRANSCRIPTS / "anthropic_stream").glob("*.sse"))

STREAM_EVENT = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
ANTHROPIC_REQUEST = pydantic.TypeAdapter(MessageCreateParamsNonStreaming)
OPENAI_REQUEST = pydantic.TypeAdapter(CompletionCreateParamsNonStreaming)

DELTA_TYPES = {
    "text": {"text_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
    "redacted_thinking": set(),
}


# -- transcripts ------------------------------------------------------------


def transcript_payloads(kind: str, name: str) -> list[dict]:
    """Decoded JSON payloads of one transcript (``[DONE]`` left out)."""
    raw = (TRANSCRIPTS / kind / f"{name}.sse").read_bytes()
    payloads = []
    for _event, data in read_events([raw]):
        if data.strip() == b"[DONE]":
            continue
        payloads.append(decode(data))
    assert payloads, f"{kind}/{name} is empty"
    return payloads


def transcript_has_done(name: str) -> bool:
    return b"data: [DONE]" in (TRANSCRIPTS / "openai_stream" / f"{name}.sse").read_bytes()


def feed_all(stream, payloads: list[dict], *, close: bool = True) -> list[dict]:
    """Feed every payload (checking that none is mutated), then ``close()``."""
    out: list[dict] = []
    for payload in payloads:
        before = copy.deepcopy(payload)
        out.extend(stream.feed(payload))
        assert payload == before, "the stream mutated its input"
    if close:
        out.extend(stream.close())
    return out


def openai_to_anthropic(name: str, *, input_tokens: int = 11, model: str = "claude-via-gateway"):
    stream = OpenAIToAnthropicStream(model=model, input_tokens=input_tokens)
    events = feed_all(stream, transcript_payloads("openai_stream", name))
    return stream, events


def anthropic_to_openai(name: str, *, include_usage: bool = True, model: str = "gpt-via-gateway"):
    stream = AnthropicToOpenAIStream(model=model, include_usage=include_usage)
    chunks = feed_all(stream, transcript_payloads("anthropic_stream", name))
    return stream, chunks


def openai_transcript_tool_calls(payloads: list[dict]) -> dict[int, dict]:
    """What an OpenAI transcript says about its tool calls: index -> {id, name, arguments}."""
    calls: dict[int, dict] = {}
    for payload in payloads:
        for choice in payload.get("choices") or ():
            for tc in (choice.get("delta") or {}).get("tool_calls") or ():
                call = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                if tc.get("id"):
                    call["id"] = tc["id"]
                function = tc.get("function") or {}
                if function.get("name"):
                    call["name"] = function["name"]
                call["arguments"] += function.get("arguments") or ""
    return calls


def openai_transcript_text(payloads: list[dict], key: str = "content") -> str:
    return "".join(
        (choice.get("delta") or {}).get(key) or "" for payload in payloads for choice in payload.get("choices") or ()
    )


def anthropic_transcript_blocks(payloads: list[dict]) -> list[dict]:
    """The content blocks an Anthropic transcript describes, with ``partial_json`` joined as ``json``."""
    blocks: dict[int, dict] = {}
    for payload in payloads:
        if payload["type"] == "content_block_start":
            block = copy.deepcopy(payload["content_block"])
            if block["type"] == "tool_use":
                block["json"] = ""
            blocks[payload["index"]] = block
        elif payload["type"] == "content_block_delta":
            block, delta = blocks[payload["index"]], payload["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                block["json"] += delta["partial_json"]
    return [blocks[i] for i in sorted(blocks)]


# -- Anthropic event sequences ---------------------------------------------


@dataclass
class Block:
    index: int
    type: str
    start: dict
    deltas: list[dict] = field(default_factory=list)
    stopped: bool = False

    def text(self) -> str:
        return self.start.get("text", "") + "".join(d["text"] for d in self.deltas if d["type"] == "text_delta")

    def thinking(self) -> str:
        return self.start.get("thinking", "") + "".join(
            d["thinking"] for d in self.deltas if d["type"] == "thinking_delta"
        )

    def signatures(self) -> list[str]:
        return [d["signature"] for d in self.deltas if d["type"] == "signature_delta"]

    def partial_json(self) -> str:
        return "".join(d["partial_json"] for d in self.deltas if d["type"] == "input_json_delta")


@dataclass
class AnthropicStreamResult:
    events: list[dict]
    blocks: list[Block]
    message_start: dict
    message_delta: dict
    message: anthropic.types.Message  # accumulated by the SDK


def check_anthropic_events(events: list[dict], *, tool_json_complete: bool = True) -> AnthropicStreamResult:
    """Assert that ``events`` is a well-formed Anthropic Messages stream and accumulate it.

    ``tool_json_complete``: the ``partial_json`` of each ``tool_use`` block
    must join to a JSON object (False only for a stream cut off inside a tool call).
    """
    assert len(events) >= 4, events
    assert events[0]["type"] == "message_start", events[0]
    assert events[1] == {"type": "ping"}, events[1]
    assert events[-1] == {"type": "message_stop"}, events[-1]
    assert events[-2]["type"] == "message_delta", events[-2]
    assert [e["type"] for e in events].count("message_start") == 1
    assert [e["type"] for e in events].count("message_delta") == 1
    assert [e["type"] for e in events].count("message_stop") == 1
    assert [e["type"] for e in events].count("ping") == 1

    start = events[0]["message"]
    assert start["id"].startswith("msg_") and start["type"] == "message" and start["role"] == "assistant"
    assert start["content"] == [] and start["stop_reason"] is None and start["stop_sequence"] is None
    assert isinstance(start["usage"]["input_tokens"], int) and start["usage"]["output_tokens"] == 0

    blocks: list[Block] = []
    open_block: Block | None = None
    for event in events[2:-2]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_block is None, f"block {event['index']} started while {open_block.index} is open"
            assert event["index"] == len(blocks), f"index {event['index']} is not contiguous"
            block_type = event["content_block"]["type"]
            assert block_type in DELTA_TYPES, block_type
            open_block = Block(event["index"], block_type, event["content_block"])
            blocks.append(open_block)
            if block_type == "tool_use":
                assert event["content_block"]["input"] == {}
                assert event["content_block"]["id"] and event["content_block"]["name"]
            if block_type == "thinking":
                assert event["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
            if block_type == "text":
                assert event["content_block"] == {"type": "text", "text": ""}
        elif kind == "content_block_delta":
            assert open_block is not None and event["index"] == open_block.index, event
            delta_type = event["delta"]["type"]
            assert delta_type in DELTA_TYPES[open_block.type], f"{delta_type} in a {open_block.type} block"
            assert not open_block.signatures(), "delta after the signature of a thinking block"
            if delta_type == "text_delta":
                assert event["delta"]["text"] != ""
            if delta_type == "thinking_delta":
                assert event["delta"]["thinking"] != ""
            open_block.deltas.append(event["delta"])
        elif kind == "content_block_stop":
            assert open_block is not None and event == {"type": "content_block_stop", "index": open_block.index}
            open_block.stopped = True
            open_block = None
        else:
            raise AssertionError(f"unexpected event {kind} between message_start and message_delta")
    assert open_block is None, "message_delta sent while a block is open"

    for block in blocks:
        assert block.stopped
        if block.type == "text":
            assert block.text() != "", "empty text block"
        if block.type == "thinking":
            assert len(block.signatures()) <= 1
        if block.type == "redacted_thinking":
            assert block.start["data"]
        if block.type == "tool_use" and tool_json_complete:
            assert isinstance(json.loads(block.partial_json() or "{}"), dict), block.partial_json()

    delta = events[-2]
    assert delta["delta"]["stop_sequence"] is None
    assert isinstance(delta["usage"]["output_tokens"], int)

    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for event in events:
        if event["type"] == "ping":
            continue
        model = STREAM_EVENT.validate_python(event)
        snapshot = accumulate_event(event=model, current_snapshot=snapshot, json_bufs=json_bufs)
    message = anthropic.types.Message.model_validate(snapshot.model_dump())
    assert len(message.content) == len(blocks)
    return AnthropicStreamResult(events, blocks, events[0], delta, message)


# -- OpenAI chunk sequences ----------------------------------------------------


@dataclass
class OpenAIStreamResult:
    chunks: list[dict]
    content: str
    reasoning_content: str
    reasoning_details: list[dict]
    tool_calls: list[dict]
    finish_reason: str | None
    usage: dict | None
    completion: object  # the OpenAI SDK's accumulated snapshot


def check_openai_chunks(chunks: list[dict], *, include_usage: bool, finished: bool = True) -> OpenAIStreamResult:
    """Assert that ``chunks`` is a well-formed chat.completion.chunk stream and reassemble it."""
    assert chunks, "no chunks"
    ids = {c["id"] for c in chunks}
    created = {c["created"] for c in chunks}
    models = {c["model"] for c in chunks}
    assert len(ids) == 1 and next(iter(ids)).startswith("chatcmpl-"), ids
    assert len(created) == 1 and isinstance(next(iter(created)), int)
    assert len(models) == 1
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
        assert chunk["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"

    content, reasoning, details = [], [], []
    calls: dict[int, dict] = {}
    finish_reason = None
    usage_chunks = [c for c in chunks if "usage" in c]
    for _position, chunk in enumerate(chunks):
        if not chunk["choices"]:
            assert "usage" in chunk, "a chunk without choices must carry usage"
            continue
        assert len(chunk["choices"]) == 1 and chunk["choices"][0]["index"] == 0
        choice = chunk["choices"][0]
        delta = choice["delta"]
        assert finish_reason is None, "chunk after the finish chunk"
        if choice["finish_reason"] is not None:
            finish_reason = choice["finish_reason"]
            assert delta == {}
        if delta.get("content"):
            content.append(delta["content"])
        if delta.get("reasoning_content"):
            reasoning.append(delta["reasoning_content"])
        for entry in delta.get("reasoning_details") or ():
            assert entry["index"] == len(details), "reasoning_details index is not its position"
            details.append({k: v for k, v in entry.items() if k != "index"})
        for tc in delta.get("tool_calls") or ():
            if tc["index"] not in calls:
                assert tc["index"] == len(calls), "tool call indices must count 0, 1, 2..."
                assert tc["id"] and tc["type"] == "function" and tc["function"]["name"], tc
                calls[tc["index"]] = {"id": tc["id"], "name": tc["function"]["name"], "arguments": ""}
            else:
                assert "id" not in tc and "name" not in tc["function"], tc
            calls[tc["index"]]["arguments"] += tc["function"].get("arguments") or ""
        if delta.get("tool_calls"):
            assert not delta.get("content")

    if finished:
        assert finish_reason is not None, "no finish chunk"
    if include_usage and finished:
        assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1], "one usage chunk, last"
        assert chunks[-1]["choices"] == []
    else:
        assert usage_chunks == []

    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    snapshot = state.current_completion_snapshot
    message = snapshot.choices[0].message
    assert (message.content or "") == "".join(content)
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()] == [
        (c["id"], c["name"], c["arguments"]) for c in calls.values()
    ]
    return OpenAIStreamResult(
        chunks,
        "".join(content),
        "".join(reasoning),
        details,
        [calls[i] for i in sorted(calls)],
        finish_reason,
        chunks[-1]["usage"] if usage_chunks else None,
        snapshot,
    )


# -- request and response validation -----------------------------------------------


def _force(value):
    """Consume the lazy iterables pydantic returns for ``Iterable[...]`` fields, so nested errors surface."""
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__iter__"):
        return [_force(v) for v in value]
    return value


def validate_anthropic_request(body: dict) -> None:
    """The body must satisfy the Anthropic SDK's ``MessageCreateParams``."""
    stripped = {k: v for k, v in body.items() if k != "stream"}
    _force(ANTHROPIC_REQUEST.validate_python(stripped))


def validate_openai_request(body: dict) -> None:
    """The body must satisfy the OpenAI SDK's ``CompletionCreateParams``."""
    stripped = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    _force(OPENAI_REQUEST.validate_python(stripped))


def validate_chat_completion(resp: dict) -> ChatCompletion:
    return ChatCompletion.model_validate(resp)


def validate_message(resp: dict) -> anthropic.types.Message:
    return anthropic.types.Message.model_validate(resp)
