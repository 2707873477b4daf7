"""A persona's fields: :class:`PersonaSpec` (what using a persona needs) and the
checks a create or update body passes, each failure a 400 naming the field.

Default parameters are checked as the API checks them (:mod:`lumyx.wire.checks`);
HTTP tools' URLs as the tool runner does (:func:`lumyx.agents.tools.url_problem`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from lumyx.agents.tools import BUILTIN_NAMES, HTTP_METHODS, url_problem
from lumyx.catalog.snapshot import Catalog
from lumyx.db.models import Persona
from lumyx.errors import ApiError, bad_request
from lumyx.wire import checks
from lumyx.wire.openai import EFFORTS

MODEL_PREFIX = "persona:"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELDS = ("slug", "name", "description", "system_prompt", "model", "defaults", "tools", "http_tools")
READ_ONLY = ("id", "object", "created_at", "updated_at")
DEFAULT_KEYS = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "reasoning",
)
REASONING_KEYS = ("effort", "max_tokens", "enabled", "exclude")
HTTP_TOOL_KEYS = ("name", "description", "parameters", "url", "method")
MAX_TOOLS = 64
MAX_HTTP_TOOLS = 16
MAX_SYSTEM_PROMPT = 100_000


@dataclass(frozen=True)
class PersonaSpec:
    """What using a persona needs, detached from the database."""

    slug: str
    model: str
    system_prompt: str = ""
    defaults: dict = field(default_factory=dict)
    tools: tuple = ()
    http_tools: tuple = ()


def spec_of(row: Persona) -> PersonaSpec:
    return PersonaSpec(
        slug=row.slug,
        model=row.model,
        system_prompt=row.system_prompt or "",
        defaults=dict(row.defaults or {}),
        tools=tuple(row.tools or ()),
        http_tools=tuple(row.http_tools or ()),
    )


@contextmanager
def _under(prefix: str):
    """Re-raises a field check's 400 with the field named under ``prefix``."""
    try:
        yield
    except ApiError as error:
        if error.param is None:
            raise
        param = f"{prefix}.{error.param}"
        raise bad_request(error.message.replace(f"'{error.param}'", f"'{param}'"), param) from None


def _text(data: dict, key: str, max_length: int, *, required: bool = False) -> str:
    """A text field: a string of at most ``max_length`` characters ("" when absent);
    a ``required`` one must be there and not blank."""
    value = checks.string(data, key, required=required, max_length=max_length)
    if required and not value.strip():
        raise bad_request(f"'{key}' must not be empty.", key)
    return value or ""


def _matches(value: object, pattern: re.Pattern) -> bool:
    """A string the pattern accepts (slugs, tool names)."""
    return isinstance(value, str) and pattern.match(value) is not None


def _known_keys(data: dict, known: tuple[str, ...], where: str, problem: str = "is not supported") -> None:
    """Refuses the first key of ``data`` that is not ``known``, naming it under ``where``."""
    for key in data:
        if key not in known:
            raise bad_request(f"'{where}.{key}' {problem}; use {', '.join(known)}.", f"{where}.{key}")


def _array(value: object, key: str, must_be: str, max_items: int) -> list:
    """A list field of at most ``max_items`` items ([] when absent)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"'{key}' must be {must_be}.", key)
    if len(value) > max_items:
        raise bad_request(f"'{key}' has too many items (at most {max_items}).", key)
    return value


def _reasoning(value) -> dict:
    if not isinstance(value, dict):
        raise bad_request("'reasoning' must be an object.", "reasoning")
    _known_keys(value, REASONING_KEYS, "reasoning")
    if value.get("effort") is not None and value["effort"] not in EFFORTS:
        raise bad_request(f"'reasoning.effort' must be one of {', '.join(EFFORTS)}.", "reasoning.effort")
    with _under("reasoning"):
        budget = checks.integer(value, "max_tokens", 0)
        checks.boolean(value, "enabled")
        checks.boolean(value, "exclude")
    out = {k: v for k, v in value.items() if v is not None}
    if budget is not None:
        out["max_tokens"] = budget
    return out


def clean_defaults(value) -> dict:
    """The persona's default parameters: only known keys, each checked as the API checks it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request("'defaults' must be an object.", "defaults")
    _known_keys(value, DEFAULT_KEYS, "defaults", "is not a supported default")
    out = {k: v for k, v in value.items() if v is not None}
    with _under("defaults"):
        checks.number(out, "temperature", 0, 2)
        checks.number(out, "top_p", 0, 1)
        checks.number(out, "presence_penalty", -2, 2)
        checks.number(out, "frequency_penalty", -2, 2)
        for key, low, high in (("max_tokens", 1, checks.MAX_INT), ("seed", -(2**63), 2**63 - 1)):
            number = checks.integer(out, key, low, high)
            if number is not None:
                out[key] = number
        checks.stop_list(out, "stop", 4)
        if "reasoning" in out:
            out["reasoning"] = _reasoning(out["reasoning"])
    return out


def is_slug(value: object) -> bool:
    return _matches(value, SLUG_RE)


def _schema(value, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"'{where}' must be a JSON Schema object.", where)
    return value


def _tool_name(value, where: str, seen: set[str]) -> str:
    if not _matches(value, TOOL_NAME_RE):
        raise bad_request(f"'{where}' must be 1-64 letters, digits, '_' or '-'.", where)
    if value in seen:
        raise bad_request(f"'{where}': the tool name '{value}' is used twice.", where)
    seen.add(value)
    return value


def clean_tools(value, seen: set[str]) -> list:
    """OpenAI function tools, normalised to {type, function: {name, description?, parameters?, strict?}}."""
    out = []
    for i, tool in enumerate(_array(value, "tools", "an array of function tools", MAX_TOOLS)):
        where = f"tools[{i}]"
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type", "function") != "function":
            raise bad_request(f'\'{where}\' must be {{"type": "function", "function": {{"name": ...}}}}.', where)
        cleaned = {"name": _tool_name(fn.get("name"), f"{where}.function.name", seen)}
        description = fn.get("description")
        if description is not None:
            if not isinstance(description, str) or len(description) > 1024:
                raise bad_request(
                    f"'{where}.function.description' must be a string of at most 1024 characters.",
                    f"{where}.function.description",
                )
            cleaned["description"] = description
        parameters = _schema(fn.get("parameters"), f"{where}.function.parameters")
        if parameters is not None:
            cleaned["parameters"] = parameters
        if fn.get("strict") is not None:
            if not isinstance(fn["strict"], bool):
                raise bad_request(f"'{where}.function.strict' must be a boolean.", f"{where}.function.strict")
            cleaned["strict"] = fn["strict"]
        out.append({"type": "function", "function": cleaned})
    return out


def clean_http_tools(value, seen: set[str]) -> list:
    """HTTP tools: {name, description, parameters, url, method}; the host is checked when one runs."""
    out = []
    for i, tool in enumerate(_array(value, "http_tools", "an array", MAX_HTTP_TOOLS)):
        where = f"http_tools[{i}]"
        if not isinstance(tool, dict):
            raise bad_request(f"'{where}' must be an object with name, url and method.", where)
        _known_keys(tool, HTTP_TOOL_KEYS, where)
        name = _tool_name(tool.get("name"), f"{where}.name", seen)
        if name in BUILTIN_NAMES:
            raise bad_request(f"'{where}.name': '{name}' is the name of a built-in tool.", f"{where}.name")
        problem = url_problem(tool.get("url"))
        if problem:
            raise bad_request(f"'{where}.url' {problem}.", f"{where}.url")
        method = tool.get("method") or "GET"
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            raise bad_request(f"'{where}.method' must be one of {', '.join(HTTP_METHODS)}.", f"{where}.method")
        with _under(where):
            description = _text(tool, "description", 1024)
        parameters = _schema(tool.get("parameters"), f"{where}.parameters")
        out.append(
            {
                "name": name,
                "description": description,
                "parameters": parameters or {"type": "object", "properties": {}},
                "url": tool["url"],
                "method": method.upper(),
            }
        )
    return out


def slugify(name: str) -> str:
    """The slug a name gives when the body names none."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def _model(value, catalog: Catalog) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request("'model' is required: a model id of the catalog.", "model")
    model = catalog.get(value)
    if model is None:
        raise bad_request(f"'model': the model '{value[:200]}' does not exist or is not available.", "model")
    if model.is_embedding:
        raise bad_request(f"'model': '{value}' is an embedding model; a persona needs a chat model.", "model")
    return value


def clean(data, catalog: Catalog, current: Persona | None) -> dict:
    """The fields to store, from a create (current None) or an update body."""
    checks.require_object(data)
    for key in data:
        if key not in FIELDS and key not in READ_ONLY:
            raise bad_request(f"'{key}' is not a persona field; use {', '.join(FIELDS)}.", key)
    out: dict = {}
    creating = current is None
    if creating or "name" in data:
        out["name"] = _text(data, "name", 100, required=True).strip()
    if "slug" in data or creating:
        slug = data.get("slug")
        if slug is None and creating:
            slug = slugify(out["name"])
            if not _matches(slug, SLUG_RE):
                raise bad_request("'slug' is required when the name gives none ([a-z0-9-], at most 64).", "slug")
        if not _matches(slug, SLUG_RE):
            raise bad_request("'slug' must be 1-64 characters of a-z, 0-9 and '-', not starting with '-'.", "slug")
        out["slug"] = slug
    if "description" in data:
        out["description"] = _text(data, "description", 500)
    if "system_prompt" in data:
        out["system_prompt"] = _text(data, "system_prompt", MAX_SYSTEM_PROMPT)
    if creating or "model" in data:
        out["model"] = _model(data.get("model"), catalog)
    if "defaults" in data:
        out["defaults"] = clean_defaults(data["defaults"])
    if "tools" in data or "http_tools" in data:
        seen: set[str] = set()
        tools = data["tools"] if "tools" in data else (current.tools if current else None)
        http_tools = data["http_tools"] if "http_tools" in data else (current.http_tools if current else None)
        cleaned_tools, cleaned_http = clean_tools(tools, seen), clean_http_tools(http_tools, seen)
        if "tools" in data:
            out["tools"] = cleaned_tools
        if "http_tools" in data:
            out["http_tools"] = cleaned_http
    model_id = out.get("model") or (current.model if current else None)
    has_tools = out.get("tools", current.tools if current else None) or out.get(
        "http_tools", current.http_tools if current else None
    )
    model = catalog.get(model_id) if model_id else None
    if has_tools and model is not None and not model.supports("tools"):
        raise bad_request(f"The model '{model.id}' does not support tools.", "tools" if "tools" in data else "model")
    return out
