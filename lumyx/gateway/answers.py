"""Every answer's id, and what ``GET /generation`` tells about it.

An answer's ``id`` is made from its call's request id (``req_<hex>``, also sent
as ``x-request-id``), whatever the route and the translation:

* chat completions ``chatcmpl-<hex>``, legacy completions ``cmpl-<hex>``;
* Anthropic messages ``msg_<hex>`` (the body, and a stream's ``message_start``);
* Responses ``resp_<hex>`` (:func:`lumyx.gateway.passthrough_responses.response_id`).

So :func:`request_id_of` finds the call of any id a client was given, and no
id is ever shared by two accounts. The upstream's own id for its answer is kept
as ``upstream_id``.

While the answer passes, the call's :class:`~lumyx.gateway.call.Outcome` gets
the upstream's id and finish reason (``native_finish_reason``: read from the
upstream's body or events before any translation), the finish reason the
client got (``finish_reason``: ``finish_reason`` of a chat or completions
choice, ``stop_reason`` of a message, a Response's ``incomplete_details.reason``
or else its final ``status``) and, for a stream, when its first event went out.
"""

from __future__ import annotations

import re

from lumyx.gateway.call import Call, CallInput
from lumyx.providers.base import CHAT, COMPLETIONS, MESSAGES

# The prefixes of the ids an answer can carry, and of the request id itself.
PREFIXES = ("chatcmpl-", "cmpl-", "msg_", "resp_", "req_")
_HEX = re.compile(r"[0-9a-f]{32}")
_FINAL_STATUSES = frozenset(("completed", "incomplete", "failed", "cancelled"))


def answer_id(call: CallInput) -> str | None:
    """The id the client gets for call ``call``'s answer; None for an answer
    without one (embeddings, token counts) or one that already has it (Responses)."""
    if call.client_format == "responses":
        return None
    prefix = {CHAT: "chatcmpl-", COMPLETIONS: "cmpl-", MESSAGES: "msg_"}.get(call.operation)
    return prefix + call.request_id.removeprefix("req_") if prefix else None


def request_id_of(some_id: object) -> str | None:
    """The request id (``req_<hex>``) of an answer id or of a request id; None
    when ``some_id`` is neither."""
    if not isinstance(some_id, str):
        return None
    for prefix in PREFIXES:
        if some_id.startswith(prefix) and _HEX.fullmatch(some_id[len(prefix) :]):
            return "req_" + some_id[len(prefix) :]
    return None


def id_of(payload) -> str | None:
    """The answer id in a response body or stream event, if it has one."""
    if not isinstance(payload, dict):
        return None
    if payload.get("type") == "message_start":
        payload = payload.get("message")
    elif isinstance(payload.get("response"), dict):
        payload = payload["response"]
    value = payload.get("id") if isinstance(payload, dict) else None
    return value[:200] if isinstance(value, str) and value else None


def finish_of(payload) -> str | None:
    """The finish reason a response body or stream event tells, if any. Read for every
    event of a stream: the common events (a chunk without a finish reason, a content
    delta) answer after a look or two."""
    if not isinstance(payload, dict):
        return None
    choices = payload.get("choices")
    if choices is not None:  # chat and completions
        for choice in choices if isinstance(choices, list) else ():
            reason = choice.get("finish_reason") if isinstance(choice, dict) else None
            if isinstance(reason, str):
                return reason[:40]
        return None
    kind = payload.get("type")
    if kind == "message_delta" or kind == "message":  # Anthropic: the stream's delta, the whole message
        part = payload.get("delta") if kind == "message_delta" else payload
        reason = part.get("stop_reason") if isinstance(part, dict) else None
        return reason[:40] if isinstance(reason, str) else None
    response = payload.get("response") if kind is not None else payload  # Responses: an event, the body
    if not isinstance(response, dict) or response.get("object") != "response":
        return None
    if response.get("status") not in _FINAL_STATUSES:
        return None
    reason = (response.get("incomplete_details") or {}).get("reason")
    return (reason if isinstance(reason, str) and reason else response["status"])[:40]


def _stamp(stamp: str | None, payload) -> None:
    if stamp is None or not isinstance(payload, dict):
        return
    if payload.get("type") == "message_start" and isinstance(payload.get("message"), dict):
        payload["message"]["id"] = stamp
    elif "id" in payload:
        payload["id"] = stamp


def read_reply(call: Call, body) -> None:
    """The upstream's whole answer, before it is translated."""
    call.outcome.upstream_id = id_of(body)
    call.outcome.native_finish_reason = finish_of(body)


def stamp_body(call: Call, body: dict) -> dict:
    """The client's whole answer, with its id."""
    _stamp(answer_id(call.input), body)
    call.outcome.finish_reason = finish_of(body)
    return body


class Stamped:
    """A stream shaper (:mod:`lumyx.gateway.streams`) whose events carry the call's
    answer id, read on the way as :func:`read_reply` and :func:`stamp_body` read
    whole answers."""

    def __init__(self, call: Call, shaper):
        self.call, self.shaper = call, shaper
        self.stamp = answer_id(call.input)

    @property
    def ended(self) -> bool:
        return self.shaper.ended

    def feed(self, event: dict) -> list:
        outcome = self.call.outcome
        if outcome.upstream_id is None:
            outcome.upstream_id = id_of(event)
        outcome.native_finish_reason = finish_of(event) or outcome.native_finish_reason
        return self._sent(self.shaper.feed(event))

    def end(self) -> list:
        return self._sent(self.shaper.end())

    def fail(self, error) -> list:
        return self._sent(self.shaper.fail(error))

    def _sent(self, events: list) -> list:
        outcome = self.call.outcome
        for event in events:
            _stamp(self.stamp, event)
            outcome.finish_reason = finish_of(event) or outcome.finish_reason
        if events and outcome.first_event_ms is None:
            outcome.first_event_ms = self.call.input.elapsed_ms()
        return events
