"""The upstream stand-in's answers (bench/upstream.py serves them): OpenAI Chat Completions,
Anthropic Messages and OpenAI Responses, plain and streamed, built whole as HTTP/1.1 responses
from the configuration in CFG, each stream also cut where its tokens are spaced out; and the
JSON error and health answers."""

from __future__ import annotations

import secrets
import time

import orjson

_dumps = orjson.dumps

CFG = {"latency_ms": 0.0, "chunks": 20, "chunk_delay_ms": 0.0}
# The answer's tokens: words in turn, so that no two neighbouring chunks are alike (a
# gateway may refuse a stream that repeats one chunk over and over).
WORDS = tuple(
    w + " "
    for w in "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
    "tempor incididunt ut labore et".split()
)


def _tokens(n: int) -> list[str]:
    return [WORDS[i % len(WORDS)] for i in range(n)]


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _response(status: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)


def _error(status: bytes, message: str, anthropic: bool = False) -> bytes:
    if anthropic:
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return _response(status, _dumps(body))


HEALTH = _response(b"200 OK", b'{"ok":true}')
NOT_FOUND = _error(b"404 Not Found", "not found")
METHOD = _error(b"405 Method Not Allowed", "method not allowed")


def _frame(data: bytes) -> bytes:
    """One chunk of a Transfer-Encoding: chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _stream(pre: bytes, toks: list[bytes], post: bytes) -> tuple:
    """A stream as (whole, head with the first token, the middle tokens' frames, the last
    token with the end, number of tokens)."""
    end, n = b"0\r\n\r\n", len(toks)
    if n == 1:
        return SSE_HEAD + _frame(pre + toks[0] + post) + end, None, [], b"", 1
    return (
        SSE_HEAD + _frame(pre + b"".join(toks) + post) + end,
        SSE_HEAD + _frame(pre + toks[0]),
        [_frame(t) for t in toks[1:-1]],
        _frame(toks[-1] + post) + end,
        n,
    )


def _cached(model: str, ptoks: int) -> int:
    """Prompt tokens read from the provider's cache: half the prompt for a model whose name
    says "cached", none otherwise."""
    return ptoks // 2 if "cached" in model else 0


def _openai(model: str, stream: bool, include_usage: bool, ptoks: int):
    n, cid, created = CFG["chunks"], "chatcmpl-" + secrets.token_hex(12), int(time.time())
    usage = {"prompt_tokens": ptoks, "completion_tokens": n, "total_tokens": ptoks + n}
    if _cached(model, ptoks):
        usage["prompt_tokens_details"] = {"cached_tokens": _cached(model, ptoks)}
    if not stream:
        return _response(
            b"200 OK",
            _dumps(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(_tokens(n)), "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "system_fingerprint": None,
                }
            ),
        )

    def event(choices: list, **extra) -> bytes:
        return (
            b"data: "
            + _dumps(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": None,
                    "choices": choices,
                    **extra,
                }
            )
            + b"\n\n"
        )

    def choice(delta: dict, finish=None) -> list:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    post = event(choice({}, "stop"))
    if include_usage:
        post += event([], usage=usage)
    return _stream(
        event(choice({"role": "assistant", "content": "", "refusal": None})),
        [event(choice({"content": t})) for t in _tokens(n)],
        post + b"data: [DONE]\n\n",
    )


def _anthropic(model: str, stream: bool, _include_usage: bool, ptoks: int):
    n, mid = CFG["chunks"], "msg_" + secrets.token_hex(12)
    message = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(_tokens(n))}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": ptoks - _cached(model, ptoks), "output_tokens": n},
    }
    if _cached(model, ptoks):  # Anthropic counts cache reads apart from input_tokens
        message["usage"]["cache_read_input_tokens"] = _cached(model, ptoks)
    if not stream:
        return _response(b"200 OK", _dumps(message))

    def event(kind: str, **data) -> bytes:
        return b"event: %s\ndata: %s\n\n" % (kind.encode(), _dumps({"type": kind, **data}))

    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": ptoks, "output_tokens": 1})
    pre = (
        event("message_start", message=start)
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("ping")
    )
    toks = [event("content_block_delta", index=0, delta={"type": "text_delta", "text": t}) for t in _tokens(n)]
    post = (
        event("content_block_stop", index=0)
        + event("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None}, usage={"output_tokens": n})
        + event("message_stop")
    )
    return _stream(pre, toks, post)


ID_MARK = b"f" * 32  # a cached Responses answer's ids, made fresh for each request (_with_fresh_ids)


def _with_fresh_ids(resp):
    """A cached Responses answer with ids of its own, as OpenAI gives every response and
    output item (a gateway that stores responses finds no id repeated)."""
    fresh = secrets.token_hex(16).encode()
    if type(resp) is bytes:
        return resp.replace(ID_MARK, fresh)
    whole, first, parts, last, n = resp
    return (
        whole.replace(ID_MARK, fresh),
        first and first.replace(ID_MARK, fresh),
        [part.replace(ID_MARK, fresh) for part in parts],
        last.replace(ID_MARK, fresh),
        n,
    )


def _responses(model: str, stream: bool, _include_usage: bool, ptoks: int):
    """An OpenAI Responses answer: one message item of `chunks` tokens; streamed, OpenAI's
    event sequence (created, in_progress, the item and its part opened, a text delta a token,
    the text, part and item done, completed with the whole output and usage)."""
    n, hexid, created = CFG["chunks"], ID_MARK.decode(), int(time.time())
    rid, iid, toks = "resp_" + hexid, "msg_" + hexid, _tokens(n)
    text = "".join(toks)
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"id": iid, "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    usage = {
        "input_tokens": ptoks,
        "input_tokens_details": {"cached_tokens": _cached(model, ptoks)},
        "output_tokens": n,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": ptoks + n,
    }

    def response(status: str, output: list, usage) -> dict:
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": status,
            "background": False,
            "completed_at": created if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    if not stream:
        return _response(b"200 OK", _dumps(response("completed", [item], usage)))

    seq = iter(range(1 << 30))

    def event(kind: str, **data) -> bytes:
        return b"event: %s\ndata: %s\n\n" % (
            kind.encode(),
            _dumps({"type": kind, "sequence_number": next(seq), **data}),
        )

    at = {"item_id": iid, "output_index": 0, "content_index": 0}
    opening = response("in_progress", [], None)
    pre = (
        event("response.created", response=opening)
        + event("response.in_progress", response=opening)
        + event(
            "response.output_item.added",
            output_index=0,
            item={"id": iid, "type": "message", "status": "in_progress", "role": "assistant", "content": []},
        )
        + event("response.content_part.added", **at, part=dict(part, text=""))
    )
    deltas = [event("response.output_text.delta", **at, delta=t, logprobs=[]) for t in toks]
    post = (
        event("response.output_text.done", **at, text=text, logprobs=[])
        + event("response.content_part.done", **at, part=part)
        + event("response.output_item.done", output_index=0, item=item)
        + event("response.completed", response=response("completed", [item], usage))
    )
    return _stream(pre, deltas, post)
