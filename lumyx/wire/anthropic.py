"""Validation of Anthropic-format requests (messages, count_tokens).

The rules are Anthropic's own, so a request this gateway accepts is one the
Anthropic API would accept too, with one addition: ``role: "system"`` turns
between the messages (Claude Code sends them), which are moved into the
top-level ``system`` before the request goes anywhere. Block types this module
does not know pass through to Anthropic upstreams untouched (translation
rejects them by name).
"""

from __future__ import annotations

from lumyx.errors import bad_request
from lumyx.wire import checks

ROLES = ("user", "assistant", "system")
TOOL_CHOICE_TYPES = ("auto", "any", "tool", "none")
THINKING_TYPES = ("enabled", "disabled", "adaptive")
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MIN_THINKING_BUDGET = 1024
MAX_MESSAGES = 100_000


def _text_block(block: dict, where: str) -> None:
    if not isinstance(block.get("text"), str):
        raise bad_request(f"'{where}.text' must be a string.", f"{where}.text")


def _image_block(block: dict, where: str) -> None:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64":
        if source.get("media_type") not in IMAGE_MEDIA_TYPES:
            raise bad_request(
                f"'{where}.source.media_type' must be one of {', '.join(IMAGE_MEDIA_TYPES)}.",
                f"{where}.source.media_type",
            )
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise bad_request(f"'{where}.source.data' must be base64 image data.", f"{where}.source.data")
    elif kind == "url":
        if not isinstance(source.get("url"), str) or not source["url"]:
            raise bad_request(f"'{where}.source.url' must be a URL.", f"{where}.source.url")
    elif kind != "file":
        raise bad_request(f"'{where}.source' must be a base64, url or file image source.", f"{where}.source")


def _tool_use_block(block: dict, where: str) -> None:
    for field in ("id", "name"):
        if not isinstance(block.get(field), str) or not block[field]:
            raise bad_request(f"'{where}.{field}' must be a non-empty string.", f"{where}.{field}")
    if not isinstance(block.get("input"), dict):
        raise bad_request(f"'{where}.input' must be an object.", f"{where}.input")


def _tool_result_block(block: dict, where: str) -> bool:
    if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
        raise bad_request(f"'{where}.tool_use_id' must be a non-empty string.", f"{where}.tool_use_id")
    content = block.get("content")
    if content is None or isinstance(content, str):
        return False
    if not isinstance(content, list):
        raise bad_request(f"'{where}.content' must be a string or an array of blocks.", f"{where}.content")
    return _blocks(content, f"{where}.content")


def _thinking_block(block: dict, where: str) -> None:
    if not isinstance(block.get("thinking"), str):
        raise bad_request(f"'{where}.thinking' must be a string.", f"{where}.thinking")


BLOCK_CHECKS = {
    "text": _text_block,
    "image": _image_block,
    "tool_use": _tool_use_block,
    "thinking": _thinking_block,
}


def _blocks(content: list, where: str) -> bool:
    """Checks content blocks; True when they carry an image."""
    has_image = False
    for j, block in enumerate(content):
        bwhere = f"{where}[{j}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise bad_request(f"'{bwhere}' must be a content block with a type.", bwhere)
        kind = block["type"]
        if kind == "tool_result":
            has_image = _tool_result_block(block, bwhere) or has_image
            continue
        check = BLOCK_CHECKS.get(kind)
        if check is not None:
            check(block, bwhere)
        has_image = has_image or kind == "image"
    return has_image


def _messages(body: dict) -> bool:
    has_image = False
    for i, where, message in checks.messages(body, MAX_MESSAGES):
        if message.get("role") not in ROLES:
            # Anthropic's own wording: clients match on it to retry without system turns.
            raise bad_request(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'", f"{where}.role")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise bad_request(f"'{where}.content' must be a string or an array of content blocks.", f"{where}.content")
        if message["role"] == "system" and not all(isinstance(b, dict) and b.get("type") == "text" for b in content):
            raise bad_request(f"'{where}.content' of a system message must be text blocks.", f"{where}.content")
        has_image = _blocks(content, f"{where}.content") or has_image
    return has_image


def hoist_system_messages(body: dict) -> dict:
    """The request with ``role: "system"`` messages moved into the top-level ``system``.

    Clients such as Claude Code put system turns between the messages; every
    upstream takes system text only at the top. Their text joins ``system``
    (as text blocks, after the existing ones, in order). A request without
    such messages is returned as it is.
    """
    messages = body["messages"]
    if not any(m.get("role") == "system" for m in messages):
        return body
    system = body.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) and system else list(system or [])
    kept = []
    for message in messages:
        if message.get("role") != "system":
            kept.append(message)
            continue
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        blocks.extend(p for p in parts if p.get("type") == "text" and p.get("text"))
    if not kept:
        raise bad_request("'messages' must contain a user message besides system messages.", "messages")
    return {**body, "system": blocks, "messages": kept}


def _system(body: dict) -> None:
    system = body.get("system")
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise bad_request("'system' must be a string or an array of text blocks.", "system")
    for j, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise bad_request(f"'system[{j}]' must be a text block.", f"system[{j}]")


def _tools(body: dict) -> None:
    tools = checks.array(body, "tools", max_items=512)
    for i, tool in enumerate(tools or ()):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            raise bad_request(f"'tools[{i}].name' is required.", f"tools[{i}].name")
        kind = tool.get("type")
        if (kind is None or kind == "custom") and not isinstance(tool.get("input_schema"), dict):
            raise bad_request(f"'tools[{i}].input_schema' must be a JSON Schema object.", f"tools[{i}].input_schema")
    choice = checks.object_or_none(body, "tool_choice")
    if choice is None:
        return
    if choice.get("type") not in TOOL_CHOICE_TYPES:
        raise bad_request(f"'tool_choice.type' must be one of {', '.join(TOOL_CHOICE_TYPES)}.", "tool_choice.type")
    if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
        raise bad_request("'tool_choice.name' is required when tool_choice.type is \"tool\".", "tool_choice.name")
    checks.boolean(choice, "disable_parallel_tool_use")


def _thinking(body: dict, max_tokens: int | None) -> None:
    thinking = checks.object_or_none(body, "thinking")
    if thinking is None:
        return
    kind = thinking.get("type")
    if kind not in THINKING_TYPES:
        raise bad_request(f"'thinking.type' must be one of {', '.join(THINKING_TYPES)}.", "thinking.type")
    if kind != "enabled":
        return
    budget = checks.integer(thinking, "budget_tokens", MIN_THINKING_BUDGET, required=True)
    if max_tokens is not None and budget >= max_tokens:
        raise bad_request("'max_tokens' must be greater than 'thinking.budget_tokens'.", "max_tokens")


def _common(body) -> bool:
    checks.require_object(body)
    checks.string(body, "model", required=True, max_length=200)
    has_image = _messages(body)
    _system(body)
    _tools(body)
    return has_image


def validate_messages(body) -> dict:
    """Checks a Messages request; returns facts the gateway needs."""
    has_image = _common(body)
    max_tokens = checks.integer(body, "max_tokens", 1, required=True)
    checks.boolean(body, "stream")
    checks.number(body, "temperature", 0, 1)
    checks.number(body, "top_p", 0, 1)
    checks.integer(body, "top_k", 0)
    checks.object_or_none(body, "metadata")
    stops = checks.array(body, "stop_sequences", max_items=8191)
    if stops and not all(isinstance(s, str) for s in stops):
        raise bad_request("'stop_sequences' must be an array of strings.", "stop_sequences")
    _thinking(body, max_tokens)
    return {"has_image": has_image}


def validate_count_tokens(body) -> dict:
    has_image = _common(body)
    _thinking(body, None)
    return {"has_image": has_image}
