"""OpenAI Responses request -> OpenAI Chat Completions request (a Responses
client served by a Chat Completions upstream, and through it by a Messages one).

The body is the gateway's *expanded* request: ``previous_response_id`` and
``item_reference`` items already replaced by the conversation they stand for,
Lumyx-sealed reasoning opened into ``reasoning_details``.

Messages
--------
* ``instructions`` -> the first message, role ``system``. ``input`` as a
  string -> one ``user`` message.
* ``message`` items (``type`` may be absent: the Agents SDK leaves it out;
  ``content`` a string or a list of parts):

  - role ``user`` -> a ``user`` message: ``input_text`` (or ``output_text``)
    -> a ``text`` part, ``input_image`` -> an ``image_url`` part ``{url,
    detail}``. ``input_file``, an ``input_image`` with only a ``file_id`` and
    any other part are refused with ``param`` ``input[i].content[j]``.
  - roles ``system`` and ``developer`` -> a ``system`` message where they
    stood, their text parts joined with ``"\\n\\n"``.
  - role ``assistant`` (``output_text`` and ``refusal`` parts, or a string)
    -> assistant text; a refusal is read as text.
* An assistant *turn* is a run of assistant messages, ``function_call``,
  ``custom_tool_call`` and ``reasoning`` items with nothing else between them.
  It becomes one ``assistant`` message (Chat wants all the tool calls of a turn
  in one message, text first): its texts joined with ``""`` as ``content``
  (null when there is none), its calls as ``tool_calls`` in order, and the
  ``reasoning_details`` of its reasoning items (in order) with their summary
  texts joined by ``"\\n\\n"`` as ``reasoning_content``.
* ``function_call`` -> a tool call ``{id: call_id, type: "function",
  function: {name, arguments}}`` (a call with ``namespace`` is named
  ``<namespace>__<name>``; empty arguments are sent as ``"{}"``);
  ``custom_tool_call`` -> a tool call whose ``arguments`` are
  ``json.dumps({"input": input})``.
* ``function_call_output`` / ``custom_tool_call_output`` -> a ``tool`` message
  (``tool_call_id`` the ``call_id``); ``output`` a string, or a list of
  ``input_text`` / ``output_text`` parts whose texts are joined with ``"\\n\\n"``
  (any other part is refused, ``param`` ``input[i].output[j]``).
* A ``reasoning`` item without ``reasoning_details`` (a foreign
  ``encrypted_content``, an id only) is dropped, and so is a turn of
  reasoning items only: a Chat upstream takes back only its own reasoning.
* Dropped by rule, being the record of a tool only OpenAI runs (its result is
  already in the text that followed): ``web_search_call``,
  ``file_search_call``, ``code_interpreter_call``, ``image_generation_call``,
  ``mcp_call``, ``mcp_list_tools``, ``tool_search_call``, ``tool_search_output``.
* Refused (``param`` ``input[i]``): an ``item_reference`` left unresolved and
  every other item type (``computer_call*``, ``local_shell_call*``,
  ``shell_call*``, ``apply_patch_call*``, ``mcp_approval_*``, ``compaction``, ...).
* Extra keys on items (``id``, ``status``, ``content: null`` on reasoning) are ignored.

Parameters
----------
* ``tools``, ``tool_choice``: see :mod:`lumyx.translate.tools` (custom tools
  as one-string-argument functions, namespaces flattened, built-ins dropped).
  When no tool is left, ``tool_choice`` and ``parallel_tool_calls`` are
  dropped (a choice naming a built-in tool is still refused); else
  ``parallel_tool_calls`` is copied.
* ``reasoning.effort`` -> ``reasoning_effort`` (``none`` -> nothing;
  ``minimal`` and ``xhigh`` as given). ``reasoning.summary`` is dropped: the
  upstream's reasoning text becomes the summary.
* ``text.format``: ``json_schema`` ``{name, schema, strict, description}`` ->
  ``response_format: {"type": "json_schema", "json_schema": {...}}``;
  ``json_object`` -> ``{"type": "json_object"}``; ``text`` -> nothing.
  ``text.verbosity`` is dropped.
* ``max_output_tokens`` -> ``max_completion_tokens``. ``model``,
  ``temperature``, ``top_p``, ``user`` are copied. ``stream: true`` is copied
  with ``stream_options: {"include_usage": true}`` (the Responses stream ends
  with the usage).
* Refused (400 naming the parameter): ``background: true``, a
  ``conversation``, ``prompt`` (stored prompt templates), a
  ``previous_response_id`` still present (the gateway expands it first).
* Dropped: ``store``, ``include``, ``metadata``, ``prompt_cache_key``,
  ``prompt_cache_retention``, ``truncation``, ``service_tier``,
  ``client_metadata``, ``safety_identifier``, ``max_tool_calls``,
  ``top_logprobs``, ``stream_options``, ``background: false``, ``conversation:
  null`` and every other parameter not listed here.
"""

from __future__ import annotations

import json

from lumyx.translate.errors import TranslationError
from lumyx.translate.tools import namespaced_name, responses_tool_choice_to_openai, responses_tools_to_openai

OUTPUT_ONLY_ITEMS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
        "mcp_list_tools",
        "tool_search_call",
        "tool_search_output",
    }
)
"""Input item types dropped by rule: records of tools only OpenAI runs."""

_TEXT_PARTS = ("input_text", "output_text")


def _refuse_gaps(body: dict) -> None:
    if body.get("background") is True:
        raise TranslationError("background responses are not supported for this model", "background")
    for param, what in (
        ("conversation", "conversations"),
        ("prompt", "stored prompts"),
        ("previous_response_id", "previous_response_id"),
    ):
        if body.get(param) is not None:
            raise TranslationError(f"{what} are not supported for this model", param)


def _parts(content: object, param: str) -> list:
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content parts", param)
    return content


def _joined_text(content: object, param: str, kinds: tuple[str, ...], sep: str) -> str:
    """The text of content that may only hold text parts of ``kinds``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for j, part in enumerate(_parts(content, param)):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in kinds:
            raise TranslationError(f"content part {kind!r} is not supported here", f"{param}[{j}]")
        text = part.get("refusal") if kind == "refusal" else part.get("text")
        if isinstance(text, str) and text:
            texts.append(text)
    return sep.join(texts)


def _user_content(content: object, param: str) -> str | list[dict]:
    if isinstance(content, str):
        return content
    out = []
    for j, part in enumerate(_parts(content, param)):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS:
            out.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "input_image" and isinstance(part.get("image_url"), str) and part["image_url"]:
            image = {"url": part["image_url"]}
            if part.get("detail") in ("low", "high", "auto"):
                image["detail"] = part["detail"]
            out.append({"type": "image_url", "image_url": image})
        elif kind == "input_image":
            raise TranslationError(
                "images by file_id are not supported for this model; send image_url", f"{param}[{j}]"
            )
        else:
            raise TranslationError(f"content part {kind!r} is not supported for this model", f"{param}[{j}]")
    return out


def _required(item: dict, key: str, param: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise TranslationError(f"{key} is required", f"{param}.{key}")
    return value


def _tool_call(item: dict, param: str) -> dict:
    name = namespaced_name(_required(item, "name", param), item.get("namespace"))
    if item.get("type") == "custom_tool_call":
        value = item.get("input")
        if not isinstance(value, str):
            raise TranslationError("input must be a string", f"{param}.input")
        arguments = json.dumps({"input": value})
    else:
        arguments = item.get("arguments")
        if not isinstance(arguments, str):
            raise TranslationError("arguments must be a string", f"{param}.arguments")
    return {
        "id": _required(item, "call_id", param),
        "type": "function",
        "function": {"name": name, "arguments": arguments or "{}"},
    }


class _Turn:
    """The assistant turn being gathered from consecutive output items."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[dict] = []
        self.details: list = []
        self.summaries: list[str] = []

    def reasoning(self, item: dict) -> None:
        details = item.get("reasoning_details")
        if not isinstance(details, list) or not details:
            return
        self.details.extend(details)
        for part in item.get("summary") or ():
            if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
                self.summaries.append(part["text"])

    def flush(self, messages: list[dict]) -> _Turn:
        """Append the turn's message (when it said or called anything) and start a new turn."""
        text = "".join(self.texts)
        if text or self.calls:
            message: dict = {"role": "assistant", "content": text or None}
            if self.calls:
                message["tool_calls"] = self.calls
            if self.details:
                message["reasoning_details"] = self.details
                if self.summaries:
                    message["reasoning_content"] = "\n\n".join(self.summaries)
            messages.append(message)
        return _Turn()


def _messages(body: dict) -> list[dict]:
    messages: list[dict] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            messages.append({"role": "system", "content": instructions})
    elif instructions is not None:
        raise TranslationError("instructions must be a string", "instructions")
    items = body.get("input")
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    if not isinstance(items, list):
        raise TranslationError("input must be a string or an array of items", "input")
    turn = _Turn()
    for i, item in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise TranslationError("each input item must be an object", param)
        kind = item.get("type") or ("message" if "role" in item else None)
        role = item.get("role")
        if kind == "message" and role == "assistant":
            turn.texts.append(_joined_text(item.get("content"), f"{param}.content", (*_TEXT_PARTS, "refusal"), ""))
        elif kind in ("function_call", "custom_tool_call"):
            turn.calls.append(_tool_call(item, param))
        elif kind == "reasoning":
            turn.reasoning(item)
        elif kind in OUTPUT_ONLY_ITEMS:
            continue
        elif kind == "message" and role == "user":
            turn = turn.flush(messages)
            messages.append({"role": "user", "content": _user_content(item.get("content"), f"{param}.content")})
        elif kind == "message" and role in ("system", "developer"):
            turn = turn.flush(messages)
            text = _joined_text(item.get("content"), f"{param}.content", _TEXT_PARTS, "\n\n")
            messages.append({"role": "system", "content": text})
        elif kind == "message":
            raise TranslationError(f"messages of role {role!r} are not supported", f"{param}.role")
        elif kind in ("function_call_output", "custom_tool_call_output"):
            turn = turn.flush(messages)
            output = _joined_text(item.get("output"), f"{param}.output", _TEXT_PARTS, "\n\n")
            messages.append({"role": "tool", "tool_call_id": _required(item, "call_id", param), "content": output})
        elif kind == "item_reference":
            raise TranslationError(f"item {item.get('id')!r} could not be found", param)
        else:
            raise TranslationError(f"input items of type {kind!r} are not supported for this model", param)
    turn.flush(messages)
    return messages


def _response_format(text: object) -> dict | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = {"name": fmt.get("name") or "response", "schema": fmt.get("schema") or {}}
        if isinstance(fmt.get("strict"), bool):
            spec["strict"] = fmt["strict"]
        if isinstance(fmt.get("description"), str):
            spec["description"] = fmt["description"]
        return {"type": "json_schema", "json_schema": spec}
    if kind not in (None, "text"):
        raise TranslationError(f"text.format {kind!r} is not supported", "text.format")
    return None


def responses_request_to_chat(body: dict) -> dict:
    """The Chat Completions request equivalent to an (expanded) Responses request ``body``."""
    _refuse_gaps(body)
    out: dict = {"model": body.get("model"), "messages": _messages(body)}
    tools = responses_tools_to_openai(body["tools"]) if body.get("tools") is not None else []
    choice = responses_tool_choice_to_openai(body.get("tool_choice"), body.get("tools"))
    if tools:
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice
        if isinstance(body.get("parallel_tool_calls"), bool):
            out["parallel_tool_calls"] = body["parallel_tool_calls"]
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool):
        out["max_completion_tokens"] = limit
    for key in ("temperature", "top_p", "user"):
        if body.get(key) is not None:
            out[key] = body[key]
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    effort = reasoning.get("effort")
    if isinstance(effort, str) and effort != "none":
        out["reasoning_effort"] = effort
    response_format = _response_format(body.get("text"))
    if response_format:
        out["response_format"] = response_format
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out
