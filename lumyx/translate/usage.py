"""Token usage conversion.

Anthropic -> OpenAI:

* ``prompt_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens``
* ``completion_tokens = output_tokens``; ``total_tokens`` is their sum
* ``prompt_tokens_details.cached_tokens = cache_read_input_tokens``
* ``prompt_tokens_details.cache_write_tokens = cache_creation_input_tokens`` (only when non-zero)
* ``prompt_tokens_details.cache_write_1h_tokens = cache_creation.ephemeral_1h_input_tokens`` (only when
  non-zero: the part of the writes that went to a 1-hour cache; the rest went to a 5-minute one)
* ``completion_tokens_details.reasoning_tokens = output_tokens_details.thinking_tokens`` (only when reported)

OpenAI -> Anthropic:

* ``input_tokens = prompt_tokens - cached_tokens - cache_write_tokens`` (never negative)
* ``cache_read_input_tokens = cached_tokens``, ``cache_creation_input_tokens = cache_write_tokens``
* ``cache_creation = {ephemeral_5m_input_tokens: cache_write_tokens - cache_write_1h_tokens,
  ephemeral_1h_input_tokens: cache_write_1h_tokens}`` (only when ``cache_write_1h_tokens`` is non-zero)
* ``output_tokens = completion_tokens``
* ``output_tokens_details.thinking_tokens = completion_tokens_details.reasoning_tokens`` (only when reported)

OpenAI Responses -> OpenAI Chat Completions:

* ``prompt_tokens = input_tokens``, ``completion_tokens = output_tokens``; ``total_tokens`` is their sum
* ``prompt_tokens_details.cached_tokens = input_tokens_details.cached_tokens`` (and
  ``cache_write_tokens``, ``cache_write_1h_tokens`` when reported)
* ``completion_tokens_details.reasoning_tokens = output_tokens_details.reasoning_tokens``

OpenAI Chat Completions -> OpenAI Responses:

* ``input_tokens = prompt_tokens``, ``output_tokens = completion_tokens``; ``total_tokens`` is their sum
* ``input_tokens_details.cached_tokens = prompt_tokens_details.cached_tokens``,
  ``input_tokens_details.cache_write_tokens = prompt_tokens_details.cache_write_tokens`` (and
  ``cache_write_1h_tokens`` when non-zero)
* ``output_tokens_details.reasoning_tokens = completion_tokens_details.reasoning_tokens``

Missing or null counts are treated as 0.
"""

from __future__ import annotations


def token_count(value: object) -> int:
    """A reported token count: an integer (not a bool), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_creation: int = 0,
    reasoning_tokens: int | None = None,
    cache_creation_1h: int = 0,
) -> dict:
    """Build an OpenAI ``usage`` object from Anthropic-style counts
    (``cache_creation_1h``: the part of ``cache_creation`` cached for an hour)."""
    prompt = input_tokens + cache_read + cache_creation
    details = {"cached_tokens": cache_read}
    if cache_creation:
        details["cache_write_tokens"] = cache_creation
    if cache_creation_1h:
        details["cache_write_1h_tokens"] = min(cache_creation_1h, cache_creation)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
        "prompt_tokens_details": details,
    }
    if reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return usage


def anthropic_usage_to_openai(usage: dict | None) -> dict:
    """Convert an Anthropic ``usage`` object to an OpenAI one."""
    usage = usage or {}
    details = usage.get("output_tokens_details")
    reasoning = None
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        reasoning = token_count(details.get("thinking_tokens"))
    return openai_usage(
        token_count(usage.get("input_tokens")),
        token_count(usage.get("output_tokens")),
        token_count(usage.get("cache_read_input_tokens")),
        token_count(usage.get("cache_creation_input_tokens")),
        reasoning,
        one_hour_writes(usage),
    )


def one_hour_writes(usage: dict) -> int:
    """The 1-hour cache writes of an Anthropic ``usage`` (``cache_creation.ephemeral_1h_input_tokens``)."""
    split = usage.get("cache_creation")
    return token_count(split.get("ephemeral_1h_input_tokens")) if isinstance(split, dict) else 0


def _details_1h(usage: dict, details_key: str) -> int:
    details = usage.get(details_key)
    return token_count(details.get("cache_write_1h_tokens")) if isinstance(details, dict) else 0


def read_openai_usage(usage: dict | None) -> tuple[int, int, int, int, int | None]:
    """Return ``(prompt, completion, cached, cache_write, reasoning-or-None)`` from an OpenAI usage object."""
    usage = usage or {}
    prompt_details = usage.get("prompt_tokens_details")
    if not isinstance(prompt_details, dict):
        prompt_details = {}
    completion_details = usage.get("completion_tokens_details")
    reasoning = None
    if isinstance(completion_details, dict) and completion_details.get("reasoning_tokens") is not None:
        reasoning = token_count(completion_details.get("reasoning_tokens"))
    return (
        token_count(usage.get("prompt_tokens")),
        token_count(usage.get("completion_tokens")),
        token_count(prompt_details.get("cached_tokens")),
        token_count(prompt_details.get("cache_write_tokens")),
        reasoning,
    )


def anthropic_usage(
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int | None = None,
    cache_write_1h_tokens: int = 0,
) -> dict:
    """Build an Anthropic ``usage`` object from OpenAI-style counts."""
    usage = {
        "input_tokens": max(prompt_tokens - cached_tokens - cache_write_tokens, 0),
        "output_tokens": completion_tokens,
        "cache_read_input_tokens": cached_tokens,
        "cache_creation_input_tokens": cache_write_tokens,
    }
    if cache_write_1h_tokens:
        one_hour = min(cache_write_1h_tokens, cache_write_tokens)
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write_tokens - one_hour,
            "ephemeral_1h_input_tokens": one_hour,
        }
    if reasoning_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": reasoning_tokens}
    return usage


def openai_usage_to_anthropic(usage: dict | None) -> dict:
    """Convert an OpenAI ``usage`` object to an Anthropic one."""
    return anthropic_usage(*read_openai_usage(usage), _details_1h(usage or {}, "prompt_tokens_details"))


def responses_usage_to_openai(usage: object) -> dict | None:
    """The Chat Completions ``usage`` of a Responses ``usage`` object (None without one)."""
    if not isinstance(usage, dict):
        return None
    prompt = token_count(usage.get("input_tokens"))
    completion = token_count(usage.get("output_tokens"))
    input_details = usage.get("input_tokens_details")
    output_details = usage.get("output_tokens_details")
    cached = token_count(input_details.get("cached_tokens")) if isinstance(input_details, dict) else 0
    reasoning = token_count(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else 0
    prompt_details = {"cached_tokens": cached}
    for key in ("cache_write_tokens", "cache_write_1h_tokens"):
        count = token_count(input_details.get(key)) if isinstance(input_details, dict) else 0
        if count:
            prompt_details[key] = count
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def openai_usage_to_responses(usage: object) -> dict | None:
    """The Responses ``usage`` of a Chat Completions ``usage`` object (None without one)."""
    if not isinstance(usage, dict):
        return None
    prompt, completion, cached, cache_write, reasoning = read_openai_usage(usage)
    input_details = {"cached_tokens": cached, "cache_write_tokens": cache_write}
    one_hour = _details_1h(usage, "prompt_tokens_details")
    if one_hour:
        input_details["cache_write_1h_tokens"] = one_hour
    return {
        "input_tokens": prompt,
        "input_tokens_details": input_details,
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning or 0},
        "total_tokens": prompt + completion,
    }
