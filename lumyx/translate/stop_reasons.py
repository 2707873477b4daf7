"""Mapping between Anthropic ``stop_reason`` and OpenAI ``finish_reason``.

Anthropic -> OpenAI:

==============================  ==================
``end_turn``                    ``stop``
``stop_sequence``               ``stop``
``pause_turn``                  ``stop``
``max_tokens``                  ``length``
``model_context_window_exceeded``  ``length``
``tool_use``                    ``tool_calls``
``refusal``                     ``content_filter``
any other non-null value        ``stop``
==============================  ==================

OpenAI -> Anthropic (``stop_sequence`` is always ``null``, because OpenAI does
not report which stop sequence matched):

=====================  ==============
``stop``               ``end_turn``
``length``             ``max_tokens``
``tool_calls``         ``tool_use``
``function_call``      ``tool_use``
``content_filter``     ``refusal``
any other non-null     ``end_turn``
=====================  ==============

``None`` maps to ``None`` both ways (the stream has not finished yet).
"""

from __future__ import annotations

_ANTHROPIC_TO_OPENAI = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_OPENAI_TO_ANTHROPIC = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def anthropic_stop_to_openai(stop_reason: str | None) -> str | None:
    """Return the OpenAI ``finish_reason`` for an Anthropic ``stop_reason``."""
    if stop_reason is None:
        return None
    return _ANTHROPIC_TO_OPENAI.get(stop_reason, "stop")


def openai_finish_to_anthropic(finish_reason: str | None) -> str | None:
    """Return the Anthropic ``stop_reason`` for an OpenAI ``finish_reason``."""
    if finish_reason is None:
        return None
    return _OPENAI_TO_ANTHROPIC.get(finish_reason, "end_turn")
