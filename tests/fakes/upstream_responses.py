"""Fake upstream, OpenAI Responses API: ``POST /responses`` (whole and streamed),
``GET``/``DELETE /responses/{id}``, ``GET /responses/{id}/input_items``.

Requests are checked as strictly as the real API checks them: an unknown field,
a wrong type, an unknown input item or content part, a tool output without its
call, an unknown ``previous_response_id`` or a reasoning item it cannot resolve
all answer 400/404 in OpenAI's error shape, naming the param. The answers are
deterministic and follow the chat stand-in (tests/fakes/upstream_openai.py):

* the last item a tool output: ``Tool result: <outputs>``;
* a user turn with tools (and ``tool_choice`` not ``none``), or the ``tool``
  scenario: a call of the tool the prompt names, else of the first tool. A
  custom tool gets a free-form ``input`` (``apply_patch``: a valid patch that
  adds a file); a shell-like function tool (``shell``, ``exec_command``, a
  ``command``/``cmd`` property) gets a command, the prompt's first
  `backticked` text or an ``echo``; any other function tool arguments built
  from its JSON schema. "parallel" in the prompt calls two tools (the rules
  all three stand-ins share: tests/fakes/agent_tools.py);
* otherwise ``Echo: <start of the last user message>`` (or JSON for
  ``text.format`` json_object/json_schema);
* ``reasoning`` given, its effort other than ``none``: a reasoning item first (a summary
  part when ``reasoning.summary`` is set, ``encrypted_content`` when
  ``include`` asks for ``reasoning.encrypted_content``; the stand-in verifies
  that content when it comes back).

Responses are kept (in memory, bounded) unless ``store`` is false, so
``previous_response_id``, retrieve, delete and input_items work. Cached tokens:
as the chat stand-in (a repeated prompt of 1024+ tokens, in steps of 128), and
with ``prompt_cache_key`` any repeated prefix under the same key.

Scenarios as everywhere (see tests/fakes/upstream.py), plus ``failed:<code>``:
the stream ends in ``response.failed`` with that error code
(``rate_limit_exceeded``, ``insufficient_quota``, ``context_length_exceeded``,
``server_error``, ...) after ``response.in_progress``; not streamed, the HTTP
error that code comes with. ``error-event[:k]`` sends ``response.failed``
(``server_error``) as frame k.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from urllib.parse import parse_qs

import orjson

from tests.fakes.agent_tools import call_for, pick
from tests.fakes.upstream_core import (
    MIN_CACHEABLE_TOKENS,
    REFUSAL_TEXT,
    count_text,
    example_from_schema,
    int_arg,
    json_tokens,
    make_id,
    shape_text,
    split_fixed,
    split_tokens,
)
from tests.fakes.upstream_openai import STATUS_ERRORS

STORE_LIMIT = 2000
ENCRYPTION_KEY = b"lumyx-fake-upstream-reasoning"
OBF = b"q7ZfK2xW9mLp4RtY8vNcH3bJ6sDg1Ae5"
GARBAGE_FRAME = (
    b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "delta": "unterminated\n\n'
)
FAKE_TOOL = {
    "type": "function",
    "name": "fake_lookup",
    "description": "Look something up.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "strict": True,
}

# Every top-level field of POST /responses the real API accepts.
FIELDS = frozenset(
    (
        "background",
        "client_metadata",
        "context_management",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    )
)
INCLUDABLE = (
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
    "web_search_call.action.sources",
    "web_search_call.results",
)
ITEM_KEYS = {
    "message": {"type", "id", "role", "content", "status", "phase"},
    "function_call": {"type", "id", "call_id", "name", "arguments", "status", "namespace"},
    "function_call_output": {"type", "id", "call_id", "output", "status"},
    "custom_tool_call": {"type", "id", "call_id", "name", "input", "status", "namespace"},
    "custom_tool_call_output": {"type", "id", "call_id", "output", "status"},
    "reasoning": {"type", "id", "summary", "content", "encrypted_content", "status"},
    "item_reference": {"type", "id"},
}
PART_KEYS = {
    "input_text": {"type", "text"},
    "input_image": {"type", "image_url", "file_id", "detail"},
    "input_file": {"type", "file_id", "file_data", "file_url", "filename"},
    "output_text": {"type", "text", "annotations", "logprobs"},
    "refusal": {"type", "refusal"},
}
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
ROLES = ("user", "assistant", "system", "developer")
BUILTIN_TOOLS = frozenset(
    (
        "apply_patch",
        "code_interpreter",
        "computer_use_preview",
        "file_search",
        "image_generation",
        "local_shell",
        "mcp",
        "shell",
        "tool_search",
        "web_search",
        "web_search_2025_08_26",
        "web_search_preview",
        "web_search_preview_2025_03_11",
    )
)
TOOL_KEYS = {
    "function": {"type", "name", "description", "parameters", "strict", "defer_loading"},
    "custom": {"type", "name", "description", "format", "defer_loading"},
    "namespace": {"type", "name", "description", "tools"},
}
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SUMMARIES = ("auto", "concise", "detailed")
TIERS = ("auto", "default", "flex", "scale", "priority")
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# failed:<code> -> (HTTP status when not streamed, error type, message)
FAILURES = {
    "rate_limit_exceeded": (
        429,
        "requests",
        "Rate limit reached for gpt-5 in organization org-fake on tokens per min (TPM): Limit 30000, "
        "Used 30000, Requested 1200. Please try again in 1.5s. Visit https://platform.openai.com/account/"
        "rate-limits to learn more.",
    ),
    "insufficient_quota": (
        429,
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more information "
        "on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "context_length_exceeded": (
        400,
        "invalid_request_error",
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
    ),
    "server_error": (500, "server_error", STATUS_ERRORS[500][2]),
    "server_is_overloaded": (503, "server_error", STATUS_ERRORS[503][2]),
    "invalid_prompt": (400, "invalid_request_error", "Invalid prompt: your prompt was flagged."),
}
TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}


class Invalid(Exception):
    def __init__(self, message, param=None, code=None, status=400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


# --------------------------------------------------------------------------- small helpers


def got_name(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a decimal"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def is_type(v, t) -> bool:
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "object":
        return isinstance(v, dict)
    return isinstance(v, list)


def need(obj, key, t, param, nullable=False, required=False):
    """obj[key] of JSON type t (a name or a tuple of names); returns it (None when absent/null)."""
    if key not in obj:
        if required:
            raise Invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
        return None
    v = obj[key]
    if v is None:
        if nullable and not required:
            return None
        if required:
            raise Invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    types = (t,) if isinstance(t, str) else t
    if v is None or not any(is_type(v, x) for x in types):
        want = " or ".join(TYPE_NAMES[x] for x in types)
        raise Invalid(
            f"Invalid type for '{param}': expected {want}, but got {got_name(v)} instead.", param, "invalid_type"
        )
    return v


def one_of(v, allowed, param):
    if v not in allowed:
        quoted = [f"'{a}'" for a in allowed]
        listed = ", ".join(quoted[:-1]) + (", and " if len(quoted) > 2 else " and ") + quoted[-1]
        raise Invalid(f"Invalid value: '{v}'. Supported values are: {listed}.", param, "invalid_value")
    return v


def unknown_keys(obj, allowed, prefix):
    for k in obj:
        if k not in allowed:
            param = f"{prefix}.{k}" if prefix else k
            raise Invalid(f"Unknown parameter: '{param}'.", param, "unknown_parameter")


def hex_id(prefix: str, *parts) -> str:
    seed = "|".join(map(str, parts)).encode()
    return prefix + hashlib.blake2b(seed, digest_size=25).hexdigest()


def obfuscation(size: int) -> str:
    return OBF[: 1 + (size * 7) % 12].decode()


def encrypt(item_id: str, text: str) -> str:
    payload = orjson.dumps({"id": item_id, "reasoning": text})
    mac = hmac.new(ENCRYPTION_KEY, payload, hashlib.sha256).digest()[:16]
    return "gAAAAAB" + base64.urlsafe_b64encode(payload + mac).decode()


def decrypt(blob) -> dict | None:
    if not isinstance(blob, str) or not blob.startswith("gAAAAAB"):
        return None
    try:
        raw = base64.urlsafe_b64decode(blob[7:].encode())
    except (ValueError, TypeError):
        return None
    payload, mac = raw[:-16], raw[-16:]
    if not hmac.compare_digest(mac, hmac.new(ENCRYPTION_KEY, payload, hashlib.sha256).digest()[:16]):
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


# --------------------------------------------------------------------------- errors


def invalid(app, req, exc: Invalid):
    etype = "invalid_request_error"
    return app.error(req, exc.status, etype, exc.message, code=exc.code, param=exc.param)


# --------------------------------------------------------------------------- input reading


def parts_text(content, kinds=("input_text", "output_text")) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"]
            for p in content
            if isinstance(p, dict) and p.get("type") in kinds and isinstance(p.get("text"), str)
        )
    return ""


def responses_text(body) -> str:
    """The text of the last user message (what scenarios and answers read)."""
    inp = body.get("input")
    if isinstance(inp, str):
        return inp
    for it in reversed(inp or ()):
        if isinstance(it, dict) and it.get("role") == "user" and it.get("type", "message") == "message":
            return parts_text(it.get("content"))
    return ""


def output_text(out) -> str:
    if isinstance(out, str):
        return out
    if isinstance(out, list):
        return parts_text(out, ("input_text", "output_text"))
    return ""


def item_tokens(it) -> int:
    t = it.get("type", "message")
    if t == "message":
        total = 3
        c = it.get("content")
        if isinstance(c, str):
            return total + count_text(c)
        for p in c or ():
            pt = p.get("type")
            if pt in ("input_text", "output_text"):
                total += count_text(p.get("text"))
            elif pt == "refusal":
                total += count_text(p.get("refusal"))
            elif pt == "input_image":
                total += 85
            else:
                total += 50
        return total
    if t == "function_call":
        return 3 + json_tokens(it.get("arguments") or "") + 1
    if t == "custom_tool_call":
        return 3 + count_text(it.get("input")) + 1
    if t in ("function_call_output", "custom_tool_call_output"):
        return 3 + count_text(output_text(it.get("output")))
    if t == "reasoning":
        return 3 + sum(count_text(s.get("text")) for s in it.get("summary") or ())
    return 3


# --------------------------------------------------------------------------- validation


def check_part(p, role, param):
    if not isinstance(p, dict):
        raise Invalid(
            f"Invalid type for '{param}': expected an object, but got {got_name(p)} instead.", param, "invalid_type"
        )
    t = need(p, "type", "string", f"{param}.type", required=True)
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    one_of(t, allowed, f"{param}.type")
    unknown_keys(p, PART_KEYS[t], param)
    if t in ("input_text", "output_text"):
        need(p, "text", "string", f"{param}.text", required=True)
        if t == "output_text":
            need(p, "annotations", "array", f"{param}.annotations", nullable=True)
    elif t == "refusal":
        need(p, "refusal", "string", f"{param}.refusal", required=True)
    elif t == "input_image":
        url = need(p, "image_url", "string", f"{param}.image_url", nullable=True)
        fid = need(p, "file_id", "string", f"{param}.file_id", nullable=True)
        if url is None and fid is None:
            raise Invalid(
                f"Missing required parameter: '{param}.image_url'.", f"{param}.image_url", "missing_required_parameter"
            )
        if url is not None and not url.startswith(("http://", "https://", "data:image/")):
            raise Invalid(
                f"Invalid '{param}.image_url'. Expected a valid URL, but got a value with an invalid format.",
                f"{param}.image_url",
                "invalid_value",
            )
        detail = need(p, "detail", "string", f"{param}.detail", nullable=True)
        if detail is not None:
            one_of(detail, ("low", "high", "auto", "original"), f"{param}.detail")
    else:
        if all(p.get(k) is None for k in ("file_id", "file_data", "file_url")):
            raise Invalid(
                f"Missing required parameter: '{param}.file_id'.", f"{param}.file_id", "missing_required_parameter"
            )


def check_output_value(out, param):
    if isinstance(out, str):
        return
    if isinstance(out, list):
        for j, p in enumerate(out):
            check_part(p, "user", f"{param}[{j}]")
        return
    raise Invalid(
        f"Invalid type for '{param}': expected a string or an array, but got {got_name(out)} instead.",
        param,
        "invalid_type",
    )


def check_items(app, items):
    """Validates input items; returns them normalized (a 'type' on each)."""
    out = []
    for i, it in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(it, dict):
            raise Invalid(
                f"Invalid type for '{param}': expected an object, but got {got_name(it)} instead.",
                param,
                "invalid_type",
            )
        t = it.get("type")
        if t is None and "role" in it:
            t = "message"
        if t is None:
            raise Invalid(f"Missing required parameter: '{param}.type'.", f"{param}.type", "missing_required_parameter")
        if not isinstance(t, str):
            raise Invalid(
                f"Invalid type for '{param}.type': expected a string, but got {got_name(t)} instead.",
                f"{param}.type",
                "invalid_type",
            )
        one_of(t, tuple(ITEM_KEYS), f"{param}.type")
        unknown_keys(it, ITEM_KEYS[t], param)
        if "id" in it and it["id"] is not None:
            iid = need(it, "id", "string", f"{param}.id")
            if not ID_RE.match(iid):
                raise Invalid(
                    f"Invalid '{param}.id': '{iid}'. Expected an ID that contains letters, numbers, underscores, "
                    "or dashes, but this value contained additional characters.",
                    f"{param}.id",
                    "invalid_value",
                )
        if t == "message":
            role = need(it, "role", "string", f"{param}.role", required=True)
            one_of(role, ROLES, f"{param}.role")
            c = need(it, "content", ("string", "array"), f"{param}.content", required=True)
            if isinstance(c, list):
                for j, p in enumerate(c):
                    check_part(p, role, f"{param}.content[{j}]")
            if it.get("status") is not None:
                one_of(it["status"], ("in_progress", "completed", "incomplete"), f"{param}.status")
        elif t == "function_call":
            need(it, "call_id", "string", f"{param}.call_id", required=True)
            name = need(it, "name", "string", f"{param}.name", required=True)
            need(it, "arguments", "string", f"{param}.arguments", required=True)
            if not NAME_RE.match(name):
                raise Invalid(
                    f"Invalid '{param}.name': string does not match pattern. Expected a string that matches the "
                    "pattern '^[a-zA-Z0-9_-]+$'.",
                    f"{param}.name",
                    "invalid_value",
                )
        elif t == "custom_tool_call":
            need(it, "call_id", "string", f"{param}.call_id", required=True)
            need(it, "name", "string", f"{param}.name", required=True)
            need(it, "input", "string", f"{param}.input", required=True)
        elif t in ("function_call_output", "custom_tool_call_output"):
            need(it, "call_id", "string", f"{param}.call_id", required=True)
            if "output" not in it:
                raise Invalid(
                    f"Missing required parameter: '{param}.output'.", f"{param}.output", "missing_required_parameter"
                )
            check_output_value(it["output"], f"{param}.output")
        elif t == "reasoning":
            rid = need(it, "id", "string", f"{param}.id", required=True)
            summary = need(it, "summary", "array", f"{param}.summary", required=True)
            for j, s in enumerate(summary):
                sp = f"{param}.summary[{j}]"
                if not isinstance(s, dict):
                    raise Invalid(
                        f"Invalid type for '{sp}': expected an object, but got {got_name(s)} instead.",
                        sp,
                        "invalid_type",
                    )
                one_of(need(s, "type", "string", f"{sp}.type", required=True), ("summary_text",), f"{sp}.type")
                unknown_keys(s, {"type", "text"}, sp)
                need(s, "text", "string", f"{sp}.text", required=True)
            enc = need(it, "encrypted_content", "string", f"{param}.encrypted_content", nullable=True)
            if enc is not None:
                plain = decrypt(enc)
                if plain is None or plain.get("id") != rid:
                    raise Invalid(
                        f"The encrypted content for item {rid} could not be verified.",
                        None,
                        "invalid_encrypted_content",
                    )
            elif rid not in app.responses_items:
                raise Invalid(
                    f"Item with id '{rid}' not found. Items are not persisted when `store` is set to false. "
                    "Try again with `store` set to true, or remove this item from your input.",
                    "input",
                    None,
                    404,
                )
        elif t == "item_reference":
            ref = need(it, "id", "string", f"{param}.id", required=True)
            found = app.responses_items.get(ref)
            if found is None:
                raise Invalid(
                    f"Item with id '{ref}' not found. Items are not persisted when `store` is set to false. "
                    "Try again with `store` set to true, or remove this item from your input.",
                    "input",
                    None,
                    404,
                )
            it = found
            t = it.get("type", "message")
        out.append(it if "type" in it else {"type": t, **it})
    return out


def check_tools(tools, prefix="tools"):
    out = []
    names = set()
    for i, t in enumerate(tools):
        param = f"{prefix}[{i}]"
        if not isinstance(t, dict):
            raise Invalid(
                f"Invalid type for '{param}': expected an object, but got {got_name(t)} instead.", param, "invalid_type"
            )
        kind = need(t, "type", "string", f"{param}.type", required=True)
        if kind not in TOOL_KEYS or (kind == "namespace" and prefix != "tools"):
            kinds = (
                ("function", "custom", "namespace", *sorted(BUILTIN_TOOLS))
                if prefix == "tools"
                else ("function", "custom")
            )
            one_of(kind, kinds, f"{param}.type")
            out.append(t)
            continue
        unknown_keys(t, TOOL_KEYS[kind], param)
        name = need(t, "name", "string", f"{param}.name", required=True)
        if not NAME_RE.match(name):
            raise Invalid(
                f"Invalid '{param}.name': string does not match pattern. Expected a string that matches the "
                "pattern '^[a-zA-Z0-9_-]+$'.",
                f"{param}.name",
                "invalid_value",
            )
        if name in names:
            raise Invalid(f"Duplicate tool name: '{name}'. Tool names must be unique.", "tools", "invalid_value")
        names.add(name)
        need(t, "description", "string", f"{param}.description", nullable=True)
        if kind == "namespace":
            nested = need(t, "tools", "array", f"{param}.tools", required=True)
            out.append(
                {
                    "type": "namespace",
                    "name": name,
                    "description": t.get("description"),
                    "tools": check_tools(nested, f"{param}.tools"),
                }
            )
        elif kind == "function":
            params = need(t, "parameters", "object", f"{param}.parameters", nullable=True)
            strict = need(t, "strict", "boolean", f"{param}.strict", nullable=True)
            if params is not None and params.get("type", "object") != "object":
                raise Invalid(
                    f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', "
                    f"got 'type: \"{params.get('type')}\"'.",
                    f"{param}.parameters",
                    "invalid_function_parameters",
                )
            out.append(
                {
                    "type": "function",
                    "name": name,
                    "description": t.get("description"),
                    "parameters": params,
                    "strict": True if strict is None else strict,
                }
            )
        else:
            fmt = need(t, "format", "object", f"{param}.format", nullable=True)
            if fmt is not None:
                ft = one_of(
                    need(fmt, "type", "string", f"{param}.format.type", required=True),
                    ("text", "grammar"),
                    f"{param}.format.type",
                )
                if ft == "grammar":
                    unknown_keys(fmt, {"type", "syntax", "definition"}, f"{param}.format")
                    one_of(
                        need(fmt, "syntax", "string", f"{param}.format.syntax", required=True),
                        ("lark", "regex"),
                        f"{param}.format.syntax",
                    )
                    need(fmt, "definition", "string", f"{param}.format.definition", required=True)
                else:
                    unknown_keys(fmt, {"type"}, f"{param}.format")
            out.append(
                {
                    "type": "custom",
                    "name": name,
                    "description": t.get("description"),
                    "format": fmt or {"type": "text"},
                }
            )
    return out


def check_tool_choice(tc, tools):
    if tc is None:
        return "auto"
    if isinstance(tc, str):
        return one_of(tc, ("none", "auto", "required"), "tool_choice")
    if not isinstance(tc, dict):
        raise Invalid(
            f"Invalid type for 'tool_choice': expected a string or an object, but got {got_name(tc)} instead.",
            "tool_choice",
            "invalid_type",
        )
    kind = need(tc, "type", "string", "tool_choice.type", required=True)
    if kind in ("function", "custom"):
        unknown_keys(tc, {"type", "name"}, "tool_choice")
        name = need(tc, "name", "string", "tool_choice.name", required=True)
        if not any(t.get("type") == kind and t.get("name") == name for t in tools):
            raise Invalid(f"Tool choice '{kind}' not found in 'tools' parameter.", "tool_choice", "invalid_value")
    elif kind == "allowed_tools":
        unknown_keys(tc, {"type", "mode", "tools"}, "tool_choice")
        one_of(need(tc, "mode", "string", "tool_choice.mode", required=True), ("auto", "required"), "tool_choice.mode")
        need(tc, "tools", "array", "tool_choice.tools", required=True)
    else:
        one_of(kind, ("function", "custom", "allowed_tools", *sorted(BUILTIN_TOOLS)), "tool_choice.type")
    return tc


def check_text(text):
    if text is None:
        return {"format": {"type": "text"}, "verbosity": "medium"}
    unknown_keys(text, {"format", "verbosity"}, "text")
    fmt = need(text, "format", "object", "text.format", nullable=True) or {"type": "text"}
    kind = one_of(
        need(fmt, "type", "string", "text.format.type", required=True),
        ("text", "json_object", "json_schema"),
        "text.format.type",
    )
    if kind == "json_schema":
        unknown_keys(fmt, {"type", "name", "schema", "strict", "description"}, "text.format")
        name = need(fmt, "name", "string", "text.format.name", required=True)
        if not NAME_RE.match(name):
            raise Invalid(
                "Invalid 'text.format.name': string does not match pattern. Expected a string that matches the "
                "pattern '^[a-zA-Z0-9_-]+$'.",
                "text.format.name",
                "invalid_value",
            )
        need(fmt, "schema", "object", "text.format.schema", required=True)
        need(fmt, "strict", "boolean", "text.format.strict", nullable=True)
    else:
        unknown_keys(fmt, {"type"}, "text.format")
    verbosity = need(text, "verbosity", "string", "text.verbosity", nullable=True)
    if verbosity is not None:
        one_of(verbosity, ("low", "medium", "high"), "text.verbosity")
    return {"format": fmt, "verbosity": verbosity or "medium"}


def check_request(app, b):
    """Raises Invalid; returns the normalized pieces the answer needs."""
    for k in b:
        if k not in FIELDS:
            raise Invalid(f"Unknown parameter: '{k}'.", k, "unknown_parameter")
    model = b.get("model")
    if not isinstance(model, str) or not model:
        if model is None:
            raise Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        need(b, "model", "string", "model")
        raise Invalid("Invalid 'model': empty string.", "model", "empty_string")
    instructions = need(b, "instructions", "string", "instructions", nullable=True)
    for key, t in (
        ("parallel_tool_calls", "boolean"),
        ("store", "boolean"),
        ("stream", "boolean"),
        ("background", "boolean"),
        ("prompt_cache_key", "string"),
        ("safety_identifier", "string"),
        ("user", "string"),
        ("previous_response_id", "string"),
        ("max_tool_calls", "integer"),
        ("top_logprobs", "integer"),
    ):
        need(b, key, t, key, nullable=True)
    if b.get("background"):
        raise Invalid("Background mode is not available on this upstream.", "background", "invalid_value")
    if b.get("conversation") is not None:
        raise Invalid(
            "Conversations are not available on this upstream: send previous_response_id or the items.",
            "conversation",
            "invalid_value",
        )
    if b.get("prompt") is not None:
        raise Invalid("Prompt templates are not available on this upstream.", "prompt", "invalid_value")
    if b.get("previous_response_id") is not None and b.get("conversation") is not None:
        raise Invalid(
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
            "'conversation'.",
            None,
            "mutually_exclusive_parameters",
        )
    mot = need(b, "max_output_tokens", "integer", "max_output_tokens", nullable=True)
    if mot is not None and mot < 16:
        raise Invalid(
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {mot} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )
    for key, hi in (("temperature", 2), ("top_p", 1)):
        v = need(b, key, "number", key, nullable=True)
        if v is not None and not 0 <= v <= hi:
            raise Invalid(
                f"Invalid '{key}': decimal {'above maximum' if v > hi else 'below minimum'} value. Expected a "
                f"value {'<=' if v > hi else '>='} {hi if v > hi else 0}, but got {v} instead.",
                key,
                "decimal_above_max_value" if v > hi else "decimal_below_min_value",
            )
    truncation = need(b, "truncation", "string", "truncation", nullable=True)
    if truncation is not None:
        one_of(truncation, ("auto", "disabled"), "truncation")
    tier = need(b, "service_tier", "string", "service_tier", nullable=True)
    if tier is not None:
        one_of(tier, TIERS, "service_tier")
    ret = need(b, "prompt_cache_retention", "string", "prompt_cache_retention", nullable=True)
    if ret is not None:
        one_of(ret, ("in_memory", "24h"), "prompt_cache_retention")
    include = need(b, "include", "array", "include", nullable=True) or []
    for i, v in enumerate(include):
        need({"v": v}, "v", "string", f"include[{i}]")
        one_of(v, INCLUDABLE, f"include[{i}]")
    md = need(b, "metadata", "object", "metadata", nullable=True)
    if md is not None:
        if len(md) > 16:
            raise Invalid(
                f"Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got "
                f"an object with {len(md)} properties instead.",
                "metadata",
                "object_above_max_properties",
            )
        for k, v in md.items():
            if len(k) > 64:
                raise Invalid(
                    f"Invalid 'metadata': string too long. Expected a string with maximum length 64, but got a "
                    f"string with length {len(k)} instead.",
                    "metadata",
                    "string_above_max_length",
                )
            need(md, k, "string", f"metadata.{k}")
            if len(v) > 512:
                raise Invalid(
                    f"Invalid 'metadata.{k}': string too long. Expected a string with maximum length 512, but got "
                    f"a string with length {len(v)} instead.",
                    f"metadata.{k}",
                    "string_above_max_length",
                )
    so = need(b, "stream_options", "object", "stream_options", nullable=True)
    if so is not None:
        if b.get("stream") is not True:
            raise Invalid(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "stream_options",
                "invalid_value",
            )
        unknown_keys(so, {"include_obfuscation"}, "stream_options")
        need(so, "include_obfuscation", "boolean", "stream_options.include_obfuscation", nullable=True)
    reasoning = need(b, "reasoning", "object", "reasoning", nullable=True)
    effort = summary = None
    if reasoning is not None:
        unknown_keys(reasoning, {"effort", "summary", "generate_summary", "context_compression"}, "reasoning")
        effort = need(reasoning, "effort", "string", "reasoning.effort", nullable=True)
        if effort is not None:
            one_of(effort, EFFORTS, "reasoning.effort")
        summary = need(reasoning, "summary", "string", "reasoning.summary", nullable=True)
        if summary is None:
            summary = need(reasoning, "generate_summary", "string", "reasoning.generate_summary", nullable=True)
        if summary is not None:
            one_of(summary, SUMMARIES, "reasoning.summary")
    text = check_text(need(b, "text", "object", "text", nullable=True))
    tools = check_tools(need(b, "tools", "array", "tools", nullable=True) or [])
    tc = check_tool_choice(b.get("tool_choice"), tools)

    inp = b.get("input")
    if inp is None:
        items = []
    elif isinstance(inp, str):
        items = [{"type": "message", "role": "user", "content": inp}]
    elif isinstance(inp, list):
        items = check_items(app, inp)
    else:
        raise Invalid(
            f"Invalid type for 'input': expected a string or an array, but got {got_name(inp)} instead.",
            "input",
            "invalid_type",
        )

    history = []
    prev_id = b.get("previous_response_id")
    if prev_id is not None:
        prev = app.responses.get(prev_id)
        if prev is None:
            raise Invalid(
                f"Previous response with id '{prev_id}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        history = prev["context"] + prev["response"]["output"]
    if not items and not history:
        raise Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")

    calls = {}
    for it in history + items:
        if it.get("type") in ("function_call", "custom_tool_call"):
            calls[it.get("call_id")] = it["type"]
    for it in items:
        t = it.get("type")
        if t in ("function_call_output", "custom_tool_call_output"):
            want = "function_call" if t == "function_call_output" else "custom_tool_call"
            if calls.get(it["call_id"]) != want:
                kind = "function call" if t == "function_call_output" else "custom tool call"
                raise Invalid(f"No tool call found for {kind} output with call_id {it['call_id']}.", "input", None)
    return {
        "model": model,
        "instructions": instructions,
        "items": items,
        "context": history + items,
        "tools": tools,
        "tool_choice": tc,
        "effort": effort,
        "summary": summary,
        "text": text,
        "include": include,
        "max_output_tokens": mot,
    }


# --------------------------------------------------------------------------- the answer


def pick_calls(tools, tc, parallel_ok, text, snippet):
    """Calls for a user turn: the tool ``tool_choice`` forces, else agent_tools.pick among those allowed."""
    callable_tools = [t for t in tools if t.get("type") in ("function", "custom")] or [FAKE_TOOL]
    if isinstance(tc, dict):
        if tc.get("type") in ("function", "custom"):
            named = [t for t in callable_tools if t["name"] == tc.get("name") and t["type"] == tc["type"]]
            if named:
                return [call_for(named[0], text, snippet)]
        elif tc.get("type") == "allowed_tools":
            allowed = {(a.get("type"), a.get("name")) for a in tc.get("tools") or () if isinstance(a, dict)}
            callable_tools = [t for t in callable_tools if (t["type"], t["name"]) in allowed] or callable_tools
    return [call_for(t, text, snippet) for t in pick(callable_tools, text, parallel_ok)]


def cached_input(app, key, context_keys, tools_key, ptoks, last_toks) -> int:
    full = hash((b"rs", key, tuple(context_keys), tools_key))
    pre = hash((b"rs", key, tuple(context_keys[:-1]), tools_key))
    hit_full = full in app.prompt_cache
    hit_pre = app.cache_lookup(pre, (full,))
    cached = ptoks if hit_full else (ptoks - last_toks) if hit_pre else 0
    if key is not None:
        return max(cached, 0)
    if ptoks < MIN_CACHEABLE_TOKENS:
        return 0
    cached = (cached // 128) * 128
    return cached if cached >= MIN_CACHEABLE_TOKENS else 0


def create(app, req):
    b = req.body
    try:
        n = check_request(app, b)
    except Invalid as exc:
        return invalid(app, req, exc)
    scen = req.scen
    stream = b.get("stream") is True
    failure = scen.get("failed") if "failed" in scen else None
    if "failed" in scen and not failure:
        failure = "server_error"
    if failure is not None and not stream:
        status, etype, message = FAILURES.get(failure, (500, "server_error", STATUS_ERRORS[500][2]))
        extra = (("retry-after", "1"),) if status == 429 else ()
        return app.error(req, status, etype, message, code=failure, extra=extra)

    snippet = req.snippet()
    context = n["context"]
    last = context[-1] if context else {}
    budget = n["max_output_tokens"]
    seq = app.seq
    salt = next(seq)
    rid = hex_id("resp_", salt)

    r_pieces = []
    if isinstance(b.get("reasoning"), dict) and n["effort"] != "none":
        r_pieces = split_tokens(f"The user wrote: {snippet}. A short, direct answer fits best.")
        if budget is not None:
            r_pieces = r_pieces[:budget]
            budget -= len(r_pieces)
    content = refusal = None
    calls = []
    reason = "stop"
    tc = n["tool_choice"]
    fmt = n["text"]["format"]
    last_type = last.get("type")
    if "refusal" in scen:
        refusal = split_tokens(REFUSAL_TEXT)
    elif "echo-request" in scen:
        content, reason, _ = shape_text(req, req.raw.decode("utf-8", "replace"), None, budget, fixed=True)
    elif last_type in ("function_call_output", "custom_tool_call_output"):
        results = []
        for it in reversed(context):
            if it.get("type") not in ("function_call_output", "custom_tool_call_output"):
                break
            results.append(output_text(it.get("output")))
        content, reason, _ = shape_text(req, "Tool result: " + "; ".join(reversed(results))[:500], None, budget)
    elif (last_type == "message" and last.get("role") == "user") and ("tool" in scen or (n["tools"] and tc != "none")):
        calls = pick_calls(n["tools"], tc, b.get("parallel_tool_calls") is not False, req.text, snippet)
    else:
        kind = fmt.get("type")
        if kind == "json_schema":
            text = json.dumps(example_from_schema(fmt.get("schema") or {}, snippet))
        elif kind == "json_object":
            text = json.dumps({"echo": snippet})
        else:
            text = "Echo: " + snippet
        content, reason, _ = shape_text(req, text, None, budget, fixed=kind in ("json_schema", "json_object"))
    incomplete = reason == "length" or (budget is not None and budget <= 0 and not calls and r_pieces)

    # output items
    output = []
    r_text = "".join(r_pieces)
    if r_pieces:
        item = {"id": hex_id("rs_", salt, 0), "type": "reasoning", "summary": []}
        if n["summary"]:
            item["summary"] = [{"type": "summary_text", "text": r_text}]
        if "reasoning.encrypted_content" in n["include"]:
            item["encrypted_content"] = encrypt(item["id"], r_text)
        output.append(item)
    if content is not None or refusal is not None:
        part = (
            {"type": "refusal", "refusal": "".join(refusal)}
            if refusal is not None
            else {"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(content)}
        )
        output.append(
            {
                "id": hex_id("msg_", salt, 1),
                "type": "message",
                "status": "incomplete" if incomplete else "completed",
                "content": [part],
                "role": "assistant",
            }
        )
    for j, (kind, name, payload) in enumerate(calls):
        call_id = make_id("call_", next(seq), 24)
        if kind == "function_call":
            output.append(
                {
                    "id": hex_id("fc_", salt, 2 + j),
                    "type": "function_call",
                    "status": "completed",
                    "arguments": payload,
                    "call_id": call_id,
                    "name": name,
                }
            )
        else:
            output.append(
                {
                    "id": hex_id("ctc_", salt, 2 + j),
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    "input": payload,
                    "name": name,
                }
            )

    usage = None
    if "no-usage" not in scen:
        tools_key = orjson.dumps(n["tools"])
        keys = [orjson.dumps(it) for it in context]
        if n["instructions"]:
            keys.insert(0, orjson.dumps(n["instructions"]))
        ptoks = (
            (count_text(n["instructions"]) + 3 if n["instructions"] else 0)
            + sum(item_tokens(it) for it in context)
            + (json_tokens(n["tools"]) if n["tools"] else 0)
        )
        last_toks = item_tokens(last) if last else 0
        cached = cached_input(app, b.get("prompt_cache_key"), keys, tools_key, ptoks, last_toks)
        otoks = (
            len(r_pieces)
            + len(content or refusal or ())
            + sum(json_tokens(p) + 3 if k == "function_call" else count_text(p) + 3 for k, _, p in calls)
        )
        usage = {
            "input_tokens": ptoks,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": otoks,
            "output_tokens_details": {"reasoning_tokens": len(r_pieces)},
            "total_tokens": ptoks + otoks,
        }

    created = int(time.time())
    status = "incomplete" if incomplete else "completed"
    final = response_obj(b, n, rid, created, status, output, usage)
    if incomplete:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
    else:
        final["completed_at"] = created
    if b.get("store") is not False:
        remember(app, rid, final, n)
    if not stream:
        return app.send_json(req, 200, final)
    so = b.get("stream_options") or {}
    frames, k = stream_frames(b, n, rid, created, final, r_pieces, content, refusal, failure, scen, so)
    fail_frame = frame(
        "response.failed",
        k,
        {"response": failed_obj(b, n, rid, created, "server_error", STATUS_ERRORS[500][2])},
    )
    return app.send_stream(req, frames, fail_frame, GARBAGE_FRAME)


def response_obj(b, n, rid, created, status, output, usage):
    reasoning = b.get("reasoning") or {}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": n["instructions"],
        "max_output_tokens": n["max_output_tokens"],
        "max_tool_calls": b.get("max_tool_calls"),
        "model": n["model"],
        "output": output,
        "parallel_tool_calls": b.get("parallel_tool_calls") is not False,
        "previous_response_id": b.get("previous_response_id"),
        "prompt_cache_key": b.get("prompt_cache_key"),
        "prompt_cache_retention": b.get("prompt_cache_retention"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": n["summary"]},
        "safety_identifier": b.get("safety_identifier"),
        "service_tier": "default" if b.get("service_tier") in (None, "auto") else b["service_tier"],
        "store": b.get("store") is not False,
        "temperature": 1.0 if b.get("temperature") is None else b["temperature"],
        "text": n["text"],
        "tool_choice": n["tool_choice"],
        "tools": n["tools"],
        "top_logprobs": b.get("top_logprobs") or 0,
        "top_p": 1.0 if b.get("top_p") is None else b["top_p"],
        "truncation": b.get("truncation") or "disabled",
        "usage": usage,
        "user": b.get("user"),
        "metadata": b.get("metadata") or {},
    }


def failed_obj(b, n, rid, created, code, message):
    obj = response_obj(b, n, rid, created, "failed", [], None)
    obj["error"] = {"code": code, "message": message}
    return obj


def remember(app, rid, final, n):
    store = app.responses
    store[rid] = {"response": final, "context": n["context"], "input": n["items"]}
    for it in final["output"]:
        app.responses_items[it["id"]] = it
    while len(store) > STORE_LIMIT:
        _, old = store.popitem(last=False)
        for it in old["response"]["output"]:
            app.responses_items.pop(it["id"], None)


# --------------------------------------------------------------------------- streaming


def frame(kind: str, seq: int, fields: dict) -> bytes:
    body = orjson.dumps({"type": kind, "sequence_number": seq, **fields})
    return b"event: " + kind.encode() + b"\ndata: " + body + b"\n\n"


def stream_frames(b, n, rid, created, final, r_pieces, content, refusal, failure, scen, so):
    """All the SSE frames of a streamed answer, and where an error-event fault goes."""
    obf = so.get("include_obfuscation") is not False
    events = []

    def add(kind, **fields):
        events.append((kind, fields))

    def delta(kind, piece, **fields):
        if obf:
            fields["obfuscation"] = obfuscation(len(piece))
        add(kind, **fields, delta=piece)

    head = response_obj(b, n, rid, created, "in_progress", [], None)
    add("response.created", response=head)
    add("response.in_progress", response=head)
    if failure is not None:
        _, _, message = FAILURES.get(failure, (500, "server_error", STATUS_ERRORS[500][2]))
        add("response.failed", response=failed_obj(b, n, rid, created, failure, message))
        return [frame(kind, i, f) for i, (kind, f) in enumerate(events)], 1

    for oi, item in enumerate(final["output"]):
        iid = item["id"]
        t = item["type"]
        if t == "reasoning":
            added = {"id": iid, "type": "reasoning", "summary": []}
            add("response.output_item.added", output_index=oi, item=added)
            for si, part in enumerate(item["summary"]):
                add(
                    "response.reasoning_summary_part.added",
                    item_id=iid,
                    output_index=oi,
                    part={"type": "summary_text", "text": ""},
                    summary_index=si,
                )
                for piece in r_pieces:
                    delta(
                        "response.reasoning_summary_text.delta", piece, item_id=iid, output_index=oi, summary_index=si
                    )
                add(
                    "response.reasoning_summary_text.done",
                    item_id=iid,
                    output_index=oi,
                    summary_index=si,
                    text=part["text"],
                )
                add("response.reasoning_summary_part.done", item_id=iid, output_index=oi, part=part, summary_index=si)
        elif t == "message":
            part = item["content"][0]
            add(
                "response.output_item.added",
                output_index=oi,
                item={"id": iid, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
            )
            if part["type"] == "refusal":
                add(
                    "response.content_part.added",
                    content_index=0,
                    item_id=iid,
                    output_index=oi,
                    part={"type": "refusal", "refusal": ""},
                )
                for piece in refusal:
                    add("response.refusal.delta", content_index=0, delta=piece, item_id=iid, output_index=oi)
                add("response.refusal.done", content_index=0, item_id=iid, output_index=oi, refusal=part["refusal"])
            else:
                add(
                    "response.content_part.added",
                    content_index=0,
                    item_id=iid,
                    output_index=oi,
                    part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
                )
                for piece in content:
                    delta(
                        "response.output_text.delta", piece, content_index=0, item_id=iid, logprobs=[], output_index=oi
                    )
                add(
                    "response.output_text.done",
                    content_index=0,
                    item_id=iid,
                    logprobs=[],
                    output_index=oi,
                    text=part["text"],
                )
            add("response.content_part.done", content_index=0, item_id=iid, output_index=oi, part=part)
        elif t == "function_call":
            added = dict(item, status="in_progress", arguments="")
            add("response.output_item.added", output_index=oi, item=added)
            for piece in split_fixed(item["arguments"]):
                delta("response.function_call_arguments.delta", piece, item_id=iid, output_index=oi)
            add(
                "response.function_call_arguments.done",
                arguments=item["arguments"],
                item_id=iid,
                name=item["name"],
                output_index=oi,
            )
        else:
            added = dict(item, status="in_progress", input="")
            add("response.output_item.added", output_index=oi, item=added)
            for piece in split_fixed(item["input"], 16):
                delta("response.custom_tool_call_input.delta", piece, item_id=iid, output_index=oi)
            add("response.custom_tool_call_input.done", input=item["input"], item_id=iid, output_index=oi)
        add("response.output_item.done", output_index=oi, item=item)
    add("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
    frames = [frame(kind, i, f) for i, (kind, f) in enumerate(events)]
    k = max(1, min(int_arg(scen, "error-event", 4), len(frames) - 2)) if "error-event" in scen else 1
    return frames, k


# --------------------------------------------------------------------------- stored responses


def response_id(req) -> str:
    return req.path.split("/")[2]


def not_found(app, req, rid):
    return app.error(req, 404, "invalid_request_error", f"Response with id '{rid}' not found.", param="response_id")


def retrieve(app, req):
    rid = response_id(req)
    found = app.responses.get(rid)
    if found is None:
        return not_found(app, req, rid)
    return app.send_json(req, 200, found["response"])


def delete(app, req):
    rid = response_id(req)
    found = app.responses.pop(rid, None)
    if found is None:
        return not_found(app, req, rid)
    for it in found["response"]["output"]:
        app.responses_items.pop(it["id"], None)
    return app.send_json(req, 200, {"id": rid, "object": "response", "deleted": True})


def listed_item(rid, i, it):
    out = dict(it)
    out.setdefault("id", hex_id("msg_" if it.get("type") == "message" else "item_", rid, i))
    if out.get("type") == "message":
        c = out.get("content")
        if isinstance(c, str):
            kind = "output_text" if out.get("role") == "assistant" else "input_text"
            out["content"] = [{"type": kind, "text": c}]
        out.setdefault("status", "completed")
    return out


def input_items(app, req):
    rid = response_id(req)
    found = app.responses.get(rid)
    if found is None:
        return not_found(app, req, rid)
    q = parse_qs(req.env.get("QUERY_STRING", ""))
    order = q.get("order", ["desc"])[0]
    if order not in ("asc", "desc"):
        return app.error(
            req,
            400,
            "invalid_request_error",
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            code="invalid_value",
            param="order",
        )
    try:
        limit = int(q.get("limit", ["20"])[0])
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return app.error(
            req,
            400,
            "invalid_request_error",
            "Invalid 'limit': expected an integer between 1 and 100.",
            code="invalid_value",
            param="limit",
        )
    items = [listed_item(rid, i, it) for i, it in enumerate(found["input"])]
    if order == "desc":
        items.reverse()
    after = q.get("after", [None])[0]
    if after is not None:
        ids = [it["id"] for it in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[:limit]
    return app.send_json(
        req,
        200,
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        },
    )


ROUTES = {
    ("POST", "/responses"): (create, responses_text),
    ("GET", "/responses/{id}"): (retrieve, None),
    ("DELETE", "/responses/{id}"): (delete, None),
    ("GET", "/responses/{id}/input_items"): (input_items, None),
}
