"""Personas: saved presets an account owns (a system prompt, a model, default
parameters, tools), and what using one does to a request.

Management (``create``, ``update``, ``delete``, ``get``, ``listing``) always
filters by account: another account's persona is simply not found.

Using a persona (``"model": "persona:<slug>"`` or a ``"persona": "<slug>"``
field) is two steps, applied by the views right after validation and before
the model is resolved:

* :func:`requested` finds the persona the request names (one query, only when
  it names one);
* :func:`apply` (pure) rewrites the body: the persona's model (unless the
  request names a real model), its system prompt first (OpenAI: a system
  message before the others; Anthropic: joined before ``system``), its default
  parameters and function tools where the request has none of its own. The
  request's explicit fields always win. Everything after — billing, limits,
  usage — sees the underlying model.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lumyx.agents.tools import BUILTIN_NAMES, HTTP_METHODS, url_problem
from lumyx.catalog.snapshot import Catalog
from lumyx.db import db
from lumyx.db.models import Persona
from lumyx.db.models._types import utcnow
from lumyx.errors import ApiError, bad_request
from lumyx.translate import TranslationError
from lumyx.translate.reasoning import thinking_for_anthropic
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
MAX_PERSONAS = 500
MAX_TOOLS = 64
MAX_HTTP_TOOLS = 16
MAX_SYSTEM_PROMPT = 100_000
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100


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


# -- validation --------------------------------------------------------------


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
    value = data.get(key)
    if value is None:
        if required:
            raise bad_request(f"'{key}' is required.", key)
        return ""
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string.", key)
    if len(value) > max_length:
        raise bad_request(f"'{key}' is too long (at most {max_length} characters).", key)
    if required and not value.strip():
        raise bad_request(f"'{key}' must not be empty.", key)
    return value


def _reasoning(value) -> dict:
    if not isinstance(value, dict):
        raise bad_request("'reasoning' must be an object.", "reasoning")
    for key in value:
        if key not in REASONING_KEYS:
            raise bad_request(
                f"'reasoning.{key}' is not supported; use {', '.join(REASONING_KEYS)}.", f"reasoning.{key}"
            )
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
    for key in value:
        if key not in DEFAULT_KEYS:
            raise bad_request(
                f"'defaults.{key}' is not a supported default; use {', '.join(DEFAULT_KEYS)}.", f"defaults.{key}"
            )
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


def _schema(value, where: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"'{where}' must be a JSON Schema object.", where)
    return value


def _tool_name(value, where: str, seen: set[str]) -> str:
    if not isinstance(value, str) or not TOOL_NAME_RE.match(value):
        raise bad_request(f"'{where}' must be 1-64 letters, digits, '_' or '-'.", where)
    if value in seen:
        raise bad_request(f"'{where}': the tool name '{value}' is used twice.", where)
    seen.add(value)
    return value


def clean_tools(value, seen: set[str]) -> list:
    """OpenAI function tools, normalised to {type, function: {name, description?, parameters?, strict?}}."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("'tools' must be an array of function tools.", "tools")
    if len(value) > MAX_TOOLS:
        raise bad_request(f"'tools' has too many items (at most {MAX_TOOLS}).", "tools")
    out = []
    for i, tool in enumerate(value):
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
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request("'http_tools' must be an array.", "http_tools")
    if len(value) > MAX_HTTP_TOOLS:
        raise bad_request(f"'http_tools' has too many items (at most {MAX_HTTP_TOOLS}).", "http_tools")
    out = []
    for i, tool in enumerate(value):
        where = f"http_tools[{i}]"
        if not isinstance(tool, dict):
            raise bad_request(f"'{where}' must be an object with name, url and method.", where)
        for key in tool:
            if key not in HTTP_TOOL_KEYS:
                raise bad_request(
                    f"'{where}.{key}' is not supported; use {', '.join(HTTP_TOOL_KEYS)}.", f"{where}.{key}"
                )
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


def _clean(data, catalog: Catalog, current: Persona | None) -> dict:
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
            if not SLUG_RE.match(slug):
                raise bad_request("'slug' is required when the name gives none ([a-z0-9-], at most 64).", "slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
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


# -- management ----------------------------------------------------------------


def _epoch(moment) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def to_api(row: Persona) -> dict:
    return {
        "id": row.slug,
        "object": "persona",
        "slug": row.slug,
        "name": row.name,
        "description": row.description or "",
        "system_prompt": row.system_prompt or "",
        "model": row.model,
        "defaults": row.defaults or {},
        "tools": row.tools or [],
        "http_tools": row.http_tools or [],
        "created_at": _epoch(row.created_at),
        "updated_at": _epoch(row.updated_at),
    }


def _not_found(slug: str) -> ApiError:
    return ApiError(404, "not_found", f"No persona '{slug[:64]}' on this account.")


def find(user_id: int, slug: str) -> Persona | None:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        return None
    return db.session.scalar(select(Persona).where(Persona.user_id == user_id, Persona.slug == slug))


def get(user_id: int, slug: str) -> Persona:
    row = find(user_id, slug)
    if row is None:
        raise _not_found(slug)
    return row


def _commit(slug: str) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(
            409, "conflict", f"A persona with the slug '{slug}' exists already on this account.", param="slug"
        ) from None


def create(user_id: int, data, catalog: Catalog) -> Persona:
    fields = _clean(data, catalog, None)
    count = db.session.scalar(select(func.count()).select_from(Persona).where(Persona.user_id == user_id))
    if count >= MAX_PERSONAS:
        raise bad_request(f"An account can have at most {MAX_PERSONAS} personas; delete one first.")
    if find(user_id, fields["slug"]) is not None:
        raise ApiError(
            409, "conflict", f"A persona with the slug '{fields['slug']}' exists already on this account.", param="slug"
        )
    now = utcnow()
    row = Persona(
        **{
            "description": "",
            "system_prompt": "",
            "defaults": {},
            "tools": [],
            "http_tools": [],
            **fields,
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
    )
    db.session.add(row)
    _commit(fields["slug"])
    return row


def update(user_id: int, slug: str, data, catalog: Catalog) -> Persona:
    row = get(user_id, slug)
    fields = _clean(data, catalog, row)
    new_slug = fields.get("slug", row.slug)
    if new_slug != row.slug and find(user_id, new_slug) is not None:
        raise ApiError(
            409, "conflict", f"A persona with the slug '{new_slug}' exists already on this account.", param="slug"
        )
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    _commit(new_slug)
    return row


def delete(user_id: int, slug: str) -> None:
    row = get(user_id, slug)
    db.session.delete(row)
    db.session.commit()


def _positive(args, key: str, default: int | None, high: int) -> int | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"'{key}' must be an integer between 1 and {high}.", key) from None
    if not 1 <= value <= high:
        raise bad_request(f"'{key}' must be an integer between 1 and {high}.", key)
    return value


def listing(user_id: int, args) -> dict:
    """One page of the account's personas, by slug: ``limit`` (1-100, default 20) with
    ``page`` (1-based) or ``after`` (a slug: the page after it)."""
    limit = _positive(args, "limit", LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    page = _positive(args, "page", None, 1_000_000)
    after = args.get("after") or None
    if page is not None and after is not None:
        raise bad_request("Use either 'page' or 'after', not both.", "after")
    if after is not None and (len(after) > 64):
        raise bad_request("'after' must be the slug of a persona.", "after")
    query = select(Persona).where(Persona.user_id == user_id).order_by(Persona.slug).limit(limit + 1)
    if after is not None:
        query = query.where(Persona.slug > after)
    elif page is not None:
        query = query.offset((page - 1) * limit)
    rows = db.session.scalars(query).all()
    data = [to_api(row) for row in rows[:limit]]
    out = {
        "object": "list",
        "data": data,
        "has_more": len(rows) > limit,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    if after is None:
        out["page"] = page or 1
    return out


# -- using a persona -----------------------------------------------------------


def requested(user_id: int, body: dict) -> PersonaSpec | None:
    """The persona a (validated) request names, or None; 404 when it names one the account lacks."""
    ref = body.get("persona")
    model = body.get("model")
    by_model = model[len(MODEL_PREFIX) :] if isinstance(model, str) and model.startswith(MODEL_PREFIX) else None
    if ref is None and by_model is None:
        return None
    if ref is not None and (not isinstance(ref, str) or not ref):
        raise bad_request("'persona' must be the slug of one of your personas.", "persona")
    if ref is not None and by_model is not None and ref != by_model:
        raise bad_request(f"'persona' ('{ref[:64]}') and 'model' ('{model[:200]}') name different personas.", "persona")
    slug = ref if ref is not None else by_model
    row = find(user_id, slug)
    if row is None:
        if ref is None:
            raise ApiError(
                404,
                "model_not_found",
                f"The model '{model[:200]}' does not exist: this account has no persona '{slug[:64]}'.",
                param="model",
            )
        raise ApiError(404, "not_found", f"This account has no persona '{ref[:64]}'.", param="persona")
    spec = spec_of(row)
    db.session.rollback()  # end the read transaction: the request goes on without the database
    return spec


_OPENAI_DEFAULTS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "stop")


def _absent(body: dict, *keys: str) -> bool:
    return all(body.get(key) is None for key in keys)


def _apply_openai(out: dict, persona: PersonaSpec) -> None:
    if persona.system_prompt:
        out["messages"] = [{"role": "system", "content": persona.system_prompt}, *out["messages"]]
    defaults = persona.defaults
    for key in _OPENAI_DEFAULTS:
        if key in defaults and _absent(out, key):
            out[key] = defaults[key]
    if "max_tokens" in defaults and _absent(out, "max_tokens", "max_completion_tokens"):
        out["max_tokens"] = defaults["max_tokens"]
    if "reasoning" in defaults and _absent(out, "reasoning", "reasoning_effort"):
        out["reasoning"] = dict(defaults["reasoning"])
    if persona.tools and _absent(out, "tools"):
        out["tools"] = [dict(tool) for tool in persona.tools]


def _anthropic_thinking(out: dict, reasoning: dict) -> dict | None:
    """Anthropic ``thinking`` from the persona's reasoning default, when it fits the request as sent."""
    max_tokens = out.get("max_tokens")
    choice = out.get("tool_choice")
    if (
        not isinstance(max_tokens, int)
        or not _absent(out, "thinking", "temperature", "top_p", "top_k")
        or (isinstance(choice, dict) and choice.get("type") in ("any", "tool"))
    ):
        return None
    try:
        thinking, needed = thinking_for_anthropic({"reasoning": reasoning}, max_tokens)
    except TranslationError:
        return None
    return thinking if thinking is not None and needed == max_tokens else None


def _apply_anthropic(out: dict, persona: PersonaSpec) -> None:
    prompt = persona.system_prompt
    if prompt:
        system = out.get("system")
        if not system:
            out["system"] = prompt
        elif isinstance(system, str):
            out["system"] = f"{prompt}\n\n{system}"
        else:
            out["system"] = [{"type": "text", "text": prompt}, *system]
    defaults = persona.defaults
    thinking = _anthropic_thinking(out, defaults["reasoning"]) if "reasoning" in defaults else None
    if thinking is not None:
        out["thinking"] = thinking  # Anthropic takes no temperature or top_p with thinking
    elif _absent(out, "temperature", "top_p"):
        # As a pair only: recent Anthropic models refuse temperature and top_p together.
        for key in ("temperature", "top_p"):
            if key in defaults:
                out[key] = defaults[key]
    if "stop" in defaults and _absent(out, "stop_sequences"):
        stop = defaults["stop"]
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if persona.tools and _absent(out, "tools"):
        out["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}},
            }
            for t in persona.tools
        ]


def apply(body: dict, persona: PersonaSpec | None, wire: str) -> dict:
    """The request as the persona shapes it (a new dict; ``body`` is not changed).

    ``wire`` is ``"openai"`` or ``"anthropic"``. Without a persona, only the
    ``persona`` field is removed (it never goes upstream).
    """
    if persona is None and "persona" not in body:
        return body
    out = {key: value for key, value in body.items() if key != "persona"}
    if persona is None:
        return out
    model = out.get("model")
    if not isinstance(model, str) or not model or model.startswith(MODEL_PREFIX):
        out["model"] = persona.model
    if wire == "anthropic":
        _apply_anthropic(out, persona)
    else:
        _apply_openai(out, persona)
    return out
