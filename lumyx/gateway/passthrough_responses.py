"""Responses format in, Responses format out: the few rewrites a pass-through
needs, and the meter of a Responses answer.

The client's request reaches the gateway already expanded (the stored
conversation of ``previous_response_id`` prepended, references resolved:
:mod:`lumyx.responses.conversation`), so the upstream keeps no state:

* ``model`` is the route's upstream model; ``store`` is false and
  ``previous_response_id`` is not sent.
* ``include`` gains ``reasoning.encrypted_content`` for a reasoning model: the
  upstream's reasoning comes back sealed, so it can be replayed to it later
  without the upstream storing anything.
* Reasoning items the gateway made from a chat or messages upstream (they
  carry ``reasoning_details``) mean nothing to a Responses upstream: dropped.
* ``max_output_tokens`` is the output limit the balance affords when the
  client set none, capped at the model's limit and raised to 16 (the API's
  minimum); ``reasoning`` is dropped for a model the catalog lists without
  reasoning.

Answers: the response's ``id`` is the gateway's (the one it stores and
answers ``GET /responses/{id}`` for), its ``model`` the catalog id; usage and
output are read for metering. Everything else passes untouched, the
upstream's item ids and encrypted reasoning included.
"""

from __future__ import annotations

from lumyx.gateway.call import CallInput
from lumyx.gateway.meter import Meter
from lumyx.translate.usage import token_count

MIN_OUTPUT_TOKENS = 16
ENCRYPTED_REASONING = "reasoning.encrypted_content"
TERMINAL = frozenset(("response.completed", "response.incomplete", "response.failed"))
# Stream events whose delta is output the client received.
OUTPUT_DELTAS = frozenset(
    (
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
    )
)
REASONING_DELTAS = frozenset(("response.reasoning_summary_text.delta", "response.reasoning_text.delta"))


def response_id(call: CallInput) -> str:
    """The id the client knows the call's response by: its request id's."""
    return "resp_" + call.request_id.removeprefix("req_")


def created_at(call: CallInput) -> int:
    return int(call.received_at.timestamp())


def _made_here(item) -> bool:
    return isinstance(item, dict) and item.get("type") == "reasoning" and "reasoning_details" in item


def rewrite(call: CallInput, output_cap: int | None, upstream_model: str, body: dict) -> tuple[dict, bool]:
    """(the body for the upstream, whether it asks the upstream to reason)."""
    body = dict(body)
    body["model"] = upstream_model
    body["store"] = False
    body.pop("previous_response_id", None)
    if isinstance(body.get("input"), list):
        body["input"] = [item for item in body["input"] if not _made_here(item)]
    reasons = call.model.supports("reasoning")
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else None
    if not reasons:
        body.pop("reasoning", None)
    elif ENCRYPTED_REASONING not in (body.get("include") or ()):
        body["include"] = [*(body.get("include") or ()), ENCRYPTED_REASONING]
    limit = body.get("max_output_tokens") or output_cap
    if limit:
        max_out = call.model.max_output_tokens
        body["max_output_tokens"] = max(min(limit, max_out) if max_out else limit, MIN_OUTPUT_TOKENS)
    thinking = reasons and reasoning is not None and reasoning.get("effort") != "none"
    return body, thinking


def take_usage(meter: Meter, usage) -> None:
    """A Responses usage object, read into the meter: ``input_tokens`` counts every
    prompt token, ``input_tokens_details.cached_tokens`` the ones read from the
    cache (and ``cache_write_tokens`` the ones written, where reported)."""
    if not isinstance(usage, dict):
        return
    u = meter.usage
    details = usage.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    u.input_tokens = token_count(usage.get("input_tokens"))
    u.output_tokens = token_count(usage.get("output_tokens"))
    u.cached_tokens = token_count(details.get("cached_tokens"))
    writes = token_count(details.get("cache_write_tokens"))
    u.cache_write_1h_tokens = min(token_count(details.get("cache_write_1h_tokens")), writes)
    u.cache_write_tokens = writes - u.cache_write_1h_tokens
    u.reasoning_tokens = token_count((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
    u.reported = True


def read_output(meter: Meter, output) -> None:
    """A response's output items, kept for counting when no usage comes."""
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and isinstance(part.get("text") or part.get("refusal"), str):
                    meter.output_parts.append(part.get("text") or part["refusal"])
        elif kind == "reasoning":
            meter.thinking_seen = True
            for part in item.get("summary") or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    meter.output_parts.append(part["text"])
        elif isinstance(item.get("arguments") or item.get("input"), str):
            meter.output_parts.append(item.get("arguments") or item["input"])


def restamp(call: CallInput, response: dict) -> dict:
    """A Response object of the upstream's, as the client knows it."""
    response["id"] = response_id(call)
    response["model"] = call.model.id
    return response


def response(call: CallInput, meter: Meter, body: dict) -> dict:
    restamp(call, body)
    read_output(meter, body.get("output"))
    take_usage(meter, body.get("usage"))
    return body


def event(call: CallInput, meter: Meter, event: dict) -> dict:
    """A stream event, read for metering and restamped."""
    kind = event.get("type")
    if kind in OUTPUT_DELTAS or kind in REASONING_DELTAS:
        delta = event.get("delta")
        if isinstance(delta, str):
            meter.output_parts.append(delta)
        if kind in REASONING_DELTAS:
            meter.thinking_seen = True
    inner = event.get("response")
    if isinstance(inner, dict):
        restamp(call, inner)
        if kind in TERMINAL:
            take_usage(meter, inner.get("usage"))
    return event
