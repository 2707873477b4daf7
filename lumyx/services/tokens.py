"""Token estimates for when an upstream reports none (and for count_tokens on
upstreams that have no such endpoint): the words and punctuation of every
text in the prompt, plus a fixed share per message and per image."""
from __future__ import annotations

from ..providers.local import count_tokens

PER_MESSAGE = 3
PER_IMAGE = 85
SKIPPED_KEYS = frozenset(("data", "url", "media_type", "type", "id", "tool_use_id", "tool_call_id",
                          "signature", "cache_control"))


def _text_tokens(value, key: str | None = None) -> int:
    if isinstance(value, str):
        return 0 if key in SKIPPED_KEYS else count_tokens(value)
    if isinstance(value, dict):
        if value.get("type") in ("image", "image_url"):
            return PER_IMAGE
        return sum(_text_tokens(v, k) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_tokens(v, key) for v in value)
    return 0


def estimate_input(body: dict) -> int:
    """Prompt tokens of a chat (OpenAI) or messages (Anthropic) request."""
    messages = body.get("messages") or []
    total = PER_MESSAGE * len(messages) + _text_tokens(messages)
    total += _text_tokens(body.get("system"), "system") + _text_tokens(body.get("tools"), "tools")
    return total
