"""Kind ``openai-responses``: an upstream speaking the OpenAI Responses API.
``base_url`` is the URL that ``/responses`` is appended to; the key goes as
``Authorization: Bearer``. HTTP failures are mapped as for kind ``openai``.

A Responses stream opens with ``response.created`` and
``response.in_progress`` before any output. Those are held back until the
first event after them, so that a stream failing in its opening
(``response.failed`` or an ``error`` event, or the stream ending) is a failure
of the route, before any byte reached the client, and the next route is
tried: a rate-limit or quota code counts as HTTP 429, a request the upstream
refuses (``context_length_exceeded``, ``invalid_prompt``) as HTTP 400, any
other code as HTTP 502. A whole (non-streamed) response whose ``status`` is
``failed`` is a failure of the route the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from lumyx.providers import http, streaming
from lumyx.providers.base import RESPONSES, UpstreamFailure, UpstreamReply

PATH = "/responses"
OPENING = ("response.created", "response.in_progress", "response.queued")
STATUS_OF_CODE = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "context_length_exceeded": 400,
    "invalid_prompt": 400,
}


def failure_of(error: object, secret: str | None) -> UpstreamFailure:
    """The route's failure for a Responses ``error`` object (or error event)."""
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    message = str(error.get("message") or code or "the response failed")[:1000]
    if secret:
        message = message.replace(secret, "[redacted]")
    status = STATUS_OF_CODE.get(code, 502) if isinstance(code, str) else 502
    return UpstreamFailure("status", message, status=status, retryable=status != 400)


def _opened(events: Iterator[dict], secret: str | None) -> Iterator[dict]:
    """``events`` with the opening held back until the first event after it."""
    held: list[dict] = []
    try:
        for event in events:
            kind = event.get("type")
            if kind in OPENING:
                held.append(event)
                continue
            if kind == "response.failed":
                response = event.get("response")
                raise failure_of(response.get("error") if isinstance(response, dict) else None, secret)
            if kind == "error":
                raise failure_of(event.get("error") if isinstance(event.get("error"), dict) else event, secret)
            break
        else:
            raise streaming.StreamBroken("protocol", "upstream stream ended before its first output")
    except BaseException:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        raise
    yield from held
    yield event
    yield from events


def send(provider, operation: str, body: dict, *, stream: bool, client_headers: dict) -> UpstreamReply:
    if operation != RESPONSES:
        raise UpstreamFailure(
            "unsupported", f"operation {operation} is not served by Responses-kind providers", retryable=False
        )
    response, secret = http.post_with_bearer(provider, PATH, body, stream=stream)
    if stream:
        reply = streaming.reply(response, secret)
        reply.events = _opened(reply.events, secret)
        return reply
    answer = http.read_json(response)
    if answer.get("status") == "failed":
        raise failure_of(answer.get("error"), secret)
    return UpstreamReply(body=answer, headers=dict(response.headers))
