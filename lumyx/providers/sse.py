"""Server-sent events: reading an upstream stream, writing a client stream."""
from __future__ import annotations

from typing import Iterable, Iterator

import orjson


class MalformedStream(ValueError):
    """The upstream stream broke its own framing."""


def read_events(chunks: Iterable[bytes]) -> Iterator[tuple[bytes | None, bytes]]:
    """(event name, data) for each event in a byte stream; comments skipped."""
    buffer = b""
    for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            block, buffer = buffer[:end], buffer[end + 2:]
            event = _parse(block)
            if event is not None:
                yield event
    if buffer.strip():
        event = _parse(buffer.strip(b"\n"))
        if event is not None:
            yield event


def _parse(block: bytes) -> tuple[bytes | None, bytes] | None:
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


def openai_event(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


OPENAI_DONE = b"data: [DONE]\n\n"


def anthropic_event(payload: dict) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
