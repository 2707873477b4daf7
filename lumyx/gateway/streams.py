"""Client-facing streams: the upstream's decoded events in, the client's SSE
bytes out, for each pair of wire formats.

A shaper is fed every upstream event, then told how the upstream stream ended:
``end()`` after its terminal event, ``fail(error)`` when it broke (or stopped
without its terminal event). Either way the client gets a well-formed ending:
OpenAI clients a final ``data: [DONE]`` (after an error chunk when it broke),
Anthropic clients ``message_stop`` or an ``error`` event.
"""

from __future__ import annotations

from lumyx.errors import ApiError
from lumyx.gateway import passthrough_anthropic as anthropic_relay
from lumyx.gateway import passthrough_openai as openai_relay
from lumyx.gateway.call import Call
from lumyx.providers.sse import OPENAI_DONE, anthropic_event, openai_event
from lumyx.translate import AnthropicToOpenAIStream, OpenAIToAnthropicStream


def _openai_error(error: ApiError) -> list[bytes]:
    return [openai_event(error.openai_body()), OPENAI_DONE]


def _anthropic_error(error: ApiError) -> list[bytes]:
    return [anthropic_event(error.anthropic_body())]


def _read_openai(shaper, event: dict) -> dict:
    """An OpenAI-format upstream chunk, read for metering; a finish reason ends the stream."""
    chunk = openai_relay.chunk(shaper.call, event)
    if any(choice.get("finish_reason") for choice in chunk.get("choices") or ()):
        shaper.ended = True
    return chunk


def _strip_reasoning(chunk: dict) -> None:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if isinstance(delta, dict):
            delta.pop("reasoning_content", None)
            delta.pop("reasoning_details", None)


class OpenAIToOpenAI:
    def __init__(self, call: Call, include_usage: bool):
        self.call = call
        self.include_usage = include_usage
        self.ended = False

    def feed(self, event: dict) -> list[bytes]:
        chunk = _read_openai(self, event)
        if "usage" in chunk and not self.include_usage:
            del chunk["usage"]
            if not chunk.get("choices"):
                return []
        return [openai_event(chunk)]

    def end(self) -> list[bytes]:
        return [OPENAI_DONE]

    fail = staticmethod(_openai_error)


class AnthropicToAnthropic:
    def __init__(self, call: Call):
        self.call = call
        self.ended = False

    def feed(self, event: dict) -> list[bytes]:
        if event.get("type") == "message_stop":
            self.ended = True
        return [anthropic_event(anthropic_relay.event(self.call, event))]

    def end(self) -> list[bytes]:
        return []

    fail = staticmethod(_anthropic_error)


class OpenAIToAnthropic:
    """An OpenAI-format upstream answering an Anthropic client."""

    def __init__(self, call: Call, input_tokens: int):
        self.call = call
        self.translator = OpenAIToAnthropicStream(model=call.model.id, input_tokens=input_tokens)
        self.ended = False

    def feed(self, event: dict) -> list[bytes]:
        return [anthropic_event(e) for e in self.translator.feed(_read_openai(self, event))]

    def end(self) -> list[bytes]:
        return [anthropic_event(e) for e in self.translator.close()]

    fail = staticmethod(_anthropic_error)


class AnthropicToOpenAI:
    """An Anthropic-format upstream answering an OpenAI client."""

    def __init__(self, call: Call, include_usage: bool, exclude_reasoning: bool):
        self.call = call
        self.translator = AnthropicToOpenAIStream(model=call.model.id, include_usage=include_usage)
        self.exclude_reasoning = exclude_reasoning
        self.ended = False

    def _encode(self, chunks: list[dict]) -> list[bytes]:
        out = []
        for chunk in chunks:
            if self.exclude_reasoning:
                _strip_reasoning(chunk)
            out.append(openai_event(chunk))
        return out

    def feed(self, event: dict) -> list[bytes]:
        if event.get("type") == "message_stop":
            self.ended = True
        return self._encode(self.translator.feed(anthropic_relay.event(self.call, event)))

    def end(self) -> list[bytes]:
        return self._encode(self.translator.close()) + [OPENAI_DONE]

    fail = staticmethod(_openai_error)
