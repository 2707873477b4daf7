"""Validation of OpenAI-format requests (chat, legacy completions, embeddings).

Only what would otherwise fail later or upstream is checked; unknown but
valid fields pass through untouched.
"""

from __future__ import annotations

from lumyx.errors import bad_request
from lumyx.wire import checks

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")
TOOL_CHOICE_WORDS = ("auto", "none", "required")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
MAX_MESSAGES = 100_000


def _content(message: dict, where: str) -> bool:
    """Checks a message's content; True when it carries an image."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return False
    has_image = False
    for pwhere, part in checks.content_parts(message, where, PART_TYPES):
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise bad_request(f"'{pwhere}.text' must be a string.", f"{pwhere}.text")
        if part["type"] == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise bad_request(f"'{pwhere}.image_url.url' must be a URL or a data URI.", f"{pwhere}.image_url")
            has_image = True
    return has_image


def _messages(body: dict) -> bool:
    has_image = False
    for _i, where, message in checks.messages(body, MAX_MESSAGES):
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(f"'{where}.role' must be one of {', '.join(ROLES)}.", f"{where}.role")
        has_image = _content(message, where) or has_image
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise bad_request(f"'{where}.tool_call_id' is required for tool messages.", f"{where}.tool_call_id")
        calls = message.get("tool_calls")
        if calls is not None:
            if role != "assistant" or not isinstance(calls, list):
                raise bad_request(
                    f"'{where}.tool_calls' must be an array on an assistant message.", f"{where}.tool_calls"
                )
            for j, call in enumerate(calls):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                    raise bad_request(
                        f"'{where}.tool_calls[{j}].function.name' is required.", f"{where}.tool_calls[{j}]"
                    )
    return has_image


def _tools(body: dict) -> None:
    tools = checks.array(body, "tools", max_items=512)
    for i, tool in enumerate(tools or ()):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise bad_request(f"'tools[{i}].function.name' is required.", f"tools[{i}]")
        if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
            raise bad_request(f"'tools[{i}].function.parameters' must be a JSON Schema object.", f"tools[{i}]")
    choice = body.get("tool_choice")
    if choice is None or choice in TOOL_CHOICE_WORDS:
        return
    if (
        isinstance(choice, dict)
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        return
    raise bad_request(
        '\'tool_choice\' must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}.',
        "tool_choice",
    )


def _reasoning(body: dict) -> None:
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in EFFORTS:
        raise bad_request(f"'reasoning_effort' must be one of {', '.join(EFFORTS)}.", "reasoning_effort")
    reasoning = checks.object_or_none(body, "reasoning")
    if reasoning:
        if reasoning.get("effort") is not None and reasoning["effort"] not in EFFORTS:
            raise bad_request(f"'reasoning.effort' must be one of {', '.join(EFFORTS)}.", "reasoning.effort")
        checks.integer(reasoning, "max_tokens", 0)
        checks.boolean(reasoning, "enabled")
        checks.boolean(reasoning, "exclude")


def _sampling(body: dict) -> None:
    checks.boolean(body, "stream")
    checks.number(body, "temperature", 0, 2)
    checks.number(body, "top_p", 0, 1)
    checks.number(body, "frequency_penalty", -2, 2)
    checks.number(body, "presence_penalty", -2, 2)
    checks.integer(body, "max_tokens", 1)
    checks.integer(body, "max_completion_tokens", 1)
    checks.integer(body, "seed", -(2**63), 2**63 - 1)
    checks.integer(body, "n", 1, 128)
    checks.string(body, "user", max_length=512)
    checks.stop_list(body, "stop", 4)
    checks.object_or_none(body, "stream_options")


def validate_chat(body) -> dict:
    """Checks a chat completion request; returns facts the gateway needs."""
    checks.require_object(body)
    checks.string(body, "model", required=True, max_length=200)
    has_image = _messages(body)
    _sampling(body)
    _tools(body)
    _reasoning(body)
    fmt = checks.object_or_none(body, "response_format")
    if fmt is not None and fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise bad_request("'response_format.type' must be text, json_object or json_schema.", "response_format")
    return {"has_image": has_image}


def validate_completion(body) -> None:
    checks.require_object(body)
    checks.string(body, "model", required=True, max_length=200)
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        if not prompt or not all(isinstance(p, str) for p in prompt):
            raise bad_request("'prompt' must be a string or a non-empty array of strings.", "prompt")
    elif not isinstance(prompt, str):
        raise bad_request("'prompt' is required and must be a string or an array of strings.", "prompt")
    _sampling(body)


def _token(value) -> bool:
    """A token id: an integer, and not a boolean (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def validate_embeddings(body) -> list:
    """Checks an embeddings request; returns its inputs as a list."""
    checks.require_object(body)
    checks.string(body, "model", required=True, max_length=200)
    value = body.get("input")
    if isinstance(value, str):
        inputs = [value]
    elif (
        isinstance(value, list)
        and value
        and (
            all(isinstance(v, str) for v in value)
            or all(_token(v) for v in value)
            or all(isinstance(v, list) and all(_token(t) for t in v) for v in value)
        )
    ):
        inputs = value if not isinstance(value[0], int) else [value]
    else:
        raise bad_request("'input' must be a string, an array of strings, or token arrays.", "input")
    if len(inputs) > 2048:
        raise bad_request("'input' accepts at most 2048 items.", "input")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise bad_request("'encoding_format' must be float or base64.", "encoding_format")
    checks.integer(body, "dimensions", 1, 65536)
    return inputs
