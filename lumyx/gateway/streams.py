"""Stream shapers: the upstream's decoded events in, the client's events out,
for each pair of wire formats (picked by :mod:`lumyx.gateway.formats`).

A shaper is fed every upstream event, then told how the upstream stream ended:
``end()`` after its terminal event, ``fail(error)`` when it broke (or stopped
without its terminal event). Each returns the client's events: dicts in the
client's format, and for OpenAI clients ``DONE`` last
(:data:`lumyx.providers.sse.DONE`, their ``data: [DONE]``). Either way the
client gets a well-formed ending: OpenAI clients an error chunk before
``DONE`` when it broke, Anthropic clients ``message_stop`` or an ``error``
event. The API writes the events as SSE; the agents loop reads them as they
are.

Shapers write the call's :class:`~lumyx.gateway.meter.Meter` as they read.
"""

from __future__ import annotations

from typing import Protocol

from lumyx.errors import ApiError
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway import tokens
from lumyx.gateway.call import CallInput
from lumyx.gateway.meter import Meter
from lumyx.providers.sse import DONE
from lumyx.providers.streaming import StreamBroken
from lumyx.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream, ResponsesToChatStream


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
