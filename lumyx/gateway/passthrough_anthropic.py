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
from lumyx.translate.usage import token_count


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
    """Reads Anthropic usage. Anthropic's ``input_tokens`` are the uncached ones;
    the meter's count every prompt token, so they are the sum of the uncached,
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` — the writes
    split by ``cache_creation.ephemeral_1h_input_tokens`` (1 hour) and the rest
    (5 minutes). Counts only grow: ``message_delta`` repeats (or leaves out) what
    ``message_start`` told."""
    if not isinstance(usage, dict):
        return
    u = meter.usage
    cache_read = token_count(usage.get("cache_read_input_tokens"))
    cache_write = token_count(usage.get("cache_creation_input_tokens"))
    if "input_tokens" in usage or cache_read or cache_write:
        u.input_tokens = max(u.input_tokens, token_count(usage.get("input_tokens")) + cache_read + cache_write)
        u.cached_tokens = max(u.cached_tokens, cache_read)
        split = usage.get("cache_creation")
        writes = max(u.cache_write_tokens + u.cache_write_1h_tokens, cache_write)
        one_hour = u.cache_write_1h_tokens
        if isinstance(split, dict):
            one_hour = max(one_hour, token_count(split.get("ephemeral_1h_input_tokens")))
            writes = max(writes, one_hour + token_count(split.get("ephemeral_5m_input_tokens")))
        u.cache_write_1h_tokens = min(one_hour, writes)
        u.cache_write_tokens = writes - u.cache_write_1h_tokens
    if "output_tokens" in usage:
        output = token_count(usage.get("output_tokens"))
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
