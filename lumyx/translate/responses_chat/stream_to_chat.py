"""OpenAI Responses stream events -> OpenAI Chat Completions chunks.

:class:`ResponsesToChatStream` is fed the decoded events of a Responses
stream, one at a time, and returns the ``chat.completion.chunk`` objects to
send for each (without ``[DONE]``, which the caller writes).

* ``response.created`` -> the first chunk, ``{"role": "assistant", "content": ""}``
  (``id`` from the response id, as :func:`lumyx.translate.ids.openai_id_from_responses`).
* ``response.output_text.delta`` -> a ``content`` delta;
  ``response.refusal.delta`` -> a ``refusal`` delta.
* ``response.reasoning_summary_text.delta`` and ``response.reasoning_text.delta``
  -> ``reasoning_content`` deltas; a new summary part after another starts
  with ``"\\n\\n"``.
* ``response.output_item.added`` of a ``function_call`` -> a tool call delta
  with the next ``index`` (0, 1, ...), its ``id`` (the ``call_id``), ``type`` and
  ``name``; each ``response.function_call_arguments.delta`` of that item -> an
  ``arguments`` delta at the same index.
* ``response.completed`` and ``response.incomplete`` -> the finish chunk
  (``finish_reason`` as :func:`.response_to_chat.finish_reason`), then a usage
  chunk (``choices: []``, usage as :mod:`lumyx.translate.usage` maps it)
  when the response reports usage. The stream is then :attr:`ended`.
* ``response.failed`` and ``error`` -> nothing is emitted; the error message
  is kept in :attr:`failure` and the stream is over: the caller ends the
  client's stream with an error.
* Every other event (``*.done``, ``content_part.*``, ``in_progress``, ...) -> nothing.

A stream that stops without ``response.completed`` or ``response.incomplete``
is not :attr:`ended`; the caller ends it with an error.
"""

from __future__ import annotations

import time

from lumyx.translate.responses_chat.response_to_chat import chat_id, finish_reason, text_of, usage_to_chat
from lumyx.translate.usage import token_count


class ResponsesToChatStream:
    def __init__(self, *, model: str):
        self.model = model
        self.id = chat_id(None)
        self.created = int(time.time())
        self.started = False
        self.ended = False
        self.failure: str | None = None
        self.tool_index: dict[object, int] = {}  # item id (or output index) -> tool call index
        self.summary_parts = 0

    def _chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _start(self, response: object) -> list[dict]:
        if self.started:
            return []
        self.started = True
        if isinstance(response, dict):
            self.id = chat_id(response.get("id"))
            self.created = token_count(response.get("created_at")) or self.created
        return [self._chunk({"role": "assistant", "content": ""})]

    def _finish(self, response: dict) -> list[dict]:
        self.ended = True
        out = self._start(response)
        out.append(self._chunk({}, finish_reason(response, bool(self.tool_index))))
        usage = usage_to_chat(response.get("usage"))
        if usage is not None:
            out.append({**self._chunk({}), "choices": [], "usage": usage})
        return out

    def _tool_added(self, event: dict) -> list[dict]:
        item = event["item"]
        index = len(self.tool_index)
        self.tool_index[text_of(item.get("id")) or event.get("output_index")] = index
        call = {
            "index": index,
            "id": text_of(item.get("call_id") or item.get("id")),
            "type": "function",
            "function": {"name": text_of(item.get("name")), "arguments": text_of(item.get("arguments"))},
        }
        return [*self._start(None), self._chunk({"tool_calls": [call]})]

    def feed(self, event: dict) -> list[dict]:
        if self.ended or self.failure is not None:
            return []
        kind = event.get("type")
        delta = event.get("delta")
        if kind == "response.created":
            return self._start(event.get("response"))
        if kind == "response.output_text.delta" and isinstance(delta, str):
            return [*self._start(None), self._chunk({"content": delta})]
        if kind == "response.refusal.delta" and isinstance(delta, str):
            return [*self._start(None), self._chunk({"refusal": delta})]
        if kind == "response.reasoning_summary_part.added":
            self.summary_parts += 1
            if self.summary_parts > 1:
                return [*self._start(None), self._chunk({"reasoning_content": "\n\n"})]
            return []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta") and isinstance(
            delta, str
        ):
            return [*self._start(None), self._chunk({"reasoning_content": delta})]
        item = event.get("item")
        if kind == "response.output_item.added" and isinstance(item, dict) and item.get("type") == "function_call":
            return self._tool_added(event)
        if kind == "response.function_call_arguments.delta" and isinstance(delta, str):
            index = self.tool_index.get(text_of(event.get("item_id")), self.tool_index.get(event.get("output_index")))
            if index is None:
                return []
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta}}]})]
        if kind in ("response.completed", "response.incomplete"):
            response = event.get("response")
            return self._finish(response if isinstance(response, dict) else {})
        if kind == "response.failed":
            response = event.get("response")
            error = response.get("error") if isinstance(response, dict) else None
            self.failure = _message(error, "the response failed")
        elif kind == "error":
            self.failure = _message(event.get("error") if isinstance(event.get("error"), dict) else event, "error")
        return []


def _message(error: object, default: str) -> str:
    """The message of a Responses error object (its code without one), never the raw payload."""
    if not isinstance(error, dict):
        return default
    return str(error.get("message") or error.get("code") or default)[:300]
