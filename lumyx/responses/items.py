"""The items of the Responses API as Lumyx keeps them: the request's ``input`` as
a list, ids for the client's items that have none, and what is hidden from a
client that did not ask for ``encrypted_content``."""

from __future__ import annotations

import uuid

REASONING = "reasoning"
ENCRYPTED = "encrypted_content"
# The private field of a reasoning item made from a chat/messages upstream: the
# replayable reasoning (lumyx.translate.reasoning), sealed before a client sees it.
DETAILS = "reasoning_details"
INCLUDE_ENCRYPTED = "reasoning.encrypted_content"
# What ``include`` may name (OpenAI's values); only INCLUDE_ENCRYPTED changes what Lumyx answers.
INCLUDABLE = frozenset(
    {
        INCLUDE_ENCRYPTED,
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
        "code_interpreter_call.outputs",
        "message.output_text.logprobs",
    }
)

# The id prefix of an input item Lumyx names, by type.
ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fc",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctc",
    "reasoning": "rs",
}


def input_list(raw) -> list:
    """The request's ``input`` as a list of items: a string is one user message."""
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": raw}]}]
    if isinstance(raw, list):
        return list(raw)
    return []  # absent (the wire checks refuse anything else)


def kind(item: dict) -> str | None:
    """The item's type; a message may leave it out (the Agents SDK does)."""
    return item.get("type") or ("message" if "role" in item else None)


def with_ids(items: list) -> list:
    """The client's input items as stored for ``input_items``: each with an id (the
    client's own kept) and messages in full form (``type``, a list of parts)."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        item = dict(item)
        item_type = kind(item)
        if item_type == "message":
            item["type"] = "message"
            content = item.get("content")
            if isinstance(content, str):
                if item.get("role") == "assistant":
                    item["content"] = [{"type": "output_text", "text": content, "annotations": []}]
                else:
                    item["content"] = [{"type": "input_text", "text": content}]
        if not isinstance(item.get("id"), str) or not item["id"]:
            item = {"id": f"{ID_PREFIXES.get(item_type or '', 'item')}_{uuid.uuid4().hex}", **item}
        out.append(item)
    return out


def is_reasoning(item) -> bool:
    return isinstance(item, dict) and item.get("type") == REASONING


def without_encrypted(items: list) -> list:
    """The items with ``encrypted_content`` taken off reasoning items (copies where changed)."""
    return [
        {k: v for k, v in item.items() if k != ENCRYPTED} if is_reasoning(item) and ENCRYPTED in item else item
        for item in items
    ]


def for_client(response: dict, include_encrypted: bool) -> dict:
    """The Response object a client sees: reasoning without ``encrypted_content``
    unless it asked for it."""
    output = response.get("output")
    if include_encrypted or not isinstance(output, list):
        return response
    return {**response, "output": without_encrypted(output)}
