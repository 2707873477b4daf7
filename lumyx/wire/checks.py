"""Small field checks shared by both wire formats. Each failure is an ApiError 400
naming the parameter, in the shape of the endpoint that raised it."""

from __future__ import annotations

import math
from collections.abc import Iterator

from lumyx.errors import bad_request

MAX_INT = 2**31 - 1


def require_object(body, what: str = "Request body") -> dict:
    if not isinstance(body, dict):
        raise bad_request(f"{what} must be a JSON object.")
    return body


def string(body: dict, key: str, *, required: bool = False, max_length: int = 100_000) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"'{key}' is required.", key)
        return None
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string.", key)
    if required and not value:
        raise bad_request(f"'{key}' must not be empty.", key)
    if len(value) > max_length:
        raise bad_request(f"'{key}' is too long (at most {max_length} characters).", key)
    return value


def boolean(body: dict, key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"'{key}' must be a boolean.", key)
    return value


def number(body: dict, key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise bad_request(f"'{key}' must be a number.", key)
    if not low <= value <= high:
        raise bad_request(f"'{key}' must be between {low:g} and {high:g}.", key)
    return value


def integer(body: dict, key: str, low: int = 0, high: int = MAX_INT, *, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"'{key}' is required.", key)
        return None
    if isinstance(value, float) and value.is_integer():
        # 5.0 is the integer 5 in JSON; what runs later (and the upstream) gets an int.
        value = body[key] = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{key}' must be an integer.", key)
    if not low <= value <= high:
        raise bad_request(f"'{key}' must be between {low} and {high}.", key)
    return value


def stop_list(body: dict, key: str, max_items: int) -> None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"'{key}' must be a string or an array of strings.", key)
    if len(value) > max_items:
        raise bad_request(f"'{key}' accepts at most {max_items} sequences.", key)


def object_or_none(body: dict, key: str) -> dict | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"'{key}' must be an object.", key)
    return value


def array(body: dict, key: str, *, required: bool = False, max_items: int = 100_000) -> list | None:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"'{key}' is required.", key)
        return None
    if not isinstance(value, list):
        raise bad_request(f"'{key}' must be an array.", key)
    if len(value) > max_items:
        raise bad_request(f"'{key}' has too many items (at most {max_items}).", key)
    return value


def messages(body: dict, max_items: int) -> Iterator[tuple[int, str, dict]]:
    """The request's ``messages``, required and not empty, each one an object:
    (index, its path for errors, the message)."""
    items = array(body, "messages", required=True, max_items=max_items)
    if not items:
        raise bad_request("'messages' must contain at least one message.", "messages")
    for i, message in enumerate(items):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad_request(f"'{where}' must be an object.", where)
        yield i, where, message


def content_parts(message: dict, where: str, part_types: tuple[str, ...]) -> Iterator[tuple[str, dict]]:
    """A message's ``content`` array (a string or no content is the caller's to allow),
    each part an object with a type in ``part_types``: (its path for errors, the part)."""
    content = message.get("content")
    if not isinstance(content, list):
        raise bad_request(f"'{where}.content' must be a string or an array of content parts.", f"{where}.content")
    for j, part in enumerate(content):
        pwhere = f"{where}.content[{j}]"
        if not isinstance(part, dict) or part.get("type") not in part_types:
            raise bad_request(f"'{pwhere}' must be a content part with type one of {', '.join(part_types)}.", pwhere)
        yield pwhere, part
