"""OpenAI ``chat.completion.chunk`` objects -> Anthropic Messages SSE events.

Event sequence produced by :class:`OpenAIToAnthropicStream`:

* ``message_start`` once (id ``msg_`` + the OpenAI id suffix, ``content: []``,
  ``usage.input_tokens`` = the estimate given to the constructor unless the
  first chunk reports usage, ``output_tokens: 0``), immediately followed by a
  ``ping``.
* Content blocks with contiguous indices 0, 1, 2..., one open at a time:

  - ``reasoning_content`` (or ``reasoning``) -> a ``thinking`` block
    (``content_block_start`` with ``{"type": "thinking", "thinking": "",
    "signature": ""}``, then ``thinking_delta``).
  - ``reasoning_details``: ``reasoning.text`` text is used only when the same
    delta has no ``reasoning_content``; a ``signature`` emits a
    ``signature_delta`` and ends the thinking block (a signature with no open
    thinking block opens an empty one). ``reasoning.encrypted`` -> a complete
    ``redacted_thinking`` block. ``reasoning.summary`` text is read as thinking.
  - ``content`` (and ``refusal``) -> a ``text`` block (``text_delta``).
  - each tool call index -> its own ``tool_use`` block (start with ``id``,
    ``name`` and ``input: {}``; argument fragments -> ``input_json_delta``).
    A tool call delta whose ``id`` differs from that of the call already seen
    at its ``index`` starts a new tool call (some servers send every call with
    index 0).

  Switching kind closes the open block first. Role-only chunks and empty
  strings emit nothing, so there is never an empty text block.
* Parallel tool calls: a new tool call closes the open tool block when that
  call's arguments already form complete JSON (the usual, sequential case) and
  streams its own arguments live. If the open call's arguments are still
  incomplete, the upstream is interleaving fragments of several calls: the
  new call (and every later one) is buffered and emitted as one complete block
  (start, one ``input_json_delta``, stop) when the open block closes. Argument
  fragments for a tool call whose block was already closed are dropped.
* ``finish_reason`` is remembered (:mod:`lumyx.translate.stop_reasons`);
  ``stop`` with tool calls gives ``tool_use``, ``stop`` after a refusal gives
  ``refusal``. A usage chunk is remembered. ``message_delta`` (``stop_reason``,
  ``stop_sequence: null``, ``usage.output_tokens`` and, when upstream usage is
  known, ``input_tokens`` / cache counts) and ``message_stop`` are emitted as
  soon as both finish reason and usage are known, or on :meth:`close`.
* Without a ``finish_reason`` (a truncated stream), :meth:`close` uses
  ``max_tokens`` when a tool call's arguments are not complete JSON (empty
  arguments count as ``{}``): the output was cut off, as when Anthropic stops
  at ``max_tokens`` inside a tool call, and a client must not run that call.
  Otherwise it uses ``tool_use`` if any tool call was seen, else ``end_turn``.
* A chunk carrying an ``error`` object emits nothing: the error is stored in
  :attr:`OpenAIToAnthropicStream.error`, the stream is finished and
  :meth:`close` then emits nothing, so that the gateway reports it. This holds
  with or without ``choices``: OpenRouter reports a mid-stream failure as an
  ``error`` next to a choice with ``finish_reason: "error"``. A
  ``finish_reason`` of ``error`` without an ``error`` object is handled the
  same way, with a generic ``server_error``; it is never a normal ``end_turn``.
"""

from __future__ import annotations

from lumyx.translate.ids import anthropic_id_from_openai, tool_use_id
from lumyx.translate.stop_reasons import openai_finish_to_anthropic
from lumyx.translate.tools import is_complete_json
from lumyx.translate.usage import read_openai_usage, token_count

_PENDING, _OPEN, _CLOSED = 0, 1, 2


class _ToolCall:
    __slots__ = ("id", "upstream_id", "name", "args", "state")

    def __init__(self, upstream_id: object, name: str):
        self.id = tool_use_id(upstream_id)
        self.upstream_id = upstream_id
        self.name = name
        self.args: list[str] = []
        self.state = _PENDING

    def arguments_complete(self) -> bool:
        text = "".join(self.args)
        return text.strip() == "" or is_complete_json(text)


class OpenAIToAnthropicStream:
    """Translate one OpenAI chunk stream into Anthropic SSE events; see the module documentation."""

    def __init__(self, *, model: str, input_tokens: int = 0):
        self.model = model
        self.input_tokens = input_tokens
        self.id: str | None = None
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0, "cached_tokens": 0}
        self.finished = False
        self.error: dict | None = None
        self._started = False
        self._usage_seen = False
        self._reasoning_known = False
        self._cache_write = 0
        self._cache_write_1h = 0
        self._next_index = 0
        self._open: str | None = None
        self._open_index = -1
        self._open_tool: _ToolCall | None = None
        self._tools: dict[int, _ToolCall] = {}  # upstream index -> latest call at that index
        self._tools_seen: list[_ToolCall] = []
        self._pending: list[_ToolCall] = []
        self._last_tool_index = -1
        self._stop_reason: str | None = None
        self._refusal = False

    # -- public -----------------------------------------------------------

    def feed(self, chunk: dict) -> list[dict]:
        """Translate one decoded OpenAI chunk; returns 0..n Anthropic event payloads."""
        if self.finished:
            return []
        choices = chunk.get("choices")
        error = chunk.get("error")
        if error is None and choices and isinstance(choices[0], dict) and choices[0].get("finish_reason") == "error":
            error = {"type": "server_error", "message": "the upstream model stopped with an error"}
        if error is not None:
            self.error = error if isinstance(error, dict) else {"message": str(error)}
            self.finished = True
            return []
        out = [] if self._started else self._start(chunk)
        usage = chunk.get("usage")
        if usage:
            self._record_usage(usage)
        if choices:
            choice = choices[0]
            if choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if delta:
                    self._delta(delta, out)
                finish = choice.get("finish_reason")
                if finish:
                    self._stop_reason = openai_finish_to_anthropic(finish)
        if self._stop_reason is not None and self._usage_seen:
            self._finish(out)
        return out

    def close(self) -> list[dict]:
        """The upstream stream ended (with or without ``[DONE]``).

        Closes open blocks and emits ``message_delta`` and ``message_stop`` if
        not yet emitted. Idempotent; returns ``[]`` when already finished.
        """
        if self.finished:
            return []
        out = [] if self._started else self._start({})
        self._finish(out)
        return out

    # -- message level ----------------------------------------------------

    def _start(self, chunk: dict) -> list[dict]:
        self._started = True
        self.id = anthropic_id_from_openai(chunk.get("id"))
        input_tokens = self.input_tokens
        usage = chunk.get("usage")
        cached = 0
        if usage:
            prompt, _, cached, write, _ = read_openai_usage(usage)
            if prompt:
                input_tokens = max(prompt - cached - write, 0)
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cached,
                "output_tokens": 0,
            },
        }
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def _record_usage(self, usage: dict) -> None:
        prompt, completion, cached, write, reasoning = read_openai_usage(usage)
        u = self.usage
        u["prompt_tokens"] = prompt
        u["completion_tokens"] = completion
        u["cached_tokens"] = cached
        if reasoning is not None:
            u["reasoning_tokens"] = reasoning
            self._reasoning_known = True
        self._cache_write = write
        details = usage.get("prompt_tokens_details")
        self._cache_write_1h = token_count(details.get("cache_write_1h_tokens")) if isinstance(details, dict) else 0
        self._usage_seen = True

    def _finish(self, out: list[dict]) -> None:
        self._flush_tools(out)
        stop = self._stop_reason
        if stop is None:
            if any(not call.arguments_complete() for call in self._tools_seen):
                stop = "max_tokens"
            else:
                stop = "tool_use" if self._tools_seen else "end_turn"
        elif stop == "end_turn" and self._tools_seen:
            stop = "tool_use"
        elif stop == "end_turn" and self._refusal:
            stop = "refusal"
        u = self.usage
        usage: dict = {"output_tokens": u["completion_tokens"]}
        if self._usage_seen:
            usage["input_tokens"] = max(u["prompt_tokens"] - u["cached_tokens"] - self._cache_write, 0)
            usage["cache_read_input_tokens"] = u["cached_tokens"]
            usage["cache_creation_input_tokens"] = self._cache_write
            if self._cache_write_1h:
                one_hour = min(self._cache_write_1h, self._cache_write)
                usage["cache_creation"] = {
                    "ephemeral_5m_input_tokens": self._cache_write - one_hour,
                    "ephemeral_1h_input_tokens": one_hour,
                }
            if self._reasoning_known:
                usage["output_tokens_details"] = {"thinking_tokens": u["reasoning_tokens"]}
        out.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage})
        out.append({"type": "message_stop"})
        self.finished = True

    # -- content blocks ---------------------------------------------------

    def _open_block(self, kind: str, content_block: dict, out: list[dict]) -> None:
        index = self._next_index
        self._next_index += 1
        out.append({"type": "content_block_start", "index": index, "content_block": content_block})
        self._open = kind
        self._open_index = index

    def _close_open(self, out: list[dict]) -> None:
        if self._open is None:
            return
        out.append({"type": "content_block_stop", "index": self._open_index})
        if self._open_tool is not None:
            self._open_tool.state = _CLOSED
            self._open_tool = None
        self._open = None

    def _flush_tools(self, out: list[dict]) -> None:
        self._close_open(out)
        for call in self._pending:
            index = self._next_index
            self._next_index += 1
            out.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                }
            )
            if call.args:
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": "".join(call.args)},
                    }
                )
            out.append({"type": "content_block_stop", "index": index})
            call.state = _CLOSED
        self._pending = []

    def _delta(self, delta: dict, out: list[dict]) -> None:
        reasoning = delta.get("reasoning_content")
        if reasoning is None:
            reasoning = delta.get("reasoning")
        if reasoning:
            self._thinking(reasoning, out)
        details = delta.get("reasoning_details")
        if details:
            self._details(details, bool(reasoning), out)
        content = delta.get("content")
        if content:
            self._text(content, out)
        refusal = delta.get("refusal")
        if refusal:
            self._refusal = True
            self._text(refusal, out)
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            self._tool_calls(tool_calls, out)

    def _open_thinking(self, out: list[dict]) -> None:
        """Make sure a thinking block is the open one."""
        if self._open != "thinking":
            self._flush_tools(out)
            self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}, out)

    def _thinking(self, text: str, out: list[dict]) -> None:
        self._open_thinking(out)
        out.append(
            {
                "type": "content_block_delta",
                "index": self._open_index,
                "delta": {"type": "thinking_delta", "thinking": text},
            }
        )

    def _text(self, text: str, out: list[dict]) -> None:
        if self._open != "text":
            self._flush_tools(out)
            self._open_block("text", {"type": "text", "text": ""}, out)
        out.append(
            {"type": "content_block_delta", "index": self._open_index, "delta": {"type": "text_delta", "text": text}}
        )

    def _details(self, details: list, has_reasoning_text: bool, out: list[dict]) -> None:
        for detail in details:
            if not isinstance(detail, dict):
                continue
            kind = detail.get("type")
            if kind == "reasoning.text":
                text = detail.get("text")
                if text and not has_reasoning_text:
                    self._thinking(text, out)
                signature = detail.get("signature")
                if signature:
                    self._open_thinking(out)
                    out.append(
                        {
                            "type": "content_block_delta",
                            "index": self._open_index,
                            "delta": {"type": "signature_delta", "signature": signature},
                        }
                    )
                    self._close_open(out)
            elif kind == "reasoning.encrypted":
                data = detail.get("data")
                if data:
                    self._flush_tools(out)
                    self._open_block("redacted_thinking", {"type": "redacted_thinking", "data": data}, out)
                    self._close_open(out)
            elif kind == "reasoning.summary":
                summary = detail.get("summary")
                if summary and not has_reasoning_text:
                    self._thinking(summary, out)

    def _tool_calls(self, tool_calls: list, out: list[dict]) -> None:
        for tc in tool_calls:
            index = tc.get("index")
            if index is None:
                index = (
                    self._last_tool_index + 1 if tc.get("id") or self._last_tool_index < 0 else self._last_tool_index
                )
            self._last_tool_index = index
            function = tc.get("function") or {}
            call = self._tools.get(index)
            call_id = tc.get("id")
            if call is None or (call_id and call.upstream_id and call_id != call.upstream_id):
                call = self._tools[index] = _ToolCall(call_id, function.get("name") or "")
                self._tools_seen.append(call)
                self._new_tool(call, out)
            arguments = function.get("arguments")
            if not arguments:
                continue
            if call.state == _OPEN:
                call.args.append(arguments)
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": self._open_index,
                        "delta": {"type": "input_json_delta", "partial_json": arguments},
                    }
                )
            elif call.state == _PENDING:
                call.args.append(arguments)

    def _new_tool(self, call: _ToolCall, out: list[dict]) -> None:
        if self._pending:
            self._pending.append(call)
            return
        current = self._open_tool
        if current is not None and not is_complete_json("".join(current.args)):
            self._pending.append(call)
            return
        self._close_open(out)
        self._open_block("tool", {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, out)
        call.state = _OPEN
        self._open_tool = call
