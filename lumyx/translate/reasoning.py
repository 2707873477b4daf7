"""Reasoning ("extended thinking") settings and reasoning content.

Request settings
----------------
OpenAI side: ``reasoning`` ``{effort, max_tokens, enabled, exclude}`` and
``reasoning_effort``. Anthropic side: ``thinking`` ``{"type": "enabled",
"budget_tokens": N}`` / ``{"type": "disabled"}`` / ``{"type": "adaptive"}``.

Effort levels: ``low``, ``medium``, ``high``. ``minimal`` is read as ``low``;
``xhigh`` and ``max`` are read as ``high``; ``none`` means no reasoning.
Any other effort is rejected with :class:`TranslationError`.

OpenAI -> Anthropic (:func:`thinking_for_anthropic`):

* ``reasoning.enabled: false``, or effort ``none``: no ``thinking`` is sent.
* ``reasoning.max_tokens`` given: it becomes ``budget_tokens`` (raised to 1024,
  Anthropic's minimum).
* otherwise the effort (``reasoning.effort``, else ``reasoning_effort``; a
  ``reasoning`` object without effort means ``medium``) becomes a budget via
  :func:`effort_to_budget`.
* Anthropic requires ``budget_tokens < max_tokens``. When the budget does not
  fit, ``max_tokens`` is raised to ``budget_tokens + max_tokens`` so the answer
  keeps the room the client asked for.
* When thinking is enabled, ``temperature``, ``top_p`` and ``top_k`` are dropped
  (Anthropic rejects them together with thinking).
* When ``tool_choice`` forces tool use (``required`` or a named function),
  thinking is not enabled: Anthropic rejects forced tool use with thinking, and
  the forced tool call is what the client relies on.
* When the last assistant message has tool calls but no signed thinking before
  them (a client that does not send ``reasoning_details`` back, or a turn made
  without thinking), thinking is not enabled: Anthropic rejects a tool-use turn
  whose assistant message does not start with a thinking block, so the second
  step of every tool loop would fail.
* ``reasoning.exclude`` is not translated (the gateway applies it).

Anthropic -> OpenAI (:func:`reasoning_effort_for_openai`):

* ``{"type": "enabled", "budget_tokens": N}`` -> ``reasoning_effort`` from
  :func:`budget_to_effort`.
* ``{"type": "adaptive"}`` -> ``reasoning_effort`` from ``output_config.effort``
  when given, else no reasoning parameter (the upstream's default applies).
* ``{"type": "disabled"}`` or any other type -> no reasoning parameter.
  Only ``reasoning_effort`` is sent; the OpenAI API rejects a ``reasoning`` object.

Reasoning content
-----------------
OpenAI messages carry reasoning text in ``reasoning_content`` and the signed,
replayable form in ``reasoning_details``: ``{"type": "reasoning.text", "text",
"signature"}`` for an Anthropic ``thinking`` block and ``{"type":
"reasoning.encrypted", "data"}`` for a ``redacted_thinking`` block.
"""

from __future__ import annotations

from lumyx.translate.errors import TranslationError

MIN_BUDGET = 1024
"""Smallest ``budget_tokens`` Anthropic accepts."""

_RATIOS = {"low": 0.2, "medium": 0.5, "high": 0.8}
_DEFAULT_BUDGETS = {"low": 2048, "medium": 8192, "high": 24576}
_EFFORT_ALIASES = {
    "low": "low",
    "minimal": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
    "none": None,
}


def normalize_effort(effort: str, param: str = "reasoning_effort") -> str | None:
    """Return ``"low"``, ``"medium"``, ``"high"``, or ``None`` for ``"none"``.

    Raises :class:`TranslationError` for an unknown effort.
    """
    try:
        return _EFFORT_ALIASES[effort]
    except (KeyError, TypeError):
        raise TranslationError(
            f"unsupported reasoning effort {effort!r}; use one of none, minimal, low, medium, high",
            param,
        ) from None


def effort_to_budget(effort: str, max_tokens: int | None) -> int:
    """Thinking budget (``budget_tokens``) for an effort level.

    With a known ``max_tokens`` the budget is a share of it: high 80 %, medium
    50 %, low 20 %, never below 1024. With unknown ``max_tokens``: low 2048,
    medium 8192, high 24576. Effort ``none`` gives 0 (no thinking).
    The result may be >= ``max_tokens``; see :func:`thinking_for_anthropic` for
    how a request is then adjusted.
    """
    level = normalize_effort(effort)
    if level is None:
        return 0
    if not max_tokens or max_tokens <= 0:
        return _DEFAULT_BUDGETS[level]
    return max(MIN_BUDGET, int(max_tokens * _RATIOS[level]))


def budget_to_effort(budget_tokens: int, max_tokens: int | None) -> str:
    """Effort level for a thinking budget.

    With a known ``max_tokens``: ``budget / max_tokens`` >= 0.65 is high,
    >= 0.35 medium, else low. With unknown ``max_tokens``: below 4096 is low,
    4096-16383 medium, 16384 and above high.
    """
    if max_tokens and max_tokens > 0:
        ratio = budget_tokens / max_tokens
        if ratio >= 0.65:
            return "high"
        if ratio >= 0.35:
            return "medium"
        return "low"
    if budget_tokens >= 16384:
        return "high"
    if budget_tokens >= 4096:
        return "medium"
    return "low"


def thinking_for_anthropic(body: dict, max_tokens: int) -> tuple[dict | None, int]:
    """Return ``(thinking, max_tokens)`` for an OpenAI request body.

    ``thinking`` is ``None`` when the request asks for no reasoning. See the
    module documentation for the rules.
    """
    reasoning = body.get("reasoning")
    effort = body.get("reasoning_effort")
    budget = None
    if isinstance(reasoning, dict):
        if reasoning.get("enabled") is False:
            return None, max_tokens
        if reasoning.get("effort") is not None:
            effort = reasoning["effort"]
            if normalize_effort(effort, "reasoning.effort") is None:
                return None, max_tokens
        rmax = reasoning.get("max_tokens")
        if isinstance(rmax, int) and not isinstance(rmax, bool):
            if rmax <= 0:
                return None, max_tokens
            budget = max(MIN_BUDGET, rmax)
        elif effort is None:
            effort = "medium"
    elif reasoning is not None:
        raise TranslationError("reasoning must be an object", "reasoning")
    if budget is None:
        if effort is None:
            return None, max_tokens
        budget = effort_to_budget(effort, max_tokens)
        if budget == 0:
            return None, max_tokens
    if budget >= max_tokens:
        max_tokens = budget + max_tokens
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def reasoning_effort_for_openai(body: dict) -> str | None:
    """Return the OpenAI ``reasoning_effort`` for an Anthropic request body, or ``None``."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict):
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int):
            raise TranslationError("thinking.budget_tokens must be an integer", "thinking.budget_tokens")
        return budget_to_effort(budget, body.get("max_tokens"))
    if kind == "adaptive":
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        if effort is None:
            return None
        return normalize_effort(effort, "output_config.effort")
    return None


def reasoning_text_detail(text: str, signature: str | None) -> dict:
    """One ``reasoning.text`` entry of ``reasoning_details``."""
    detail = {"type": "reasoning.text", "text": text}
    if signature:
        detail["signature"] = signature
    return detail


def encrypted_detail(data: str) -> dict:
    """One ``reasoning.encrypted`` entry of ``reasoning_details`` (a ``redacted_thinking`` block's data)."""
    return {"type": "reasoning.encrypted", "data": data}


def blocks_from_details(details: object, reasoning_content: object, *, signed_only: bool) -> list[dict]:
    """Anthropic thinking blocks for an OpenAI message's reasoning.

    * ``reasoning.text`` entries are joined in order until an entry carrying a
      ``signature`` ends the block; a signed entry without ``text`` takes the
      message's ``reasoning_content`` when it is the only thinking block.
    * ``reasoning.encrypted`` entries become ``redacted_thinking`` blocks.
    * ``reasoning.summary`` entries and unknown types are skipped.
    * ``signed_only=True`` (requests): reasoning without a signature is dropped,
      because Anthropic only accepts signed thinking blocks back.
      ``signed_only=False`` (responses): unsigned reasoning becomes a thinking
      block with an empty signature, and plain ``reasoning_content`` without
      details becomes one thinking block.
    """
    blocks: list[dict] = []
    missing_text: list[dict] = []
    pending: list[str] = []
    if isinstance(details, list):
        for entry in details:
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type")
            if kind == "reasoning.text":
                text = entry.get("text")
                if isinstance(text, str):
                    pending.append(text)
                signature = entry.get("signature")
                if signature:
                    block = {"type": "thinking", "thinking": "".join(pending), "signature": signature}
                    if not pending:
                        missing_text.append(block)
                    blocks.append(block)
                    pending = []
            elif kind == "reasoning.encrypted" and entry.get("data"):
                if pending and not signed_only:
                    blocks.append({"type": "thinking", "thinking": "".join(pending), "signature": ""})
                pending = []
                blocks.append({"type": "redacted_thinking", "data": entry["data"]})
    if pending and not signed_only:
        blocks.append({"type": "thinking", "thinking": "".join(pending), "signature": ""})
    has_text = isinstance(reasoning_content, str) and reasoning_content != ""
    if has_text:
        thinking_blocks = [b for b in blocks if b["type"] == "thinking"]
        if len(missing_text) == 1 and len(thinking_blocks) == 1:
            missing_text[0]["thinking"] = reasoning_content
        elif not thinking_blocks and not signed_only:
            blocks.insert(0, {"type": "thinking", "thinking": reasoning_content, "signature": ""})
    return blocks
