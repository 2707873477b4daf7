"""Anthropic Messages SSE events -> OpenAI ``chat.completion.chunk`` objects.

Event mapping (:class:`AnthropicToOpenAIStream`):

* ``message_start`` -> the first chunk, ``delta: {"role": "assistant", "content": ""}``.
  Its usage (input and cache tokens) is recorded.
* ``text_delta`` -> ``delta.content``.
* ``thinking_delta`` -> ``delta.reasoning_content``.
* ``signature_delta`` -> ``delta.reasoning_details: [{"type": "reasoning.text",
  "text": <the whole thinking block>, "signature": ..., "index": n}]``. The
  block's text is included so that a client which keeps ``reasoning_details``
  can send them back and get the exact thinking blocks, even with several per
  turn. A thinking block that ends without a signature gets the same entry,
  unsigned, at its ``content_block_stop``.
* ``redacted_thinking`` block -> ``delta.reasoning_details: [{"type":
  "reasoning.encrypted", "data": ..., "index": n}]``.
* ``index`` on a ``reasoning_details`` entry is its position (0, 1, 2...) in
  the message's whole ``reasoning_details`` list, as OpenRouter sends it:
  clients that merge list deltas by ``index`` (the OpenAI SDK's stream
  helpers fail on entries without one) rebuild the complete list, which apart
  from ``index`` equals the non-streaming one.
* ``tool_use`` block start -> ``delta.tool_calls: [{index: k, id, type:
  "function", function: {name, arguments: ""}}]`` where ``k`` counts tool calls
  0, 1, 2... (not the Anthropic block index); ``input_json_delta`` ->
  ``delta.tool_calls: [{index: k, function: {arguments: partial_json}}]``.
  A ``tool_use`` block that stops without any argument text (a tool without
  parameters) gets ``arguments: "{}"`` at its ``content_block_stop``, so the
  streamed arguments are always valid JSON, as in the non-streaming response.
* Server tool blocks, citations and ``ping`` produce nothing.
* ``message_delta`` with a ``stop_reason`` -> a chunk with ``delta: {}`` and
  the ``finish_reason`` (:mod:`lumyx.translate.stop_reasons`). Its usage is
  recorded; for input and cache counts (which some servers also report here)
  the largest value seen wins.
* ``message_stop`` -> the finish chunk if none was sent, then, when
  ``include_usage`` is set, a usage chunk with ``choices: []``.
* The stream ends without ``message_stop`` (:meth:`AnthropicToOpenAIStream.close`):
  the same finish chunk and usage chunk. Without an upstream ``stop_reason``
  the ``finish_reason`` is ``length`` when a tool call's arguments are not
  complete JSON (the output was cut off: a client must not run that call),
  else ``tool_calls`` if a tool call was started, else ``stop``.
* ``error`` -> nothing is emitted; the payload's ``error`` object is stored in
  :attr:`AnthropicToOpenAIStream.error` and the stream is finished, so that
  the gateway decides how to report it. :meth:`close` then emits nothing.

Every chunk has the same ``id`` (``chatcmpl-`` + the Anthropic message id
suffix) and ``created``.
"""

from __future__ import annotations

import json
import time

from lumyx.translate.ids import openai_id_from_anthropic
from lumyx.translate.reasoning import encrypted_detail, reasoning_text_detail
from lumyx.translate.stop_reasons import anthropic_stop_to_openai
from lumyx.translate.tools import is_complete_json
from lumyx.translate.usage import one_hour_writes, openai_usage, token_count

_TEXT, _THINKING, _TOOL, _OTHER = 0, 1, 2, 3


class _Block:
    __slots__ = ("kind", "tool_index", "parts", "signed")

    def __init__(self, kind: int, tool_index: int = -1):
        self.kind = kind
        self.tool_index = tool_index
        self.parts: list[str] = []  # thinking text, or tool call argument text
        self.signed = False

    def arguments_complete(self) -> bool:
        return is_complete_json("".join(self.parts))


class AnthropicToOpenAIStream:
    """Translate one Anthropic SSE stream into OpenAI chunks; see the module documentation."""

    def __init__(self, *, model: str, include_usage: bool):
        self.model = model
        self.include_usage = include_usage
        self.id: str | None = None
        self.created = int(time.time())
        self.usage = {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        self.reasoning_tokens: int | None = None
        self.cache_write_1h = 0  # of cache_creation_input_tokens, cached for an hour
        self.finished = False
        self.error: dict | None = None
        self._started = False
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        self._stop_reason: str | None = None
        self._finish_sent = False
        self._details_sent = 0

    def _detail_chunk(self, detail: dict) -> dict:
        detail["index"] = self._details_sent
        self._details_sent += 1
        return self._chunk({"reasoning_details": [detail]})

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def _begin(self, message_id: object = None) -> list[dict]:
        self._started = True
        self.id = openai_id_from_anthropic(message_id)
        return [self._chunk({"role": "assistant", "content": ""})]

    def _record_usage(self, usage: object, from_start: bool) -> None:
        if not isinstance(usage, dict):
            return
        current = self.usage
        for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            value = token_count(usage.get(key))
            if value > current[key]:
                current[key] = value
        self.cache_write_1h = max(self.cache_write_1h, one_hour_writes(usage))
        output = token_count(usage.get("output_tokens"))
        if from_start:
            current["output_tokens"] = max(current["output_tokens"], output)
        elif "output_tokens" in usage:
            current["output_tokens"] = output
        details = usage.get("output_tokens_details")
        if isinstance(details, dict) and details.get("thinking_tokens") is not None:
            self.reasoning_tokens = token_count(details["thinking_tokens"])

    def _usage_chunk(self) -> dict:
        u = self.usage
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": openai_usage(
                u["input_tokens"],
                u["output_tokens"],
                u["cache_read_input_tokens"],
                u["cache_creation_input_tokens"],
                self.reasoning_tokens,
                self.cache_write_1h,
            ),
        }

    def _end(self, out: list[dict]) -> list[dict]:
        if not self._finish_sent:
            reason = anthropic_stop_to_openai(self._stop_reason) or self._unfinished_reason()
            out.append(self._chunk({}, reason))
            self._finish_sent = True
        if self.include_usage:
            out.append(self._usage_chunk())
        self.finished = True
        return out

    def _unfinished_reason(self) -> str:
        tools = [b for b in self._blocks.values() if b.kind == _TOOL]
        if any(not b.arguments_complete() for b in tools):
            return "length"
        return "tool_calls" if tools else "stop"

    def feed(self, event: dict) -> list[dict]:
        """Translate one decoded Anthropic SSE event payload; returns 0..n chunks."""
        if self.finished:
            return []
        kind = event.get("type")
        if kind == "content_block_delta":
            out = [] if self._started else self._begin()
            block = self._blocks.get(event.get("index"))
            delta = event.get("delta") or {}
            dkind = delta.get("type")
            if dkind == "text_delta":
                text = delta.get("text")
                if text:
                    out.append(self._chunk({"content": text}))
            elif dkind == "input_json_delta":
                partial = delta.get("partial_json")
                if partial and block is not None and block.kind == _TOOL:
                    block.parts.append(partial)
                    out.append(
                        self._chunk({"tool_calls": [{"index": block.tool_index, "function": {"arguments": partial}}]})
                    )
            elif dkind == "thinking_delta":
                text = delta.get("thinking")
                if text:
                    if block is not None and block.kind == _THINKING:
                        block.parts.append(text)
                    out.append(self._chunk({"reasoning_content": text}))
            elif dkind == "signature_delta":
                signature = delta.get("signature")
                if signature and block is not None and block.kind == _THINKING:
                    block.signed = True
                    out.append(self._detail_chunk(reasoning_text_detail("".join(block.parts), signature)))
            return out
        if kind == "content_block_start":
            out = [] if self._started else self._begin()
            self._start_block(event, out)
            return out
        if kind == "content_block_stop":
            block = self._blocks.get(event.get("index"))
            if block is not None and block.kind == _THINKING and not block.signed and block.parts:
                block.signed = True
                return [self._detail_chunk(reasoning_text_detail("".join(block.parts), None))]
            if block is not None and block.kind == _TOOL and not "".join(block.parts).strip():
                block.parts = ["{}"]
                return [self._chunk({"tool_calls": [{"index": block.tool_index, "function": {"arguments": "{}"}}]})]
            return []
        if kind == "message_start":
            message = event.get("message") or {}
            self._record_usage(message.get("usage"), True)
            if self._started:
                return []
            return self._begin(message.get("id"))
        if kind == "message_delta":
            self._record_usage(event.get("usage"), False)
            stop = (event.get("delta") or {}).get("stop_reason")
            if stop is None:
                return []
            self._stop_reason = stop
            out = [] if self._started else self._begin()
            if not self._finish_sent:
                self._finish_sent = True
                out.append(self._chunk({}, anthropic_stop_to_openai(stop)))
            return out
        if kind == "message_stop":
            return self._end([] if self._started else self._begin())
        if kind == "error":
            error = event.get("error")
            self.error = error if isinstance(error, dict) else dict(event)
            self.finished = True
            return []
        return []

    def _start_block(self, event: dict, out: list[dict]) -> None:
        block = event.get("content_block") or {}
        kind = block.get("type")
        index = event.get("index")
        if kind == "text":
            self._blocks[index] = _Block(_TEXT)
            if block.get("text"):
                out.append(self._chunk({"content": block["text"]}))
        elif kind == "thinking":
            state = self._blocks[index] = _Block(_THINKING)
            if block.get("thinking"):
                state.parts.append(block["thinking"])
                out.append(self._chunk({"reasoning_content": block["thinking"]}))
            if block.get("signature"):
                state.signed = True
                out.append(self._detail_chunk(reasoning_text_detail("".join(state.parts), block["signature"])))
        elif kind == "redacted_thinking":
            self._blocks[index] = _Block(_OTHER)
            out.append(self._detail_chunk(encrypted_detail(block.get("data") or "")))
        elif kind == "tool_use":
            k = self._tool_count
            self._tool_count += 1
            state = self._blocks[index] = _Block(_TOOL, k)
            call = {
                "index": k,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            out.append(self._chunk({"tool_calls": [call]}))
            if block.get("input"):
                arguments = json.dumps(block["input"], ensure_ascii=False)
                state.parts.append(arguments)
                out.append(self._chunk({"tool_calls": [{"index": k, "function": {"arguments": arguments}}]}))
        else:
            self._blocks[index] = _Block(_OTHER)

    def close(self) -> list[dict]:
        """The upstream stream ended. Emit the finish chunk and usage chunk a client still needs.

        Idempotent; returns ``[]`` when the stream already finished (``message_stop``
        or ``error`` was seen). Without a ``stop_reason`` from upstream the
        ``finish_reason`` is ``length`` if a tool call's arguments are incomplete
        JSON, else ``tool_calls`` if a tool call was started, else ``stop``.
        """
        if self.finished:
            return []
        return self._end([] if self._started else self._begin())
