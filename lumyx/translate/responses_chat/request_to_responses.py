"""OpenAI Chat Completions request -> OpenAI Responses request.

Messages
--------
* ``system`` and ``developer`` messages before the first other message are
  joined in order with ``"\\n\\n"`` into ``instructions``; any later one becomes
  a ``developer`` message item, where it stood.
* ``user`` messages become ``message`` items of role ``user``: text (a string or
  ``text`` parts) -> ``input_text``, ``image_url`` parts -> ``input_image``
  (``image_url`` the URL or data URI, ``detail`` kept). Any other part
  (``input_audio``, ``file``, ...) is refused with ``param``
  ``messages[i].content[j]``.
* ``assistant`` messages become a ``message`` item of role ``assistant`` whose
  content is the text (a ``refusal``, when there is no text) followed by one
  ``function_call`` item per tool call (``call_id``, ``name``, ``arguments``,
  an empty string sent as ``"{}"``). ``reasoning_content`` is dropped: a
  Responses upstream only takes back reasoning items it issued.
* ``tool`` messages become ``function_call_output`` items (``call_id`` from
  ``tool_call_id``, ``output`` the text of the content).
* ``name`` on messages is dropped. Legacy ``function`` messages, ``functions``
  and ``function_call`` are refused (use ``tools``). A request without any
  message item is refused (``param`` ``messages``).

Parameters
----------
* ``tools``: function tools in the flat shape ``{"type": "function", "name",
  "description", "parameters", "strict"}`` (``strict`` false unless the client
  set it: Chat Completions is not strict by default, Responses is). Any other
  tool type is refused (``param`` ``tools[i]``).
* ``tool_choice``: ``auto``, ``none``, ``required`` copied; a named function
  -> ``{"type": "function", "name"}``. ``parallel_tool_calls`` is copied.
* ``max_completion_tokens``, else ``max_tokens`` -> ``max_output_tokens``,
  raised to 16 (the Responses API's minimum) when lower.
* ``temperature``, ``top_p``, ``user``, ``metadata``, ``stream`` are copied.
* ``response_format`` -> ``text.format``: ``text``, ``json_object`` as they
  are; ``json_schema`` flattened to ``{"type": "json_schema", "name",
  "schema", "strict", "description"}``.
* ``reasoning_effort`` or ``reasoning.effort`` -> ``reasoning: {"effort",
  "summary": "auto"}`` (the summary comes back as ``reasoning_content``);
  ``none`` sends no reasoning.
* ``store`` is always false: the gateway does not ask the upstream to keep state.
* Refused (400 naming the parameter): ``n`` greater than 1, a non-empty
  ``stop`` (the Responses API has no stop sequences), ``logprobs: true``,
  ``audio`` and ``modalities`` asking for audio.
* Dropped: ``seed``, ``frequency_penalty``, ``presence_penalty``,
  ``logit_bias``, ``top_logprobs``, ``stream_options`` (a Responses stream
  always ends with its usage), ``service_tier``, ``prediction``, ``n`` equal
  to 1 and every other parameter not listed here.
"""

from __future__ import annotations

from lumyx.translate.content import openai_content_text
from lumyx.translate.errors import TranslationError

MIN_OUTPUT_TOKENS = 16


def _refuse_gaps(body: dict) -> None:
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n > 1:
        raise TranslationError("n greater than 1 is not supported by this model's upstream", "n")
    stop = body.get("stop")
    if stop and (not isinstance(stop, list) or any(s for s in stop)):
        raise TranslationError("stop sequences are not supported by this model's upstream", "stop")
    if body.get("logprobs") is True:
        raise TranslationError("logprobs are not supported by this model's upstream", "logprobs")
    if body.get("audio") or "audio" in (body.get("modalities") or ()):
        raise TranslationError("audio output is not supported by this model's upstream", "modalities")
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            raise TranslationError(f"{legacy} is not supported by this model's upstream; use tools", legacy)


def _user_parts(content, param: str) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    parts = []
    for j, part in enumerate(content or ()):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "input_text", "text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise TranslationError("image_url.url is required", f"{param}[{j}]")
            item = {"type": "input_image", "image_url": url}
            detail = image.get("detail") if isinstance(image, dict) else None
            if detail in ("low", "high", "auto"):
                item["detail"] = detail
            parts.append(item)
        else:
            raise TranslationError(f"content part {kind!r} is not supported by this model's upstream", f"{param}[{j}]")
    return parts


def _assistant_items(message: dict, i: int) -> list[dict]:
    items = []
    text = openai_content_text(message.get("content"), f"messages[{i}].content")
    if not text and isinstance(message.get("refusal"), str):
        text = message["refusal"]
    if text:
        items.append({"type": "message", "role": "assistant", "content": text})
    for k, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError("a tool call needs a function name", f"messages[{i}].tool_calls[{k}]")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            raise TranslationError("tool call arguments must be a string", f"messages[{i}].tool_calls[{k}]")
        items.append(
            {
                "type": "function_call",
                "call_id": str(call.get("id") or f"call_{i}_{k}"),
                "name": function["name"],
                "arguments": arguments or "{}",
            }
        )
    return items


def _input(messages: list) -> tuple[str | None, list[dict]]:
    instructions: list[str] = []
    items: list[dict] = []
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role in ("system", "developer"):
            text = openai_content_text(content, f"messages[{i}].content")
            if not items:
                instructions.append(text)
            else:
                items.append(
                    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}
                )
        elif role == "user":
            items.append({"type": "message", "role": "user", "content": _user_parts(content, f"messages[{i}].content")})
        elif role == "assistant":
            items.extend(_assistant_items(message, i))
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": str(message.get("tool_call_id") or ""),
                    "output": openai_content_text(content, f"messages[{i}].content"),
                }
            )
        else:
            raise TranslationError(f"messages of role {role!r} are not supported; use tools", f"messages[{i}].role")
    if not items:
        raise TranslationError("at least one user or assistant message is required", "messages")
    joined = "\n\n".join(t for t in instructions if t)
    return joined or None, items


def _tools(tools: list) -> list[dict]:
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError("only function tools are supported by this model's upstream", f"tools[{i}]")
        item = {"type": "function", "name": function["name"], "strict": bool(function.get("strict"))}
        if isinstance(function.get("description"), str):
            item["description"] = function["description"]
        item["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
        out.append(item)
    return out


def _tool_choice(choice):
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if not isinstance(name, str):
            raise TranslationError("tool_choice names no function", "tool_choice")
        return {"type": "function", "name": name}
    return choice


def _text_format(response_format: dict) -> dict | None:
    kind = response_format.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        fmt = {"type": "json_schema", "name": spec.get("name") or "response", "schema": spec.get("schema") or {}}
        if spec.get("strict") is not None:
            fmt["strict"] = bool(spec["strict"])
        if isinstance(spec.get("description"), str):
            fmt["description"] = spec["description"]
        return fmt
    raise TranslationError(f"response_format {kind!r} is not supported", "response_format")


def chat_request_to_responses(body: dict) -> dict:
    """The Responses request equivalent to a Chat Completions request ``body``."""
    _refuse_gaps(body)
    instructions, items = _input(body.get("messages") or [])
    out: dict = {"model": body.get("model"), "input": items, "store": False}
    if instructions:
        out["instructions"] = instructions
    if body.get("tools"):
        out["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        out["tool_choice"] = _tool_choice(body["tool_choice"])
    if isinstance(body.get("parallel_tool_calls"), bool):
        out["parallel_tool_calls"] = body["parallel_tool_calls"]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool):
        out["max_output_tokens"] = max(limit, MIN_OUTPUT_TOKENS)
    for key in ("temperature", "top_p", "user", "metadata"):
        if body.get(key) is not None:
            out[key] = body[key]
    if isinstance(body.get("response_format"), dict):
        fmt = _text_format(body["response_format"])
        if fmt:
            out["text"] = {"format": fmt}
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    effort = reasoning.get("effort") or body.get("reasoning_effort")
    if isinstance(effort, str) and effort != "none":
        out["reasoning"] = {"effort": effort, "summary": "auto"}
    if body.get("stream"):
        out["stream"] = True
    return out
