"""Catalog models, calls and upstream adapters for in-process pipeline tests:
no database, no network. A fake adapter answers each route with what the test
scripted for it and records what the gateway sent."""

from __future__ import annotations

from collections.abc import Iterator

from lumyx.accounts.keys import KeyContext
from lumyx.catalog.snapshot import ModelInfo, ProviderInfo, Route
from lumyx.gateway.call import Call, new_call
from lumyx.providers import http
from lumyx.providers.base import UpstreamFailure, UpstreamReply
from lumyx.providers.streaming import StreamBroken

KEY = KeyContext(key_id=7, user_id=3, plan="pro", timezone="UTC")


def provider(name: str, kind: str = "openai", key_env: str | None = None) -> ProviderInfo:
    """A provider; without ``key_env`` it needs no key (as the local one)."""
    return ProviderInfo(id=name, kind=kind, base_url=f"http://{name}.invalid", api_key_env=key_env, timeout_s=5)


def model(
    *routes: Route,
    model_id: str = "m",
    price_input: int = 0,
    price_output: int = 0,
    max_output_tokens: int = 1000,
    capabilities: tuple[str, ...] = ("tools", "reasoning"),
    embedding: bool = False,
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        name=model_id,
        description="",
        context_length=8000,
        max_output_tokens=max_output_tokens,
        price_input=price_input,
        price_output=price_output,
        input_modalities=("text",),
        output_modalities=("embeddings",) if embedding else ("text",),
        capabilities=frozenset(capabilities),
        routes=routes,
        created=0,
        api_object={},
    )


def call(
    served_by: ModelInfo, client_format: str = "openai", body: dict | None = None, *, operation: str | None = None
) -> Call:
    body = body or {"model": served_by.id, "messages": [{"role": "user", "content": "hi"}]}
    operation = operation or {"openai": "chat", "anthropic": "messages", "responses": "responses"}[client_format]
    return new_call(KEY, served_by, operation, client_format, body, stream=body.get("stream") is True)


class _Answered:
    """An upstream's HTTP answer, as the HTTP layer reads a failed one."""

    def __init__(self, status: int, body: bytes = b"{}", retry_after: str | None = None):
        self.status_code, self._body, self._retry_after = status, body, retry_after
        self.message_complete = True

    def read(self, _limit: int | None = None) -> bytes:
        return self._body

    def release(self) -> None:
        pass

    def get(self, name: str):
        return self._retry_after if name == "retry-after" else None


def status_failure(status: int, retry_after: str | None = None) -> UpstreamFailure:
    """The failure the HTTP layer makes of an upstream's error status."""
    return http._status_failure(_Answered(status, b'{"error": {"message": "no"}}', retry_after), secret=None)


def bad_body_failure() -> UpstreamFailure:
    """The failure the HTTP layer makes of a 200 whose body is not JSON."""
    try:
        http.read_json(_Answered(200, b"<html>gateway timeout</html>"))
    except UpstreamFailure as failure:
        return failure
    raise AssertionError("read_json accepted a body that is not JSON")


def broken_stream(reason: str = "protocol") -> UpstreamReply:
    """A stream that breaks before its first event."""

    def events() -> Iterator[dict]:
        raise StreamBroken(reason, "upstream closed the stream early")
        yield {}

    return UpstreamReply(events=events())


class FakeAdapter:
    """One provider kind's adapter: each route (by provider id) answers as scripted —
    an UpstreamReply, or an UpstreamFailure to raise."""

    def __init__(self, **answers):
        self.answers = answers
        self.sent: list[tuple[str, str, dict]] = []  # (provider id, operation, body)

    def send(self, provider, operation: str, body: dict, *, stream: bool, client_headers: dict) -> UpstreamReply:
        self.sent.append((provider.id, operation, body))
        answer = self.answers[provider.id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def chat_reply(text: str = "hello", usage: dict | None = None, **message) -> UpstreamReply:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "upstream-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text, **message}, "finish_reason": "stop"}
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return UpstreamReply(body=body)


def chat_stream(*pieces: str, reasoning: str | None = None, usage: dict | None = None) -> UpstreamReply:
    """An OpenAI-format upstream stream of ``pieces``."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "upstream-model"}

    def chunk(delta: dict, finish=None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    if reasoning:
        events.append(chunk({"reasoning_content": reasoning}))
    events += [chunk({"content": piece}) for piece in pieces]
    events.append(chunk({}, "stop"))
    if usage is not None:
        events.append({**base, "choices": [], "usage": usage})
    return UpstreamReply(events=iter(events))


def message_reply(text: str = "hello", thinking: str | None = None) -> UpstreamReply:
    content = [{"type": "thinking", "thinking": thinking, "signature": "sig"}] if thinking else []
    content.append({"type": "text", "text": text})
    return UpstreamReply(
        body={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "upstream-model",
            "content": content,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 11, "output_tokens": 5},
        }
    )


def message_stream(*pieces: str, thinking: str | None = None) -> UpstreamReply:
    """An Anthropic-format upstream stream of ``pieces``."""
    events: list[dict] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "upstream-model",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 11, "output_tokens": 1},
            },
        }
    ]
    index = 0
    if thinking:
        events += [
            {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": thinking}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
            {"type": "content_block_stop", "index": 0},
        ]
        index = 1
    events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
    events += [
        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
        for piece in pieces
    ]
    events += [
        {"type": "content_block_stop", "index": index},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]
    return UpstreamReply(events=iter(events))


def _response(output: list[dict], status: str = "completed") -> dict:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "upstream-model",
        "output": output,
        "usage": {
            "input_tokens": 11,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 16,
        },
    }


def _text_item(text: str) -> dict:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "content": content}


def response_reply(text: str = "hello") -> UpstreamReply:
    """A Responses-format upstream's whole answer."""
    return UpstreamReply(body=_response([_text_item(text)]))


def response_stream(*pieces: str) -> UpstreamReply:
    """A Responses-format upstream stream of ``pieces``."""
    opening = _response([], "in_progress")
    events = [
        {"type": "response.created", "response": opening},
        {"type": "response.in_progress", "response": opening},
        {"type": "response.output_item.added", "output_index": 0, "item": {**_text_item(""), "content": []}},
    ]
    events += [
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": piece}
        for piece in pieces
    ]
    events.append({"type": "response.completed", "response": _response([_text_item("".join(pieces))])})
    return UpstreamReply(events=iter(events))
