"""Anthropic format to an Anthropic upstream: the few rewrites a pass-through needs.

Request: the upstream model name; ``thinking`` removed for models without the
reasoning capability; ``max_tokens`` capped at the model's limit. Response and
stream: the catalog model id; usage and output read for metering. Everything
else — thinking signatures, ``cache_control``, unknown but valid fields —
passes untouched.

The request may be the client's own or one translated from the OpenAI format,
and the answer may go on to be translated for an OpenAI client; either way
this side is Anthropic-format.
"""

from __future__ import annotations

import orjson

from lumyx.gateway.call import CallInput
from lumyx.gateway.meter import Meter


def rewrite(call: CallInput, upstream_model: str, body: dict) -> tuple[dict, bool]:
    """(the body for the upstream, whether it asks the upstream to reason)."""
    body = dict(body)
    body["model"] = upstream_model
    thinking = body.get("thinking")
    reasons = False
    if not call.model.supports("reasoning"):
        body.pop("thinking", None)
    elif isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        reasons = True
    limit = call.model.max_output_tokens
    max_tokens = body.get("max_tokens")
    if limit and isinstance(max_tokens, int) and max_tokens > limit:
        budget = (body.get("thinking") or {}).get("budget_tokens")
        if not isinstance(budget, int) or budget < limit:
            body["max_tokens"] = limit
    return body, reasons


def take_usage(meter: Meter, usage: dict | None, *, final: bool) -> None:
    """Reads Anthropic usage; input counts every prompt token, cached or not."""
    if not isinstance(usage, dict):
        return
    u = meter.usage
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    if "input_tokens" in usage or cache_read or cache_write:
        u.input_tokens = max(u.input_tokens, int(usage.get("input_tokens") or 0) + cache_read + cache_write)
        u.cached_tokens = max(u.cached_tokens, cache_read)
    if "output_tokens" in usage:
        output = int(usage.get("output_tokens") or 0)
        u.output_tokens = output if final else max(u.output_tokens, output)
    u.reported = True


def response(call: CallInput, meter: Meter, body: dict) -> dict:
    body["model"] = call.model.id
    for block in body.get("content") or ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            meter.thinking_seen = True
        text = block.get("text") or block.get("thinking")
        if isinstance(text, str):
            meter.output_parts.append(text)
        elif kind == "tool_use":
            meter.output_parts.append(orjson.dumps(block.get("input")).decode())
    take_usage(meter, body.get("usage"), final=True)
    return body


def event(call: CallInput, meter: Meter, event: dict) -> dict:
    """The event to send to an Anthropic client (also read for metering)."""
    kind = event.get("type")
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        text = delta.get("text") or delta.get("thinking") or delta.get("partial_json")
        if isinstance(text, str):
            meter.output_parts.append(text)
    elif kind == "message_start":
        message = event.get("message")
        if isinstance(message, dict):
            message["model"] = call.model.id
            take_usage(meter, message.get("usage"), final=False)
    elif kind == "message_delta":
        take_usage(meter, event.get("usage"), final=True)
    elif kind == "content_block_start":
        if (event.get("content_block") or {}).get("type") in ("thinking", "redacted_thinking"):
            meter.thinking_seen = True
    return event
