"""OpenAI Chat Completions chunks -> OpenAI Responses stream events.

:class:`ChatToResponsesStream` is fed the decoded ``chat.completion.chunk``
objects of a Chat stream (:meth:`~ChatToResponsesStream.feed`), then told how
it ended: :meth:`~ChatToResponsesStream.close` after a normal end,
:meth:`~ChatToResponsesStream.fail` for a broken one. Each returns the
Responses events to send, as dicts with ``type`` and ``sequence_number`` (0,
1, 2... over the whole stream). After ``close`` or ``fail`` the stream is
:attr:`~ChatToResponsesStream.ended` and returns nothing more.

Events
------
* The first call (whichever it is) starts with ``response.created`` and
  ``response.in_progress``, each holding the Response object of
  :func:`.response_from_chat.responses_envelope` (status ``in_progress``,
  ``output: []``).
* Output items are made as in :mod:`.response_from_chat` (same ids, same
  shapes); each opens with ``response.output_item.added`` (the item with empty
  content, ``""`` arguments or input, status ``in_progress``) and closes with
  ``response.output_item.done`` (the whole item). Items close in order when an
  item of another kind starts or the stream ends; consecutive tool calls stay
  open together, because a chat stream may interleave their arguments.
* Reasoning (``delta.reasoning_content``, or ``delta.reasoning``) opens a
  ``reasoning`` item: ``response.reasoning_summary_part.added``
  (``summary_index`` 0), a ``response.reasoning_summary_text.delta`` per piece,
  and at its close ``response.reasoning_summary_text.done`` and
  ``response.reasoning_summary_part.done``. ``delta.reasoning_details``
  entries are gathered into the item's ``reasoning_details`` (no event):
  pieces sharing an ``index`` are merged (texts joined, a later
  ``signature`` or ``data`` kept), entries without one are appended.
* Text (``delta.content``) opens a ``message`` item:
  ``response.content_part.added`` (an empty ``output_text`` part), a
  ``response.output_text.delta`` per piece (``logprobs: []``), and at the
  part's close ``response.output_text.done`` and ``response.content_part.done``.
  ``delta.refusal`` does the same with a ``refusal`` part and
  ``response.refusal.delta`` / ``.done``; switching between text and refusal
  closes one part and opens the next (``content_index`` 0, 1...).
* A new tool call (``delta.tool_calls`` with a new ``index``) opens a
  ``function_call`` or ``custom_tool_call`` item, mapped through the
  request's tools (:func:`.response_from_chat.call_target`). A function's
  argument pieces stream as ``response.function_call_arguments.delta``, then
  ``response.function_call_arguments.done`` (``arguments``, ``name``); empty
  arguments are completed as ``"{}"`` by one last delta. A custom tool's
  arguments are buffered and its input (:func:`.response_from_chat.custom_input`)
  sent at its close as one ``response.custom_tool_call_input.delta`` and
  ``response.custom_tool_call_input.done``. Pieces for a call already closed
  are ignored.
* ``finish_reason`` and ``usage`` (from any chunk, normally the last one with
  ``choices: []``) are recorded.

The end
-------
* :meth:`close` closes the open items, then sends ``response.completed``, or
  ``response.incomplete`` when the ``finish_reason`` was ``length``
  (``max_output_tokens``) or ``content_filter`` (the last item is then
  ``incomplete``), as :func:`.response_from_chat.responses_status` says. Its
  ``response`` holds the full ``output`` and the ``usage``
  (:func:`lumyx.translate.usage.openai_usage_to_responses`, null without a
  usage chunk). A stream that ended without any ``finish_reason`` while a
  function call's arguments are not complete JSON was cut off: it ends as
  ``length`` would (a client must not run that call).
* :meth:`fail` closes the open items as they stand (status ``incomplete``,
  empty arguments left empty), then sends ``response.failed``: status
  ``failed``, ``error: {code, message}``, the output so far and the usage
  seen so far.
"""

from __future__ import annotations

import copy

from lumyx.translate.ids import responses_item_id
from lumyx.translate.responses_chat.response_from_chat import (
    call_item,
    call_target,
    custom_input,
    message_item,
    reasoning_item,
    responses_envelope,
    responses_status,
)
from lumyx.translate.tools import is_complete_json, responses_tool_names
from lumyx.translate.usage import openai_usage_to_responses

_CALLS = ("function_call", "custom_tool_call")
_PART_EVENTS = {"output_text": "response.output_text", "refusal": "response.refusal"}


class _Item:
    """An open output item and what it has gathered so far."""

    def __init__(self, kind: str, index: int, item_id: str):
        self.kind = kind
        self.index = index
        self.id = item_id
        self.texts: list[str] = []  # reasoning text, call argument pieces
        self.summary_open = False
        self.details: list[dict] = []
        self.detail_at: dict[int, dict] = {}
        self.parts: list[dict] = []  # message parts: {"type", "text" | "refusal"}
        self.call = ("", "", None, "")  # (call_id, name, namespace, chat name)

    def add_details(self, entries: list) -> None:
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            position = entry.get("index")
            piece = {k: copy.deepcopy(v) for k, v in entry.items() if k != "index"}
            merged = self.detail_at.get(position) if isinstance(position, int) else None
            if merged is None:
                self.details.append(piece)
                if isinstance(position, int):
                    self.detail_at[position] = piece
                continue
            for key, value in piece.items():
                if key == "text" and isinstance(value, str):
                    merged["text"] = (merged.get("text") or "") + value
                elif value is not None:
                    merged[key] = value

    def part_key(self) -> str:
        return "refusal" if self.parts[-1]["type"] == "refusal" else "text"


class ChatToResponsesStream:
    def __init__(self, *, request: dict, response_id: str, created_at: int, model: str):
        self.request = request
        self.response_id = response_id
        self.created_at = created_at
        self.model = model
        self.names = responses_tool_names(request.get("tools"))
        self.started = False
        self.ended = False
        self.finish_reason: str | None = None
        self.usage: dict | None = None
        self._seq = 0
        self._next_index = 0
        self._open: list[_Item] = []
        self._calls: dict[object, _Item] = {}
        self._done: dict[int, dict] = {}

    # -- events -----------------------------------------------------------------

    def _event(self, kind: str, **fields) -> dict:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _item_event(self, kind: str, item: _Item, **fields) -> dict:
        return self._event(kind, item_id=item.id, output_index=item.index, **fields)

    def _response(self, status: str) -> dict:
        return responses_envelope(
            self.request, response_id=self.response_id, created_at=self.created_at, model=self.model, status=status
        )

    def _start(self) -> list[dict]:
        if self.started:
            return []
        self.started = True
        return [
            self._event("response.created", response=self._response("in_progress")),
            self._event("response.in_progress", response=self._response("in_progress")),
        ]

    # -- items ------------------------------------------------------------------

    def _open_item(self, kind: str, prefix: str, added: dict, out: list[dict]) -> _Item:
        item = _Item(kind, self._next_index, responses_item_id(prefix, self.response_id, self._next_index))
        self._next_index += 1
        self._open.append(item)
        out.append(self._event("response.output_item.added", output_index=item.index, item={"id": item.id, **added}))
        return item

    def _current(self, kind: str, out: list[dict]) -> _Item:
        """The open item of ``kind`` (reasoning or message), closing what is open when it is another kind."""
        if self._open and self._open[-1].kind == kind:
            return self._open[-1]
        self._close_open(out, "completed", "completed")
        if kind == "reasoning":
            return self._open_item(kind, "rs", {"type": "reasoning", "summary": []}, out)
        added = {"type": "message", "status": "in_progress", "role": "assistant", "content": []}
        return self._open_item(kind, "msg", added, out)

    def _reasoning(self, delta: dict, out: list[dict]) -> None:
        text = delta.get("reasoning_content")
        if text is None:
            text = delta.get("reasoning")
        details = delta.get("reasoning_details")
        has_text = isinstance(text, str) and text != ""
        has_details = isinstance(details, list) and any(isinstance(d, dict) for d in details)
        if not has_text and not has_details:
            return
        item = self._current("reasoning", out)
        if has_text:
            if not item.summary_open:
                item.summary_open = True
                part = {"type": "summary_text", "text": ""}
                out.append(self._item_event("response.reasoning_summary_part.added", item, summary_index=0, part=part))
            item.texts.append(text)
            out.append(self._item_event("response.reasoning_summary_text.delta", item, summary_index=0, delta=text))
        if has_details:
            item.add_details(details)

    def _close_part(self, item: _Item, out: list[dict]) -> None:
        part = item.parts[-1]
        index = len(item.parts) - 1
        prefix = _PART_EVENTS[part["type"]]
        if part["type"] == "output_text":
            out.append(self._item_event(f"{prefix}.done", item, content_index=index, text=part["text"], logprobs=[]))
        else:
            out.append(self._item_event(f"{prefix}.done", item, content_index=index, refusal=part["refusal"]))
        out.append(self._item_event("response.content_part.done", item, content_index=index, part=copy.deepcopy(part)))

    def _text(self, kind: str, text: str, out: list[dict]) -> None:
        item = self._current("message", out)
        if not item.parts or item.parts[-1]["type"] != kind:
            if item.parts:
                self._close_part(item, out)
            if kind == "output_text":
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            else:
                part = {"type": "refusal", "refusal": ""}
            item.parts.append(part)
            added = copy.deepcopy(part)
            out.append(
                self._item_event("response.content_part.added", item, content_index=len(item.parts) - 1, part=added)
            )
        index = len(item.parts) - 1
        item.parts[-1][item.part_key()] += text
        fields = {"logprobs": []} if kind == "output_text" else {}
        out.append(self._item_event(f"{_PART_EVENTS[kind]}.delta", item, content_index=index, delta=text, **fields))

    def _tool(self, call: dict, out: list[dict]) -> None:
        position = call.get("index", 0)
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        item = self._calls.get(position)
        if item is None:
            if self._open and self._open[-1].kind not in _CALLS:
                self._close_open(out, "completed", "completed")
            chat_name = function.get("name") if isinstance(function.get("name"), str) else ""
            kind, name, namespace = call_target(self.names, chat_name)
            item_id = responses_item_id(
                "ctc" if kind == "custom_tool_call" else "fc", self.response_id, self._next_index
            )
            call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else f"call_{item_id}"
            payload = {"arguments" if kind == "function_call" else "input": ""}
            added = {"type": kind, "status": "in_progress", "call_id": call_id, "name": name, **payload}
            if namespace:
                added["namespace"] = namespace
            item = self._open_item(kind, "ctc" if kind == "custom_tool_call" else "fc", added, out)
            item.call = (call_id, name, namespace, chat_name)
            self._calls[position] = item
        if item not in self._open:
            return
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.texts.append(arguments)
            if item.kind == "function_call":
                out.append(self._item_event("response.function_call_arguments.delta", item, delta=arguments))

    def _close(self, item: _Item, status: str, out: list[dict]) -> None:
        if item.kind == "reasoning":
            text = "".join(item.texts)
            if item.summary_open:
                out.append(self._item_event("response.reasoning_summary_text.done", item, summary_index=0, text=text))
                part = {"type": "summary_text", "text": text}
                out.append(self._item_event("response.reasoning_summary_part.done", item, summary_index=0, part=part))
            final = reasoning_item(item.id, text, item.details)
        elif item.kind == "message":
            self._close_part(item, out)
            final = message_item(item.id, item.parts, status)
        else:
            call_id, name, namespace, _ = item.call
            raw = "".join(item.texts)
            if item.kind == "function_call":
                if not raw and status == "completed":
                    raw = "{}"
                    out.append(self._item_event("response.function_call_arguments.delta", item, delta=raw))
                out.append(self._item_event("response.function_call_arguments.done", item, arguments=raw, name=name))
                payload = raw
            else:
                payload = custom_input(raw)
                if payload:
                    out.append(self._item_event("response.custom_tool_call_input.delta", item, delta=payload))
                out.append(self._item_event("response.custom_tool_call_input.done", item, input=payload))
            final = call_item(
                item.kind, name, namespace, item_id=item.id, call_id=call_id, payload=payload, status=status
            )
        self._done[item.index] = final
        out.append(self._event("response.output_item.done", output_index=item.index, item=copy.deepcopy(final)))

    def _close_open(self, out: list[dict], status: str, last_status: str) -> None:
        """Close the open items in order: ``status`` for each, ``last_status`` for the last one."""
        items, self._open = self._open, []
        for position, item in enumerate(items):
            self._close(item, last_status if position == len(items) - 1 else status, out)

    # -- the public interface ---------------------------------------------------

    def feed(self, chunk: dict) -> list[dict]:
        """The events for one ``chat.completion.chunk``."""
        if self.ended:
            return []
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            self._reasoning(delta, out)
            for kind, key in (("output_text", "content"), ("refusal", "refusal")):
                if isinstance(delta.get(key), str) and delta[key]:
                    self._text(kind, delta[key], out)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._tool(call, out)
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
        return out

    def _final(self, status: str) -> dict:
        response = self._response(status)
        response["output"] = [copy.deepcopy(self._done[i]) for i in sorted(self._done)]
        response["usage"] = openai_usage_to_responses(self.usage)
        return response

    def close(self) -> list[dict]:
        """After a normal end: close the open items, then ``response.completed`` or ``response.incomplete``."""
        if self.ended:
            return []
        out = self._start()
        finish = self.finish_reason
        cut = any(i.kind == "function_call" and not is_complete_json("".join(i.texts) or "{}") for i in self._open)
        if finish is None and cut:
            finish = "length"
        status, incomplete = responses_status(finish)
        self._close_open(out, "completed", status)
        self.ended = True
        response = self._final(status)
        response["incomplete_details"] = incomplete
        out.append(self._event(f"response.{status}", response=response))
        return out

    def fail(self, code: str, message: str) -> list[dict]:
        """After a broken stream: close the open items as they stand, then ``response.failed``."""
        if self.ended:
            return []
        out = self._start()
        self._close_open(out, "incomplete", "incomplete")
        self.ended = True
        response = self._final("failed")
        response["error"] = {"code": code, "message": message}
        out.append(self._event("response.failed", response=response))
        return out
