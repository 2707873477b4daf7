"""Agents chat: the tool loop run inside the gateway.

An OpenAI chat request plus server-side tools. Each step is one model call —
a real gateway call (its own :class:`Call`, through ``gateway.serve`` and
``gateway.finish``: admitted, metered, billed and logged like any other, with
its own usage row; a streamed step's events are read as the gateway yields
them). When the model calls server tools, the gateway runs them,
appends the assistant message and one ``tool`` message per result, and calls
the model again, until:

* the model answers without calling a tool (``stop_reason: final_answer``);
* the model calls a tool that is not a server tool: the loop stops and the
  call goes back to the client as usual (``client_tool_calls``; server tools
  called in the same turn are run, and their results are in ``steps``);
* ``max_steps`` model calls were made and the last one still asked for server
  tools (``max_steps``): those calls are not run, ``finish_reason`` is
  ``length``.

``tool_choice`` applies to the first step only (later steps use ``auto``), so
a forced tool cannot loop to the limit. Without streaming the answer is a
``chat.completion`` plus ``steps`` and ``agent``; with streaming, the content
of every step streams as ``chat.completion.chunk`` deltas as it comes, and the
steps as extra chunks with no choices and an ``agent_event`` field (see the
README, "Agents chat"), yielded as events for the API to write. The usage
reported is the sum over the steps.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator

from lumyx import money
from lumyx.accounts.keys import KeyContext
from lumyx.agents.options import AgentOptions
from lumyx.agents.tools import ToolError
from lumyx.catalog.snapshot import ModelInfo
from lumyx.errors import ApiError
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call, new_call
from lumyx.gateway.streams import DONE
from lumyx.providers.base import CHAT

log = logging.getLogger("lumyx.agents")

MAX_TOOL_CALLS_PER_STEP = 16
MAX_RESULT_CHARS = 48_000


class _StreamFailed(Exception):
    """A step's stream ended with an error event (forwarded to the client as is)."""

    def __init__(self, event: dict):
        super().__init__("step stream failed")
        self.event = event


def _name(tool_call: dict) -> str:
    fn = tool_call.get("function")
    return fn.get("name", "") if isinstance(fn, dict) else ""


def _listed(tool_call: dict, status: str) -> dict:
    """A tool call the loop did not run, as ``steps`` lists it."""
    return {
        "id": tool_call["id"],
        "name": _name(tool_call),
        "status": status,
        "arguments": (tool_call.get("function") or {}).get("arguments"),
    }


def _step_usage(call: Call) -> dict:
    u = call.usage
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
    }


class AgentRun:
    """One agents request: its steps, each a billed gateway call."""

    def __init__(
        self,
        *,
        key: KeyContext,
        model: ModelInfo,
        body: dict,
        options: AgentOptions,
        stream: bool,
        free_daily_limit: int,
        keys,
    ):
        self.key, self.model, self.options, self.stream = key, model, options, stream
        self.free_daily_limit, self.keys = free_daily_limit, keys
        self.id = "chatcmpl-" + uuid.uuid4().hex
        self.created = int(time.time())
        self.messages = list(body["messages"])
        self.base = {k: v for k, v in body.items() if k not in ("messages", "tools", "tool_choice", "stream")}
        self.client_tools = list(body.get("tools") or ())
        self.tool_choice = body.get("tool_choice")
        self.calls: list[Call] = []
        self.steps: list[dict] = []
        self._pending: tuple[Call, Iterator] | None = None

    # -- one model call ------------------------------------------------------

    def _body(self, number: int) -> dict:
        body = {**self.base, "messages": list(self.messages), "stream": self.stream}
        tools = [tool.definition for tool in self.options.tools.values()] + self.client_tools
        if tools:
            body["tools"] = tools
            if self.tool_choice is not None and (number == 1 or self.tool_choice in ("auto", "none")):
                body["tool_choice"] = self.tool_choice
        return body

    def _new_call(self, number: int) -> Call:
        call = new_call(self.key, self.model, CHAT, "openai", self._body(number), stream=self.stream)
        self.calls.append(call)
        return call

    def _serve(self, call: Call):
        try:
            return gateway.serve(call, self.free_daily_limit)
        except BaseException as error:
            if isinstance(error, ApiError):
                error.headers["x-request-id"] = call.request_id
            gateway.finish(call, self.keys)
            raise

    def close(self) -> None:
        """Settles any call still open (the client went away before or during the stream)."""
        if self._pending is not None:
            self._pending[1].close()
            self._pending = None
        for call in self.calls:
            gateway.finish(call, self.keys)

    def _whole_step(self, number: int):
        call = self._new_call(number)
        result = self._serve(call)
        gateway.finish(call, self.keys)
        choices = result.get("choices") or [{}]
        yield from ()
        return call, dict(choices[0].get("message") or {}), choices[0].get("finish_reason")

    def _streamed_step(self, number: int):
        if self._pending is not None:
            (call, events), self._pending = self._pending, None
        else:
            call = self._new_call(number)
            events = self._serve(call)
        content: list[str] = []
        reasoning: list[str] = []
        details: list = []
        calls: dict[int, dict] = {}
        finish = failed = None
        try:
            for chunk in events:
                if chunk is DONE:
                    continue
                if isinstance(chunk.get("error"), dict) and not chunk.get("choices"):
                    failed = chunk
                    break
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    out = {}
                    for name, sink in (("content", content), ("reasoning_content", reasoning)):
                        if isinstance(delta.get(name), str) and delta[name]:
                            sink.append(delta[name])
                            out[name] = delta[name]
                    if isinstance(delta.get("reasoning_details"), list):
                        details.extend(delta["reasoning_details"])
                        out["reasoning_details"] = delta["reasoning_details"]
                    for part in delta.get("tool_calls") or ():
                        entry = calls.setdefault(
                            part.get("index", 0),
                            {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                        )
                        entry["id"] = part.get("id") or entry["id"]
                        fn = part.get("function") or {}
                        entry["function"]["name"] += fn.get("name") or ""
                        entry["function"]["arguments"] += fn.get("arguments") or ""
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                    if out:
                        yield "delta", out
        finally:
            events.close()  # mid-way (the client went away): the gateway marks the call partial
            gateway.finish(call, self.keys)
        if failed is not None:
            raise _StreamFailed(failed)
        message: dict = {"role": "assistant", "content": "".join(content) if content else None}
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if details:
            message["reasoning_details"] = details
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]
        return call, message, finish

    # -- tools -----------------------------------------------------------------

    def _run_tool(self, number: int, tool_call: dict, allowed: bool):
        name, arguments = _name(tool_call), (tool_call.get("function") or {}).get("arguments") or "{}"
        yield (
            "event",
            {"type": "tool_call", "step": number, "id": tool_call["id"], "name": name, "arguments": arguments},
        )
        started = time.perf_counter()
        status = "error"
        try:
            if not allowed:
                raise ToolError(f"too many tool calls in one step (at most {MAX_TOOL_CALLS_PER_STEP})")
            try:
                parsed = json.loads(arguments)
            except ValueError:
                raise ToolError("the arguments are not valid JSON") from None
            if not isinstance(parsed, dict):
                raise ToolError("the arguments must be a JSON object")
            result = json.dumps(self.options.tools[name].run(parsed), ensure_ascii=False)
            status = "ok"
        except ToolError as error:
            result = json.dumps({"error": str(error)}, ensure_ascii=False)
        except Exception:
            log.exception("server tool %s failed", name)
            result = json.dumps({"error": "the tool failed"})
        if len(result) > MAX_RESULT_CHARS:  # still JSON, so the model (and the client) can read it
            result = json.dumps({"truncated": True, "partial_result": result[: MAX_RESULT_CHARS - 100]})
        entry = {
            "id": tool_call["id"],
            "name": name,
            "arguments": arguments,
            "status": status,
            "result": result,
            "duration_ms": int((time.perf_counter() - started) * 1000),
        }
        yield "event", {"type": "tool_result", "step": number, **{k: v for k, v in entry.items() if k != "arguments"}}
        return entry

    # -- the loop --------------------------------------------------------------

    def _loop(self):
        """Yields ("delta", delta) and ("event", agent_event); returns (message, finish_reason, stop_reason)."""
        take_step = self._streamed_step if self.stream else self._whole_step
        for number in range(1, self.options.max_steps + 1):
            call, message, finish = yield from take_step(number)
            tool_calls = [tc for tc in message.get("tool_calls") or () if isinstance(tc, dict)]
            for tc in tool_calls:
                tc["id"] = tc.get("id") or "call_" + uuid.uuid4().hex[:24]
            server = [tc for tc in tool_calls if _name(tc) in self.options.tools]
            client = [tc for tc in tool_calls if _name(tc) not in self.options.tools]
            step = {
                "step": number,
                "request_id": call.request_id,
                "finish_reason": finish,
                "content": message.get("content"),
                "usage": _step_usage(call),
                "duration_ms": call.latency_ms,
                "tool_calls": [],
            }
            self.steps.append(step)
            if not server:
                step["tool_calls"] += [_listed(tc, "client") for tc in client]
                yield "event", {"type": "step", **step}
                return (
                    message,
                    ("tool_calls" if client else finish or "stop"),
                    ("client_tool_calls" if client else "final_answer"),
                )
            if number == self.options.max_steps:
                step["tool_calls"] += [_listed(tc, "not_run") for tc in tool_calls]
                yield "event", {"type": "step", **step}
                return {**message, "tool_calls": None}, "length", "max_steps"
            results = []
            for i, tc in enumerate(server):
                entry = yield from self._run_tool(number, tc, i < MAX_TOOL_CALLS_PER_STEP)
                step["tool_calls"].append(entry)
                results.append({"role": "tool", "tool_call_id": tc["id"], "content": entry["result"]})
            step["tool_calls"] += [_listed(tc, "client") for tc in client]
            yield "event", {"type": "step", **step}
            if client:
                return {**message, "tool_calls": client}, "tool_calls", "client_tool_calls"
            assistant = {
                key: message[key]
                for key in ("role", "content", "reasoning_content", "reasoning_details")
                if message.get(key) is not None
            }
            self.messages += [{**assistant, "role": "assistant", "tool_calls": server}, *results]
        raise AssertionError("unreachable: the last step returns")

    # -- answers -----------------------------------------------------------------

    def usage(self) -> dict:
        prompt = sum(c.usage.input_tokens for c in self.calls)
        completion = sum(c.usage.output_tokens for c in self.calls)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": sum(c.usage.cached_tokens for c in self.calls)},
            "completion_tokens_details": {"reasoning_tokens": sum(c.usage.reasoning_tokens for c in self.calls)},
            "cost": money.micro_to_usd(sum(c.cost for c in self.calls)),  # USD: every step's charge
        }

    def _summary(self, stop_reason: str) -> dict:
        return {
            "stop_reason": stop_reason,
            "steps": len(self.steps),
            "max_steps": self.options.max_steps,
            "server_tools": list(self.options.tools),
        }

    def _final_message(self, message: dict) -> dict:
        out = {"role": "assistant", "content": message.get("content")}
        if message.get("reasoning_content"):
            out["reasoning_content"] = message["reasoning_content"]
        if message.get("tool_calls"):
            out["tool_calls"] = [
                {
                    "id": tc["id"],
                    "type": "function",
                    "function": {"name": _name(tc), "arguments": tc["function"].get("arguments", "")},
                }
                for tc in message["tool_calls"]
            ]
        return out

    @property
    def request_id(self) -> str:
        return self.calls[0].request_id if self.calls else ""

    def complete(self) -> dict:
        """The whole loop, without streaming: a chat.completion with ``steps`` and ``agent``."""
        loop = self._loop()
        try:
            while True:
                next(loop)
        except StopIteration as done:
            message, finish, stop_reason = done.value
        finally:
            self.close()
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model.id,
            "choices": [
                {"index": 0, "message": self._final_message(message), "finish_reason": finish, "logprobs": None}
            ],
            "usage": self.usage(),
            "steps": self.steps,
            "agent": self._summary(stop_reason),
        }

    def _chunk(self, delta: dict | None = None, finish: str | None = None, **extra) -> dict:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model.id}
        chunk["choices"] = (
            [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        )
        return {**chunk, **extra}

    def start_stream(self) -> Iterator:
        """Makes the first model call now (its errors are the response's), then streams the rest:
        ``chat.completion.chunk`` dicts, then DONE."""
        call = self._new_call(1)
        self._pending = (call, self._serve(call))
        return self._events()

    def _events(self) -> Iterator:
        loop = self._loop()
        try:
            yield self._chunk({"role": "assistant", "content": ""})
            try:
                while True:
                    kind, payload = next(loop)
                    if kind == "delta":
                        yield self._chunk(payload)
                    else:
                        yield self._chunk(agent_event=payload)
            except StopIteration as done:
                message, finish, stop_reason = done.value
            final = self._final_message(message)
            if final.get("tool_calls"):
                yield self._chunk({"tool_calls": [{"index": i, **tc} for i, tc in enumerate(final["tool_calls"])]})
            yield self._chunk({}, finish)
            yield self._chunk(usage=self.usage(), agent=self._summary(stop_reason))
            yield DONE
        except ApiError as error:
            yield error.openai_body()
            yield DONE
        except _StreamFailed as failed:
            yield failed.event
            yield DONE
        except Exception:
            log.exception("agent run %s failed", self.id)
            yield ApiError(500, "internal_error", "Internal server error.").openai_body()
            yield DONE
        finally:
            loop.close()
            self.close()
