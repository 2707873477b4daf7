"""Tool definitions and ``tool_choice``.

OpenAI -> Anthropic:

* ``{"type": "function", "function": {name, description, parameters}}`` ->
  ``{name, description, input_schema}``. Missing ``parameters`` become
  ``{"type": "object", "properties": {}}``; a schema without ``type`` gets
  ``"type": "object"``. ``function.strict`` is dropped (not every Anthropic
  model accepts strict tools).
* Tools of any other type (e.g. ``custom``) are rejected, naming the tool.
* ``tool_choice``: ``"auto"`` -> ``{"type": "auto"}``, ``"required"`` ->
  ``{"type": "any"}``, ``"none"`` -> ``{"type": "none"}``, ``{"type":
  "function", "function": {"name": N}}`` -> ``{"type": "tool", "name": N}``.
  ``allowed_tools`` and ``custom`` choices are rejected.
* ``parallel_tool_calls: false`` -> ``disable_parallel_tool_use: true`` inside
  ``tool_choice`` (``{"type": "auto"}`` is used when no choice was given; it is
  not added to ``{"type": "none"}``).
* Without tools, ``tool_choice`` and ``parallel_tool_calls`` are dropped.

Anthropic -> OpenAI:

* Custom tools (``type`` absent or ``"custom"``) -> function tools.
  ``cache_control``, ``strict``, ``input_examples``, ``allowed_callers`` and
  ``eager_input_streaming`` are dropped. Tools with ``defer_loading: true``
  are left out: the model finds them through Anthropic's tool search, which
  OpenAI-format upstreams do not have.
* Server tools and other non-custom types (web search, bash, code execution,
  text editor, computer use, ...) are rejected, naming the tool.
* ``tool_choice``: the reverse of the mapping above;
  ``disable_parallel_tool_use: true`` -> ``parallel_tool_calls: false``.
* Without tools, ``tool_choice`` is dropped.

OpenAI Responses -> OpenAI Chat Completions (:func:`responses_tools_to_openai`):

* ``function`` tools -> ``{"type": "function", "function": {name, description,
  parameters, strict}}``; missing or null ``parameters`` become ``{"type":
  "object", "properties": {}}``; ``strict`` is kept only when the client set
  it; ``defer_loading`` is dropped (the tool is offered directly: the tool
  search that would load it is not offered on a Chat upstream).
* ``custom`` (freeform) tools -> a function of the same name taking one
  required string parameter ``input``. When the tool's ``format`` is a
  grammar, ``"\n\nInput format (<syntax> grammar):\n<definition>"`` is
  appended to its description.
* ``namespace`` tools -> each of their tools as above, named ``<namespace>__<name>``.
* Built-in tools (:data:`RESPONSES_BUILTIN_TOOLS`: web search, tool search,
  file search, code interpreter, image generation, computer use, MCP, local
  shell, shell, apply_patch) are dropped: only OpenAI runs them. Any other
  tool type is rejected, naming the tool.
* ``tool_choice``: ``auto``, ``none``, ``required`` as they are; ``{"type":
  "function" | "custom", "name"}`` -> ``{"type": "function", "function":
  {"name"}}`` (a name found only inside one namespace gets its ``ns__`` prefix);
  ``{"type": "allowed_tools", "mode"}`` -> the mode (``auto`` or
  ``required``): Chat's own ``allowed_tools`` is not portable. A choice that
  names a built-in tool (or any other type) is rejected.
* :func:`responses_tool_names` maps the Chat function names back to
  ``(kind, name, namespace)`` so a call comes back as the item the client's
  tool asks for (``function_call``, with ``namespace`` when it has one, or
  ``custom_tool_call``).

Streamed tool call arguments arrive in fragments; :func:`is_complete_json` tells
whether those seen so far form a whole JSON value (a stream cut off inside a
tool call leaves them incomplete, and a client must not run that call).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from lumyx.translate.errors import TranslationError


def _empty_schema() -> dict:
    """A fresh empty object schema (never shared between requests)."""
    return {"type": "object", "properties": {}}


def _each_tool(tools: object) -> Iterator[tuple[int, str, dict]]:
    """``(index, param, tool)`` for each tool of a request's ``tools`` array, rejecting what is not an object."""
    if not isinstance(tools, list):
        raise TranslationError("tools must be an array", "tools")
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise TranslationError("each tool must be an object", param)
        yield i, param, tool


def openai_tools_to_anthropic(tools: list) -> list[dict]:
    """Anthropic ``tools`` for OpenAI ``tools``."""
    result = []
    for i, param, tool in _each_tool(tools):
        function = tool.get("function")
        kind = tool.get("type", "function")
        if kind != "function" or not isinstance(function, dict):
            name = (tool.get(kind) or {}).get("name") if isinstance(tool.get(kind), dict) else None
            raise TranslationError(
                f"tool {name or i!r} of type {kind!r} is not supported for this model; only function tools are",
                param,
            )
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("function.name is required", f"{param}.function.name")
        schema = function.get("parameters")
        if not isinstance(schema, dict) or not schema:
            schema = _empty_schema()
        elif "type" not in schema:
            schema = {"type": "object", **schema}
        converted = {"name": name}
        if function.get("description"):
            converted["description"] = function["description"]
        converted["input_schema"] = schema
        if tool.get("cache_control"):
            converted["cache_control"] = tool["cache_control"]
        result.append(converted)
    return result


def openai_tool_choice_to_anthropic(choice: object, parallel_tool_calls: object) -> dict | None:
    """Anthropic ``tool_choice`` (or ``None`` to omit it). Call only when tools are present."""
    if choice is None:
        converted = None
    elif choice == "auto":
        converted = {"type": "auto"}
    elif choice == "required":
        converted = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("tool_choice.function.name is required", "tool_choice")
        converted = {"type": "tool", "name": name}
    else:
        kind = choice.get("type") if isinstance(choice, dict) else choice
        raise TranslationError(f"tool_choice {kind!r} is not supported for this model", "tool_choice")
    if parallel_tool_calls is False:
        if converted is None:
            converted = {"type": "auto"}
        converted["disable_parallel_tool_use"] = True
    return converted


def anthropic_tools_to_openai(tools: list) -> list[dict]:
    """OpenAI ``tools`` for Anthropic ``tools``."""
    result = []
    for _, param, tool in _each_tool(tools):
        if tool.get("defer_loading") is True:
            continue  # found through Anthropic's tool search, which OpenAI has no equivalent of
        kind = tool.get("type")
        name = tool.get("name")
        if kind not in (None, "custom"):
            raise TranslationError(
                f"tool {name!r} of type {kind!r} is an Anthropic server tool and is not supported for this model",
                param,
            )
        if not isinstance(name, str) or not name:
            raise TranslationError("tool name is required", f"{param}.name")
        function = {"name": name}
        if tool.get("description"):
            function["description"] = tool["description"]
        schema = tool.get("input_schema")
        function["parameters"] = schema if isinstance(schema, dict) and schema else _empty_schema()
        result.append({"type": "function", "function": function})
    return result


def anthropic_tool_choice_to_openai(choice: object) -> tuple[object, bool | None]:
    """``(tool_choice, parallel_tool_calls)`` for an Anthropic ``tool_choice``; ``None`` means omit."""
    if choice is None:
        return None, None
    if not isinstance(choice, dict):
        raise TranslationError("tool_choice must be an object", "tool_choice")
    kind = choice.get("type")
    if kind == "auto":
        converted: object = "auto"
    elif kind == "any":
        converted = "required"
    elif kind == "none":
        converted = "none"
    elif kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("tool_choice.name is required", "tool_choice.name")
        converted = {"type": "function", "function": {"name": name}}
    else:
        raise TranslationError(f"tool_choice type {kind!r} is not supported for this model", "tool_choice")
    parallel = False if choice.get("disable_parallel_tool_use") is True and kind != "none" else None
    return converted, parallel


def is_complete_json(text: str) -> bool:
    """True when ``text`` parses as JSON (streamed tool call arguments that are whole)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- OpenAI Responses tools -> Chat Completions ----------------------------------

RESPONSES_BUILTIN_TOOLS = frozenset(
    {
        "apply_patch",
        "code_interpreter",
        "computer",
        "computer_use",
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
    }
)
"""Responses tool types only OpenAI runs: dropped for Chat and Messages upstreams."""

NAMESPACE_SEPARATOR = "__"


def namespaced_name(name: str, namespace: object) -> str:
    """The Chat function name of a Responses tool (``ns__name`` inside a namespace)."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if isinstance(namespace, str) and namespace else name


def _tool_name(tool: dict, param: str) -> str:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise TranslationError("tool name is required", f"{param}.name")
    return name


def _responses_function(tool: dict, param: str, namespace: object) -> dict:
    """The Chat function tool of a Responses ``function`` or ``custom`` tool."""
    name = namespaced_name(_tool_name(tool, param), namespace)
    description = tool.get("description") if isinstance(tool.get("description"), str) else ""
    if tool.get("type") == "custom":
        fmt = tool.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "grammar":
            grammar = f"Input format ({fmt.get('syntax')} grammar):\n{fmt.get('definition') or ''}"
            description = f"{description}\n\n{grammar}" if description else grammar
        schema = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The whole input of the tool, as plain text."}},
            "required": ["input"],
            "additionalProperties": False,
        }
        function = {"name": name, "description": description, "parameters": schema}
    else:
        schema = tool.get("parameters")
        function = {"name": name}
        if description:
            function["description"] = description
        function["parameters"] = schema if isinstance(schema, dict) and schema else _empty_schema()
        if isinstance(tool.get("strict"), bool):
            function["strict"] = tool["strict"]
    if not function.get("description"):
        function.pop("description", None)
    return {"type": "function", "function": function}


def responses_tools_to_openai(tools: object) -> list[dict]:
    """Chat Completions ``tools`` for a Responses request's ``tools`` (built-ins left out)."""
    result = []
    for _, param, tool in _each_tool(tools):
        kind = tool.get("type")
        if kind in ("function", "custom"):
            result.append(_responses_function(tool, param, None))
        elif kind == "namespace":
            namespace = _tool_name(tool, param)
            for _, inner_param, inner in _each_tool(tool.get("tools") or []):
                inner_param = f"{param}.tools{inner_param[len('tools') :]}"
                if inner.get("type") not in ("function", "custom"):
                    raise TranslationError("a namespace may only hold function and custom tools", inner_param)
                result.append(_responses_function(inner, inner_param, namespace))
        elif kind not in RESPONSES_BUILTIN_TOOLS:
            raise TranslationError(f"tool type {kind!r} is not supported for this model", param)
    return result


def responses_tool_names(tools: object) -> dict[str, tuple[str, str, str | None]]:
    """Chat function name -> ``(kind, name, namespace)`` for a Responses request's tools.

    ``kind`` is ``"function"`` or ``"custom"``; ``namespace`` is None outside one.
    """
    names: dict[str, tuple[str, str, str | None]] = {}
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        if tool.get("type") in ("function", "custom"):
            names[tool["name"]] = (tool["type"], tool["name"], None)
        elif tool.get("type") == "namespace":
            for inner in tool.get("tools") or ():
                if isinstance(inner, dict) and inner.get("type") in ("function", "custom"):
                    if isinstance(inner.get("name"), str):
                        chat_name = namespaced_name(inner["name"], tool["name"])
                        names[chat_name] = (inner["type"], inner["name"], tool["name"])
    return names


def responses_tool_choice_to_openai(choice: object, tools: object) -> object:
    """Chat ``tool_choice`` for a Responses ``tool_choice`` (None: leave it out)."""
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("tool_choice.name is required", "tool_choice")
        names = responses_tool_names(tools)
        if name not in names:
            inside = [chat for chat, (_, bare, namespace) in names.items() if namespace and bare == name]
            name = inside[0] if len(inside) == 1 else name
        return {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools" and choice.get("mode") in ("auto", "required"):
        return choice["mode"]
    raise TranslationError(f"tool_choice {kind or choice!r} is not supported for this model", "tool_choice")
