"""Stream shapers: the upstream's decoded events in, the client's events out,
for each pair of wire formats (picked by :mod:`lumyx.gateway.formats`).

A shaper is fed every upstream event, then told how the upstream stream ended:
``end()`` after its terminal event, ``fail(error)`` when it broke (or stopped
without its terminal event). Each returns the client's events: dicts in the
client's format, and for OpenAI clients ``DONE`` last
(:data:`lumyx.providers.sse.DONE`, their ``data: [DONE]``). Either way the
client gets a well-formed ending: OpenAI clients an error chunk before
``DONE`` when it broke, Anthropic clients ``message_stop`` or an ``error``
event, Responses clients ``response.completed`` (or ``response.incomplete``)
or ``response.failed``. The API writes the events as SSE; the agents loop reads them as they
are.

Shapers write the call's :class:`~lumyx.gateway.meter.Meter` as they read.
"""

from __future__ import annotations

from typing import Protocol

from lumyx.errors import ApiError
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway import passthrough_responses as responses_relay
from lumyx.gateway import tokens
from lumyx.gateway.call import CallInput
from lumyx.gateway.meter import Meter
from lumyx.providers.sse import DONE
from lumyx.providers.streaming import StreamBroken
from lumyx.translate import (
    AnthropicToOpenAIStream,
    ChatToResponsesStream,
    OpenAIToAnthropicStream,
    ResponsesToChatStream,
)


class Shaper(Protocol):
    ended: bool  # the upstream's terminal event came

    def feed(self, event: dict) -> list: ...

    def end(self) -> list: ...

    def fail(self, error: ApiError) -> list: ...


def _openai_error(error: ApiError) -> list:
    return [error.openai_body(), DONE]


def _anthropic_error(error: ApiError) -> list:
    return [error.anthropic_body()]


def _read_openai(shaper, event: dict) -> dict:
    """An OpenAI-format upstream chunk, read for metering; a finish reason ends the stream."""
    chunk = openai_relay.chunk(shaper.call, shaper.meter, event)
    if any(choice.get("finish_reason") for choice in chunk.get("choices") or ()):
        shaper.ended = True
    return chunk


class OpenAIToOpenAI:
    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.include_usage = call.include_usage
        self.ended = False

    def feed(self, event: dict) -> list:
        chunk = _read_openai(self, event)
        if "usage" in chunk and not self.include_usage:
            del chunk["usage"]
            if not chunk.get("choices"):
                return []
        return [chunk]

    def end(self) -> list:
        return [DONE]

    fail = staticmethod(_openai_error)


class AnthropicToAnthropic:
    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.ended = False

    def feed(self, event: dict) -> list:
        if event.get("type") == "message_stop":
            self.ended = True
        return [anthropic_relay.event(self.call, self.meter, event)]

    def end(self) -> list:
        return []

    fail = staticmethod(_anthropic_error)


class OpenAIToAnthropic:
    """An OpenAI-format upstream answering an Anthropic client."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.translator = OpenAIToAnthropicStream(model=call.model.id, input_tokens=tokens.estimate_input(call.body))
        self.ended = False

    def feed(self, event: dict) -> list:
        return self.translator.feed(_read_openai(self, event))

    def end(self) -> list:
        return self.translator.close()

    fail = staticmethod(_anthropic_error)


class AnthropicToOpenAI:
    """An Anthropic-format upstream answering an OpenAI client."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.translator = AnthropicToOpenAIStream(model=call.model.id, include_usage=call.include_usage)
        self.ended = False

    def feed(self, event: dict) -> list:
        if event.get("type") == "message_stop":
            self.ended = True
        return self.translator.feed(anthropic_relay.event(self.call, self.meter, event))

    def end(self) -> list:
        return [*self.translator.close(), DONE]

    fail = staticmethod(_openai_error)


class _ResponsesAsChat:
    """A Responses-format upstream's events as metered OpenAI chunks: the usage
    chunk of ``response.completed`` is always read (and metered); a failure
    event breaks the stream."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.translator = ResponsesToChatStream(model=call.model.id)

    @property
    def ended(self) -> bool:
        return self.translator.ended

    def chunks(self, event: dict) -> list:
        out = [openai_relay.chunk(self.call, self.meter, chunk) for chunk in self.translator.feed(event)]
        if self.translator.failure is not None:
            raise StreamBroken("upstream_error", f"upstream sent an error event: {self.translator.failure}")
        return out


class ResponsesToOpenAI(_ResponsesAsChat):
    """A Responses-format upstream answering an OpenAI chat client."""

    def feed(self, event: dict) -> list:
        out = []
        for chunk in self.chunks(event):
            if "usage" in chunk and not self.call.include_usage:
                del chunk["usage"]
                if not chunk.get("choices"):
                    continue
            out.append(chunk)
        return out

    def end(self) -> list:
        return [DONE]

    fail = staticmethod(_openai_error)


class ResponsesToAnthropic(_ResponsesAsChat):
    """A Responses-format upstream answering an Anthropic client: its chunks go on
    through the OpenAI → Anthropic stream translator."""

    def __init__(self, call: CallInput, meter: Meter):
        super().__init__(call, meter)
        self.anthropic = OpenAIToAnthropicStream(model=call.model.id, input_tokens=tokens.estimate_input(call.body))

    def feed(self, event: dict) -> list:
        return [out for chunk in self.chunks(event) for out in self.anthropic.feed(chunk)]

    def end(self) -> list:
        return self.anthropic.close()

    fail = staticmethod(_anthropic_error)


# -- Responses clients ------------------------------------------------------------
# A Responses stream ends with its own terminal event, never [DONE]: a broken
# one with ``response.failed`` (code ``server_error``, which Codex retries; a
# rate limit keeps ``rate_limit_exceeded``).


def _responses_code(error: ApiError) -> str:
    return "rate_limit_exceeded" if error.code == "rate_limit_exceeded" else "server_error"


def _responses_stream(call: CallInput) -> ChatToResponsesStream:
    return ChatToResponsesStream(
        request=call.body,
        response_id=responses_relay.response_id(call),
        created_at=responses_relay.created_at(call),
        model=call.model.id,
    )


class ChatToResponses:
    """An OpenAI chat upstream answering a Responses client."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.translator = _responses_stream(call)
        self.ended = False

    def feed(self, event: dict) -> list:
        return self.translator.feed(_read_openai(self, event))

    def end(self) -> list:
        return self.translator.close()

    def fail(self, error: ApiError) -> list:
        return self.translator.fail(_responses_code(error), error.message)


class MessagesToResponses:
    """An Anthropic upstream answering a Responses client, through the chat pair."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.chat = AnthropicToOpenAIStream(model=call.model.id, include_usage=True)
        self.translator = _responses_stream(call)
        self.ended = False

    def _through(self, chunks: list) -> list:
        return [out for chunk in chunks for out in self.translator.feed(chunk)]

    def feed(self, event: dict) -> list:
        if event.get("type") == "message_stop":
            self.ended = True
        return self._through(self.chat.feed(anthropic_relay.event(self.call, self.meter, event)))

    def end(self) -> list:
        return [*self._through(self.chat.close()), *self.translator.close()]

    def fail(self, error: ApiError) -> list:
        return self.translator.fail(_responses_code(error), error.message)


class ResponsesToResponses:
    """A Responses upstream's stream passed through (restamped, metered). Its
    ``response.failed`` or ``error`` event breaks the stream; the client gets the
    upstream's own ``response.failed``, or one the gateway writes."""

    def __init__(self, call: CallInput, meter: Meter):
        self.call, self.meter = call, meter
        self.ended = False
        self.sequence = -1
        self.opening: dict | None = None  # the response of response.created
        self.done: dict[int, dict] = {}  # output index -> finished item
        self.failed: dict | None = None

    def feed(self, event: dict) -> list:
        kind = event.get("type")
        if kind == "error":
            raise StreamBroken("upstream_error", f"upstream sent an error event: {event.get('message')}")
        event = responses_relay.event(self.call, self.meter, event)
        if isinstance(event.get("sequence_number"), int):
            self.sequence = event["sequence_number"]
        if kind == "response.created" and isinstance(event.get("response"), dict):
            self.opening = event["response"]
        elif kind == "response.output_item.done" and isinstance(event.get("output_index"), int):
            self.done[event["output_index"]] = event.get("item")
        elif kind == "response.failed":
            self.failed = event
            error = (event.get("response") or {}).get("error") or {}
            raise StreamBroken("upstream_error", f"upstream response failed: {error.get('message')}")
        self.ended = self.ended or kind in responses_relay.TERMINAL
        return [event]

    def end(self) -> list:
        return []

    def fail(self, error: ApiError) -> list:
        if self.failed is not None:
            return [self.failed]
        response = dict(self.opening or {"object": "response", "created_at": responses_relay.created_at(self.call)})
        responses_relay.restamp(self.call, response)
        response.update(
            status="failed",
            error={"code": _responses_code(error), "message": error.message},
            output=[self.done[index] for index in sorted(self.done)],
        )
        self.sequence += 1
        return [{"type": "response.failed", "sequence_number": self.sequence, "response": response}]


class WithoutReasoning:
    """An OpenAI client's shaper whose chunks lose their reasoning (``reasoning.exclude``)."""

    def __init__(self, shaper: Shaper):
        self.shaper = shaper

    @property
    def ended(self) -> bool:
        return self.shaper.ended

    def feed(self, event: dict) -> list:
        return [_stripped(chunk) for chunk in self.shaper.feed(event)]

    def end(self) -> list:
        return [_stripped(chunk) for chunk in self.shaper.end()]

    def fail(self, error: ApiError) -> list:
        return self.shaper.fail(error)


def _stripped(chunk):
    return chunk if chunk is DONE else openai_relay.without_reasoning(chunk)
