"""Anthropic Messages request -> OpenAI Chat Completions request.

Messages
--------
* ``system`` (a string, or text blocks joined with ``"\\n\\n"``) becomes the
  first message, role ``system``. ``cache_control`` markers are dropped
  everywhere (OpenAI has no equivalent).
* A ``user`` message with ``tool_result`` blocks becomes one ``tool`` message
  per result (in order), followed by a ``user`` message with the remaining
  content. Tool result text blocks are joined with ``"\\n"``; ``is_error`` is
  dropped (OpenAI tool messages have no error flag). Images inside a tool
  result cannot go in a ``tool`` message: they are moved into the following
  ``user`` message, after a short text naming the tool call.
* Other user content is converted by :mod:`lumyx.translate.content`; a single
  text part is sent as a plain string.
* An ``assistant`` message becomes ``content`` (text blocks concatenated;
  ``null`` when there are only tool calls), ``tool_calls`` (one per
  ``tool_use`` block, ``input`` serialised as JSON) and, for ``thinking`` /
  ``redacted_thinking`` blocks, ``reasoning_content`` and ``reasoning_details``
  (:func:`lumyx.translate.content.assistant_blocks_to_openai`, as for a response).
  Server tool blocks and other block types are rejected, naming the type.

Parameters
----------
* ``max_tokens`` -> ``max_completion_tokens`` (``max_tokens`` is rejected by
  OpenAI reasoning models).
* ``temperature`` and ``top_p`` are copied; ``stop_sequences`` -> ``stop``;
  ``metadata.user_id`` -> ``user``.
* ``stream`` is copied; with ``stream: true``, ``stream_options:
  {"include_usage": true}`` is added so usage can be reported.
* ``tools`` / ``tool_choice``: see :mod:`lumyx.translate.tools`.
* ``thinking`` -> ``reasoning_effort``: see :mod:`lumyx.translate.reasoning`.
* ``output_config.format`` (JSON schema) -> ``response_format``
  ``{"type": "json_schema", "json_schema": {"name": "response", "schema": ...}}``.
* Dropped: ``top_k``, ``metadata`` other than ``user_id``, ``container``,
  ``mcp_servers``, ``service_tier``, ``output_config.effort`` (except with
  adaptive thinking), ``context_management``, ``inference_geo`` and every other
  parameter not listed here.
"""

from __future__ import annotations

from lumyx.translate.content import (
    ASSISTANT_BLOCK_TYPES,
    assistant_blocks_to_openai,
    block_to_openai_part,
    image_part_from_block,
    simplify_parts,
)
from lumyx.translate.errors import TranslationError
from lumyx.translate.reasoning import reasoning_effort_for_openai
from lumyx.translate.tools import anthropic_tool_choice_to_openai, anthropic_tools_to_openai


def anthropic_request_to_openai(body: dict) -> dict:
    """Translate an Anthropic Messages request body into an OpenAI Chat Completions request body.

    Raises :class:`TranslationError` when the request cannot be expressed; the
    module documentation lists every rule.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TranslationError("messages must be an array", "messages")

    out_messages: list[dict] = []
    system = _system_text(body.get("system"))
    if system:
        out_messages.append({"role": "system", "content": system})
    for i, msg in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise TranslationError("each message must be an object", param)
        role = msg.get("role")
        if role == "user":
            _append_user(out_messages, msg.get("content"), param)
        elif role == "assistant":
            out_messages.append(_assistant_message(msg.get("content"), param))
        else:
            raise TranslationError(f"unsupported message role {role!r}", f"{param}.role")

    out: dict = {"model": body.get("model"), "messages": out_messages}
    if body.get("max_tokens") is not None:
        out["max_completion_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop_sequences")
    if stop:
        out["stop"] = list(stop)
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id"):
        out["user"] = metadata["user_id"]

    tools = body.get("tools")
    if tools:
        out["tools"] = anthropic_tools_to_openai(tools)
        choice, parallel = anthropic_tool_choice_to_openai(body.get("tool_choice"))
        if choice is not None:
            out["tool_choice"] = choice
        if parallel is not None:
            out["parallel_tool_calls"] = parallel

    effort = reasoning_effort_for_openai(body)
    if effort is not None:
        out["reasoning_effort"] = effort
    config = body.get("output_config")
    if isinstance(config, dict):
        fmt = config.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": fmt["schema"]},
            }

    if "stream" in body:
        out["stream"] = bool(body["stream"])
        if out["stream"]:
            out["stream_options"] = {"include_usage": True}
    return out


def _system_text(system: object) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if not isinstance(system, list):
        raise TranslationError("system must be a string or an array of text blocks", "system")
    texts = []
    for j, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise TranslationError("system blocks must be text blocks", f"system[{j}]")
        if block.get("text"):
            texts.append(block["text"])
    return "\n\n".join(texts)


def _append_user(out: list[dict], content: object, param: str) -> None:
    if isinstance(content, str):
        out.append({"role": "user", "content": content})
        return
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content blocks", f"{param}.content")
    parts: list[dict] = []
    moved: list[dict] = []
    had_results = False
    for j, block in enumerate(content):
        bparam = f"{param}.content[{j}]"
        if isinstance(block, dict) and block.get("type") == "tool_result":
            had_results = True
            message, images = _tool_message(block, bparam)
            out.append(message)
            if images:
                moved.append({"type": "text", "text": f"Image output of tool call {message['tool_call_id']}:"})
                moved.extend(images)
            continue
        part = block_to_openai_part(block, bparam)
        if part is not None:
            parts.append(part)
    parts = moved + parts
    if parts:
        out.append({"role": "user", "content": simplify_parts(parts)})
    elif not had_results:
        out.append({"role": "user", "content": ""})


def _tool_message(block: dict, param: str) -> tuple[dict, list[dict]]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError("tool_use_id is required", f"{param}.tool_use_id")
    content = block.get("content")
    images: list[dict] = []
    if isinstance(content, list):
        texts = []
        for k, item in enumerate(content):
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "image":
                images.append(image_part_from_block(item, f"{param}.content[{k}]"))
                continue
            part = block_to_openai_part(item, f"{param}.content[{k}]")
            if part is None:
                continue
            if part["type"] != "text":
                raise TranslationError(
                    f"{kind!r} blocks in tool results are not supported for this model", f"{param}.content[{k}]"
                )
            texts.append(part["text"])
        text = "\n".join(texts)
    elif isinstance(content, str):
        text = content
    else:
        text = ""
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _assistant_message(content: object, param: str) -> dict:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    if not isinstance(content, list):
        raise TranslationError("content must be a string or an array of content blocks", f"{param}.content")
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in ASSISTANT_BLOCK_TYPES:
            raise TranslationError(
                f"assistant content block type {kind!r} is not supported for this model", f"{param}.content[{j}]"
            )
    text, fields = assistant_blocks_to_openai(content)
    return {"role": "assistant", "content": text, **fields}
