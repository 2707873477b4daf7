"""Validation of OpenAI Responses API requests (``POST /responses``).

Checked: what every route needs to read the request — the model, the shape of
``input`` (a string, or items: messages with their content parts, tool calls
and their outputs, reasoning items, item references), the tools, and the
types and ranges of the parameters. Item and tool types this gateway does not
know pass on untouched (the route's translation decides what it can send);
unknown top-level fields pass through too (Codex sends ``client_metadata``).
Client-made item ids are not checked for shape (Codex's are ``msg_<uuid>``).
"""

from __future__ import annotations

from lumyx.errors import bad_request
from lumyx.wire import checks
from lumyx.wire.openai import EFFORTS

MAX_ITEMS = 100_000
ROLES = ("user", "assistant", "system", "developer")
PART_TYPES = ("input_text", "input_image", "input_file", "output_text", "refusal", "summary_text", "reasoning_text")
TOOL_CHOICE_WORDS = ("auto", "none", "required")
SUMMARIES = ("auto", "concise", "detailed")
VERBOSITIES = ("low", "medium", "high")
FORMATS = ("text", "json_object", "json_schema")
TRUNCATIONS = ("auto", "disabled")
# Item type -> its string fields that must be present.
ITEM_FIELDS = {
    "function_call": ("call_id", "name", "arguments"),
    "custom_tool_call": ("call_id", "name", "input"),
    "function_call_output": ("call_id",),
    "custom_tool_call_output": ("call_id",),
    "item_reference": ("id",),
}


def _field(item: dict, key: str, where: str) -> None:
    if not isinstance(item.get(key), str):
        raise bad_request(f"'{where}.{key}' must be a string.", f"{where}.{key}")


def _content(item: dict, where: str) -> bool:
    """Checks a message item's content; True when it carries an image."""
    content = item.get("content")
    if isinstance(content, str):
        return False
    has_image = False
    for pwhere, part in checks.content_parts(item, where, PART_TYPES):
        kind = part["type"]
        if kind in ("input_text", "output_text", "summary_text", "reasoning_text"):
            _field(part, "text", pwhere)
        elif kind == "input_image":
            if not isinstance(part.get("image_url"), str) and not isinstance(part.get("file_id"), str):
                raise bad_request(f"'{pwhere}' needs an 'image_url' (a URL or a data URI) or a 'file_id'.", pwhere)
            has_image = True
    return has_image


def _output(item: dict, where: str) -> None:
    output = item.get("output")
    if not isinstance(output, (str, list)):
        raise bad_request(f"'{where}.output' must be a string or an array of content parts.", f"{where}.output")


def _item(item, where: str) -> bool:
    if not isinstance(item, dict):
        raise bad_request(f"'{where}' must be an object.", where)
    kind = item.get("type")
    if kind is None and "role" in item:  # the Agents SDK sends messages without a type
        kind = "message"
    if not isinstance(kind, str):
        raise bad_request(f"'{where}.type' is required.", f"{where}.type")
    if "id" in item and not (isinstance(item["id"], str) and item["id"]):
        raise bad_request(f"'{where}.id' must be a non-empty string.", f"{where}.id")
    if kind == "message":
        if item.get("role") not in ROLES:
            raise bad_request(f"'{where}.role' must be one of {', '.join(ROLES)}.", f"{where}.role")
        return _content(item, where)
    for key in ITEM_FIELDS.get(kind, ()):
        _field(item, key, where)
    if kind in ("function_call_output", "custom_tool_call_output"):
        _output(item, where)
    elif kind == "reasoning":
        if not isinstance(item.get("summary", []), list):
            raise bad_request(f"'{where}.summary' must be an array.", f"{where}.summary")
        encrypted = item.get("encrypted_content")
        if encrypted is not None and not isinstance(encrypted, str):
            raise bad_request(f"'{where}.encrypted_content' must be a string.", f"{where}.encrypted_content")
    return False


def _input(body: dict) -> bool:
    value = body.get("input")
    if isinstance(value, str):
        return False
    if value is None:
        if body.get("previous_response_id") is None:
            raise bad_request("'input' is required.", "input")
        return False
    items = checks.array(body, "input", max_items=MAX_ITEMS)
    has_image = False
    for i, item in enumerate(items):
        has_image = _item(item, f"input[{i}]") or has_image
    return has_image


def _tools(body: dict) -> None:
    for i, tool in enumerate(checks.array(body, "tools", max_items=512) or ()):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise bad_request(f"'{where}.type' is required.", where)
        if tool["type"] in ("function", "custom", "namespace") and not (
            isinstance(tool.get("name"), str) and tool["name"]
        ):
            raise bad_request(f"'{where}.name' is required.", f"{where}.name")
        if (
            tool["type"] == "function"
            and tool.get("parameters") is not None
            and not isinstance(tool["parameters"], dict)
        ):
            raise bad_request(f"'{where}.parameters' must be a JSON Schema object.", f"{where}.parameters")
        if tool["type"] == "namespace" and not isinstance(tool.get("tools"), list):
            raise bad_request(f"'{where}.tools' must be an array.", f"{where}.tools")
    choice = body.get("tool_choice")
    if (
        choice is None
        or choice in TOOL_CHOICE_WORDS
        or (isinstance(choice, dict) and isinstance(choice.get("type"), str))
    ):
        return
    raise bad_request('\'tool_choice\' must be "auto", "none", "required" or an object with a type.', "tool_choice")


def _reasoning_and_text(body: dict) -> None:
    reasoning = checks.object_or_none(body, "reasoning") or {}
    if reasoning.get("effort") is not None and reasoning["effort"] not in EFFORTS:
        raise bad_request(f"'reasoning.effort' must be one of {', '.join(EFFORTS)}.", "reasoning.effort")
    if reasoning.get("summary") is not None and reasoning["summary"] not in SUMMARIES:
        raise bad_request(f"'reasoning.summary' must be one of {', '.join(SUMMARIES)}.", "reasoning.summary")
    text = checks.object_or_none(body, "text") or {}
    if text.get("verbosity") is not None and text["verbosity"] not in VERBOSITIES:
        raise bad_request(f"'text.verbosity' must be one of {', '.join(VERBOSITIES)}.", "text.verbosity")
    fmt = text.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, dict) or fmt.get("type") not in FORMATS:
        raise bad_request(f"'text.format.type' must be one of {', '.join(FORMATS)}.", "text.format")
    if fmt["type"] == "json_schema" and not (isinstance(fmt.get("name"), str) and isinstance(fmt.get("schema"), dict)):
        raise bad_request("'text.format' of type json_schema needs a 'name' and a 'schema' object.", "text.format")


def validate_responses(body) -> dict:
    """Checks a Responses request; returns facts the gateway needs."""
    checks.require_object(body)
    checks.string(body, "model", required=True, max_length=200)
    has_image = _input(body)
    checks.string(body, "instructions", max_length=10_000_000)
    checks.string(body, "previous_response_id", max_length=200)
    checks.string(body, "user", max_length=512)
    checks.string(body, "prompt_cache_key", max_length=1024)
    for key in ("stream", "store", "parallel_tool_calls", "background"):
        checks.boolean(body, key)
    checks.number(body, "temperature", 0, 2)
    checks.number(body, "top_p", 0, 1)
    checks.integer(body, "max_output_tokens", 1)
    checks.integer(body, "top_logprobs", 0, 20)
    checks.object_or_none(body, "metadata")
    include = checks.array(body, "include", max_items=32) or ()
    if not all(isinstance(value, str) for value in include):
        raise bad_request("'include' must be an array of strings.", "include")
    if body.get("truncation") is not None and body["truncation"] not in TRUNCATIONS:
        raise bad_request("'truncation' must be auto or disabled.", "truncation")
    _tools(body)
    _reasoning_and_text(body)
    return {"has_image": has_image}
