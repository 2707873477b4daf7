"""Metering: the tokens a call used, as the upstream reported them, or counted
here when it reported none (or the stream ended early).

The response and stream shapers write a call's :class:`Meter` as they read the
upstream's answer; :func:`billed_usage` turns it into the tokens billed once
the call is over.

The cost on the answer: :func:`stamp` writes ``usage.cost`` (USD) and
``usage.cost_details`` (its parts, OpenRouter's names) into the client's
answer — the body, or the stream's final usage event (OpenAI's usage chunk,
Anthropic's ``message_delta``, the Responses terminal event) — from the same
:func:`lumyx.billing.arithmetic.charge` the settlement uses, and keeps the
tokens it priced as ``Meter.quoted``: the settlement charges exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lumyx import money
from lumyx.billing import arithmetic
from lumyx.gateway import tokens


@dataclass(slots=True)
class Usage:
    """Tokens of one request, as the upstream reported them (or estimated).

    ``input_tokens`` counts EVERY prompt token, whether the upstream read it
    from its cache, wrote it to its cache or neither; the cache kinds are
    parts of it::

        input_tokens = uncached + cached_tokens + cache_write_tokens + cache_write_1h_tokens

    so the uncached part (billed at the input price) is what is left. Reasoning
    tokens are part of ``output_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0  # read from the upstream's cache
    cache_write_tokens: int = 0  # written to a 5-minute cache (or one of unstated lifetime)
    cache_write_1h_tokens: int = 0  # written to a 1-hour cache
    reported: bool = False  # False: counted locally because the upstream gave none

    @property
    def uncached_tokens(self) -> int:
        return max(self.input_tokens - self.cached_tokens - self.cache_write_tokens - self.cache_write_1h_tokens, 0)


@dataclass(slots=True)
class Meter:
    """What the upstream's answer showed, read as it passed to the client."""

    usage: Usage = field(default_factory=Usage)
    output_parts: list[str] = field(default_factory=list)  # output text, counted when no usage is reported
    thinking_seen: bool = False  # the answer held reasoning
    # The tokens whose cost the client was shown in the answer's usage: what is billed.
    quoted: Usage | None = None


def billed_usage(meter: Meter, body: dict, *, answered: bool, partial: bool) -> Usage:
    """The tokens to bill for a call whose request was ``body``.

    The upstream's own report, when it gave one and the answer was complete.
    Otherwise what it did not report is counted with the real tokenizer, and
    the output of a stream that ended early is what was delivered. A call no
    route answered used nothing beyond what was reported.
    """
    usage = meter.usage
    if not (answered or partial) or (usage.reported and not partial):
        return usage
    input_tokens = usage.input_tokens
    if not input_tokens and answered:
        input_tokens = tokens.estimate_input(body)
    delivered = tokens.output(meter.output_parts) if meter.output_parts else 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=delivered if partial else max(usage.output_tokens, delivered),
        reasoning_tokens=usage.reasoning_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        reported=False,
    )


def charge(meter: Meter, model, body: dict, *, answered: bool, partial: bool) -> tuple[Usage, arithmetic.Charge]:
    """(the tokens billed, what they cost): what was quoted to the client when it
    was, else :func:`billed_usage`."""
    usage = meter.quoted or billed_usage(meter, body, answered=answered, partial=partial)
    return usage, arithmetic.charge(model, usage)


def cost_fields(priced: arithmetic.Charge) -> dict:
    """``cost`` and ``cost_details`` of an answer's usage, in USD: the cost is the
    whole µcr charged; the parts are exact (their sum rounds up to it)."""
    parts = {name: money.micro_to_usd(value) for name, value in priced.parts.items()}
    prompt = sum(value for name, value in priced.parts.items() if name != "output")
    return {
        "cost": priced.usd,
        "cost_details": {
            "upstream_inference_cost": priced.usd,
            "upstream_inference_prompt_cost": money.micro_to_usd(prompt),
            "upstream_inference_completions_cost": parts["output"],
            **{f"{name}_cost": parts[name] for name in arithmetic.PARTS},
        },
    }


def _usage_of(client_format: str, payload: dict, *, stream: bool) -> dict | None:
    """The usage object of the client's answer (``stream``: of a final stream event) to
    carry the cost, or None."""
    if client_format == "openai":
        usage = payload.get("usage")
        if not isinstance(usage, dict):
            return None
        if stream and any(not choice.get("finish_reason") for choice in payload.get("choices") or ()):
            return None  # a running count some upstreams send with each chunk
        return usage
    if client_format == "anthropic":
        if payload.get("type") == ("message_delta" if stream else "message"):
            usage = payload.get("usage")
            return usage if isinstance(usage, dict) else None
        return None
    response = payload.get("response") if stream else payload
    if stream and payload.get("type") not in ("response.completed", "response.incomplete"):
        return None
    usage = response.get("usage") if isinstance(response, dict) else None
    return usage if isinstance(usage, dict) else None


def stamp(meter: Meter, model, body: dict, client_format: str, payload, *, stream: bool):
    """The client's answer (or stream event) ``payload`` with the cost in its usage,
    when it carries the final usage; the tokens priced become the meter's quote."""
    usage = _usage_of(client_format, payload, stream=stream) if isinstance(payload, dict) else None
    if usage is not None:
        meter.quoted = None
        meter.quoted, priced = charge(meter, model, body, answered=True, partial=False)
        usage.update(cost_fields(priced))
    return payload
