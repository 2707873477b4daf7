"""Metering: the tokens a call used, as the upstream reported them, or counted
here when it reported none (or the stream ended early).

The response and stream shapers write a call's :class:`Meter` as they read the
upstream's answer; :func:`billed_usage` turns it into the tokens billed once
the call is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lumyx.gateway import tokens


@dataclass(slots=True)
class Usage:
    """Tokens of one request, as the upstream reported them (or estimated)."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    reported: bool = False  # False: counted locally because the upstream gave none


@dataclass(slots=True)
class Meter:
    """What the upstream's answer showed, read as it passed to the client."""

    usage: Usage = field(default_factory=Usage)
    output_parts: list[str] = field(default_factory=list)  # output text, counted when no usage is reported
    thinking_seen: bool = False  # the answer held reasoning


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
        reported=False,
    )
