"""Server-sent events: reading an upstream stream, writing a client stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson


class MalformedStream(ValueError):
    """The upstream stream broke its own framing."""


def read_events(chunks: Iterable[bytes]) -> Iterator[tuple[bytes | None, bytes]]:
    """(event name, data) for each event in a byte stream; comments skipped.

    The stream may be split anywhere, a CRLF or an event's blank line included;
    lines end in LF or CRLF."""
    pending: list[bytes] = []  # the start of an event whose end has not arrived
    for chunk in chunks:
        if b"\n" not in chunk:  # no line ends here, so no event does either
            if chunk:
                pending.append(chunk)
            continue
        if pending:
            pending.append(chunk)
            chunk = b"".join(pending)
            pending.clear()
        if b"\r" in chunk:  # a CR left at the end waits for its LF in the next chunk
            chunk = chunk.replace(b"\r\n", b"\n")
        blocks = chunk.split(b"\n\n")
        rest = blocks.pop()
        if rest:
            pending.append(rest)
        for block in blocks:
            event = _parse(block)
            if event is not None:
                yield event
    rest = b"".join(pending)
    if rest.strip():
        event = _parse(rest.strip(b"\n"))
        if event is not None:
            yield event


def _parse(block: bytes) -> tuple[bytes | None, bytes] | None:
    if b"\n" not in block:  # the usual event: one data line
        if block.startswith(b"data:"):
            return None, block[6:] if block[5:6] == b" " else block[5:]
        return None
    name = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip()
    if not data:
        return None
    return name, b"\n".join(data)


def decode(data: bytes) -> dict:
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedStream("upstream sent an event that is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedStream("upstream sent an event that is not a JSON object")
    return payload


class _Done:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DONE"


DONE = _Done()  # the end of a stream of OpenAI-format events, written as ``data: [DONE]``
OPENAI_DONE = b"data: [DONE]\n\n"


def openai_event(payload: dict | _Done) -> bytes:
    if payload is DONE:
        return OPENAI_DONE
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def typed_event(payload: dict) -> bytes:
    """An event framed with its type, as Anthropic and the Responses API send them."""
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
