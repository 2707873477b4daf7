"""OpenAI format in, OpenAI format out: the few rewrites a pass-through needs.

Request: the upstream model name; reasoning parameters in the upstream's own
terms (``reasoning_effort``); ``stream_options.include_usage`` so every stream
reports its usage. Response and stream: the catalog model id; reasoning text
normalised to ``reasoning_content`` (and removed with ``reasoning.exclude``);
usage read for metering. Everything else passes untouched.

The request may be the client's own or one translated from the Anthropic
format; either way it is an OpenAI-format body.
"""

from __future__ import annotations

from lumyx.gateway.call import Call
from lumyx.translate import budget_to_effort


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


def request(call: Call, upstream_model: str, body: dict) -> dict:
    source, body = body, dict(body)
    body["model"] = upstream_model
    for key in ("reasoning", "reasoning_effort", "include_reasoning"):
        body.pop(key, None)
    effort, _exclude = reasoning_effort(source, call.model.supports("reasoning"))
    if effort:
        body["reasoning_effort"] = effort
        call.thinking_used = True
    if call.output_cap and not body.get("max_tokens") and not body.get("max_completion_tokens"):
        body["max_completion_tokens" if call.model.supports("reasoning") else "max_tokens"] = call.output_cap
    max_out = call.model.max_output_tokens
    for key in ("max_tokens", "max_completion_tokens"):
        if max_out and isinstance(body.get(key), int) and body[key] > max_out:
            body[key] = max_out
    if call.stream:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return body


def _read_part(call: Call, part: dict) -> None:
    """Keeps a message's or delta's output text (for counting when no usage comes),
    normalises ``reasoning`` to ``reasoning_content`` and removes it with ``exclude``."""
    if "reasoning" in part:
        value = part.pop("reasoning")
        if isinstance(value, str) and "reasoning_content" not in part:
            part["reasoning_content"] = value
    reasoning = part.get("reasoning_content")
    if reasoning:
        call.thinking_used = True
        call.output_parts.append(reasoning)
        if call.exclude_reasoning:
            del part["reasoning_content"]
    if call.exclude_reasoning:
        part.pop("reasoning_details", None)
    if part.get("content"):
        call.output_parts.append(part["content"])
    for tool_call in part.get("tool_calls") or ():
        arguments = (tool_call.get("function") or {}).get("arguments") if isinstance(tool_call, dict) else None
        if isinstance(arguments, str):
            call.output_parts.append(arguments)


def take_usage(call: Call, usage: dict | None) -> None:
    if not isinstance(usage, dict):
        return
    u = call.usage
    u.input_tokens = int(usage.get("prompt_tokens") or 0)
    u.output_tokens = int(usage.get("completion_tokens") or 0)
    details = usage.get("completion_tokens_details") or {}
    u.reasoning_tokens = int(details.get("reasoning_tokens") or 0)
    u.cached_tokens = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    u.reported = True


def response(call: Call, body: dict) -> dict:
    body["model"] = call.model.id
    for choice in body.get("choices") or ():
        message = choice.get("message")
        if isinstance(message, dict):
            _read_part(call, message)
        if choice.get("text"):
            call.output_parts.append(choice["text"])
    take_usage(call, body.get("usage"))
    return body


def chunk(call: Call, chunk: dict) -> dict:
    """The chunk, read for metering and normalised (model id, reasoning)."""
    chunk["model"] = call.model.id
    choices = chunk.get("choices")
    usage = chunk.get("usage")
    if usage:
        take_usage(call, usage)
    for choice in choices or ():
        delta = choice.get("delta")
        if isinstance(delta, dict):
            _read_part(call, delta)
        if choice.get("text"):
            call.output_parts.append(choice["text"])
    return chunk
