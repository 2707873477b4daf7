"""OpenAI format in, OpenAI format out: the few rewrites a pass-through needs.

Request: the upstream model name; reasoning parameters in the upstream's own
terms (``reasoning_effort``); ``stream_options.include_usage`` so every stream
reports its usage; the output limit the balance affords, when the client set
none. Response and stream: the catalog model id; reasoning text normalised to
``reasoning_content``; usage and output read for metering. Everything else
passes untouched.

The request may be the client's own or one translated from the Anthropic
format, and the answer may go on to be translated for an Anthropic client;
either way this side is OpenAI-format. :func:`without_reasoning` is how an
OpenAI client's ``reasoning.exclude`` is honoured, whatever the upstream.
"""

from __future__ import annotations

from lumyx.gateway.call import CallInput
from lumyx.gateway.meter import Meter
from lumyx.translate import budget_to_effort
from lumyx.translate.usage import read_openai_usage, token_count


def reasoning_effort(body: dict, supported: bool) -> tuple[str | None, bool]:
    """(effort to send upstream or None, exclude) from the client's reasoning fields."""
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    exclude = bool(reasoning.get("exclude"))
    if not supported:
        return None, exclude
    effort = reasoning.get("effort") or body.get("reasoning_effort")
    if reasoning.get("enabled") is False or effort == "none":
        return None, exclude
    if not effort and reasoning.get("max_tokens"):
        effort = budget_to_effort(reasoning["max_tokens"], body.get("max_completion_tokens") or body.get("max_tokens"))
    if not effort and (reasoning.get("enabled") or body.get("include_reasoning")):
        effort = "medium"
    return effort, exclude


def rewrite(call: CallInput, output_cap: int | None, upstream_model: str, body: dict) -> tuple[dict, bool]:
    """(the body for the upstream, whether it asks the upstream to reason)."""
    source, body = body, dict(body)
    body["model"] = upstream_model
    for key in ("reasoning", "reasoning_effort", "include_reasoning"):
        body.pop(key, None)
    effort, _exclude = reasoning_effort(source, call.model.supports("reasoning"))
    if effort:
        body["reasoning_effort"] = effort
    if output_cap and not body.get("max_tokens") and not body.get("max_completion_tokens"):
        body["max_completion_tokens" if call.model.supports("reasoning") else "max_tokens"] = output_cap
    max_out = call.model.max_output_tokens
    for key in ("max_tokens", "max_completion_tokens"):
        if max_out and isinstance(body.get(key), int) and body[key] > max_out:
            body[key] = max_out
    if call.stream:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return body, bool(effort)


def _read_part(meter: Meter, part: dict) -> None:
    """Keeps a message's or delta's output text (for counting when no usage comes)
    and normalises ``reasoning`` to ``reasoning_content``."""
    if "reasoning" in part:
        value = part.pop("reasoning")
        if isinstance(value, str) and "reasoning_content" not in part:
            part["reasoning_content"] = value
    reasoning = part.get("reasoning_content")
    if reasoning:
        meter.thinking_seen = True
        meter.output_parts.append(reasoning)
    if part.get("content"):
        meter.output_parts.append(part["content"])
    for tool_call in part.get("tool_calls") or ():
        arguments = (tool_call.get("function") or {}).get("arguments") if isinstance(tool_call, dict) else None
        if isinstance(arguments, str):
            meter.output_parts.append(arguments)


def take_usage(meter: Meter, usage: dict | None) -> None:
    """Reads OpenAI usage: ``prompt_tokens`` counts every prompt token;
    ``prompt_tokens_details.cached_tokens`` are the ones read from the cache and
    ``cache_write_tokens`` (where an upstream reports it, as OpenRouter does) the
    ones written to it, of which ``cache_write_1h_tokens`` (Lumyx's own field, on
    answers it translated from Anthropic's) went to a 1-hour cache."""
    if not isinstance(usage, dict):
        return
    u = meter.usage
    prompt, completion, cached, cache_write, reasoning = read_openai_usage(usage)
    u.input_tokens, u.output_tokens, u.reasoning_tokens = prompt, completion, reasoning or 0
    u.cached_tokens = cached
    details = usage.get("prompt_tokens_details")
    one_hour = token_count(details.get("cache_write_1h_tokens")) if isinstance(details, dict) else 0
    u.cache_write_1h_tokens = min(one_hour, cache_write)
    u.cache_write_tokens = cache_write - u.cache_write_1h_tokens
    u.reported = True


def response(call: CallInput, meter: Meter, body: dict) -> dict:
    body["model"] = call.model.id
    for choice in body.get("choices") or ():
        message = choice.get("message")
        if isinstance(message, dict):
            _read_part(meter, message)
        if choice.get("text"):
            meter.output_parts.append(choice["text"])
    take_usage(meter, body.get("usage"))
    return body


def chunk(call: CallInput, meter: Meter, chunk: dict) -> dict:
    """The chunk, read for metering and normalised (model id, reasoning)."""
    chunk["model"] = call.model.id
    choices = chunk.get("choices")
    usage = chunk.get("usage")
    if usage:
        take_usage(meter, usage)
    for choice in choices or ():
        delta = choice.get("delta")
        if isinstance(delta, dict):
            _read_part(meter, delta)
        if choice.get("text"):
            meter.output_parts.append(choice["text"])
    return chunk


def without_reasoning(payload: dict) -> dict:
    """An OpenAI-format response or chunk without its reasoning (``reasoning.exclude``):
    the reasoning is still used, and billed, but not shown."""
    for choice in payload.get("choices") or ():
        part = choice.get("message") or choice.get("delta")
        if isinstance(part, dict):
            part.pop("reasoning_content", None)
            part.pop("reasoning_details", None)
    return payload
