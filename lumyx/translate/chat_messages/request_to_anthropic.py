"""OpenAI Chat Completions request -> Anthropic Messages request.

Messages
--------
* ``system`` and ``developer`` messages, wherever they appear, are joined in
  order with ``"\\n\\n"`` into the top-level ``system`` string. When a system
  text part carries ``cache_control``, ``system`` is sent as a list of text
  blocks instead, keeping the markers.
* ``user`` content is converted by :mod:`lumyx.translate.content`.
* ``assistant`` messages become, in this order: thinking blocks rebuilt from
  signed ``reasoning_details`` (see :func:`lumyx.translate.reasoning.blocks_from_details`;
  unsigned reasoning is dropped), text, then one ``tool_use`` block per tool
  call. Tool call arguments must be a JSON object (an empty string means
  ``{}``); anything else is rejected with ``param`` ``messages[i]``.
* Consecutive ``tool`` messages become one ``user`` message of ``tool_result``
  blocks; text-only tool content is kept as is (empty content is omitted).
  OpenAI has no error flag, so ``is_error`` is never set.
* Consecutive messages with the same role are merged (Anthropic requires
  strict user/assistant alternation); within a user message ``tool_result``
  blocks are moved before other content, as Anthropic requires.
* A message left without content (e.g. only empty text) is dropped. Trailing
  whitespace is stripped from the text that ends a final assistant message
  (Anthropic rejects it in a prefill). A request with no message left is rejected.
* Tool call ids are made Anthropic-safe (see :func:`lumyx.translate.ids.tool_use_id`).
* ``name`` on messages is dropped. Legacy ``function`` messages, ``functions``
  and ``function_call`` are rejected (use ``tools``).

Parameters
----------
* ``max_completion_tokens``, else ``max_tokens``, else ``default_max_tokens``
  -> ``max_tokens`` (Anthropic requires it). It may be raised to fit a
  thinking budget (see :mod:`lumyx.translate.reasoning`).
* ``temperature`` is clamped to Anthropic's 0..1 range (OpenAI allows 0..2).
  ``top_p`` and ``top_k`` are copied. With thinking enabled all three are dropped.
* ``stop`` (string or list) -> ``stop_sequences``; empty or whitespace-only
  sequences are dropped.
* ``user`` -> ``metadata.user_id``. ``stream`` is copied.
* ``tools``, ``tool_choice``, ``parallel_tool_calls``: see :mod:`lumyx.translate.tools`.
* ``reasoning`` / ``reasoning_effort`` -> ``thinking``: see :mod:`lumyx.translate.reasoning`
  (including when thinking is not enabled despite them).
* ``response_format`` ``json_object`` or ``json_schema``: an instruction to
  answer with only a JSON object (including the schema, for ``json_schema``)
  is appended to the system prompt. ``text`` adds nothing.
* ``n`` greater than 1 is rejected (``param`` ``n``).
* Dropped: ``seed``, ``frequency_penalty``, ``presence_penalty``,
  ``logit_bias``, ``logprobs``, ``top_logprobs``, ``stream_options``, ``n``
  equal to 1, ``service_tier``, ``store``, ``modalities``, ``metadata`` and
  every other parameter not listed here.
"""

from __future__ import annotations

import json

from lumyx.translate.content import has_text, openai_content_text, openai_content_to_blocks, text_block
from lumyx.translate.errors import TranslationError
from lumyx.translate.ids import tool_use_id
from lumyx.translate.reasoning import blocks_from_details, thinking_for_anthropic
from lumyx.translate.tools import openai_tool_choice_to_anthropic, openai_tools_to_anthropic

JSON_OBJECT_INSTRUCTION = (
    "Respond only with a valid JSON object. Do not write anything before or after the JSON object."
)
JSON_SCHEMA_INSTRUCTION = (
    "Respond only with a valid JSON object that conforms to the following JSON schema. "
    "Do not write anything before or after the JSON object.\nJSON schema:\n"
)


def openai_request_to_anthropic(body: dict, *, default_max_tokens: int) -> dict:
    """Translate an OpenAI Chat Completions request body into an Anthropic Messages request body.

    Raises :class:`TranslationError` when the request cannot be expressed; the
    module documentation lists every rule.
    """
    if not isinstance(body, dict):
        raise TranslationError("request body must be a JSON object")
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise TranslationError("n > 1 is not supported for this model", "n")
    for legacy in ("functions", "function_call"):
        if body.get(legacy):
            raise TranslationError(f"{legacy!r} is not supported for this model; use 'tools'", legacy)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TranslationError("messages must be a non-empty array", "messages")

    system, converted = _convert_messages(messages)
    instruction = _json_instruction(body.get("response_format"))
    if instruction:
        system.append(text_block(instruction))

    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    out: dict = {"model": body.get("model"), "max_tokens": max_tokens}
    if system:
        if any("cache_control" in block for block in system):
            out["system"] = system
        else:
            out["system"] = "\n\n".join(block["text"] for block in system)
    out["messages"] = converted

    tool_choice = None
    tools = body.get("tools")
    if tools:
        out["tools"] = openai_tools_to_anthropic(tools)
        tool_choice = openai_tool_choice_to_anthropic(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if tool_choice is not None:
            out["tool_choice"] = tool_choice

    thinking = None
    forced_tool = tool_choice is not None and tool_choice["type"] in ("any", "tool")
    if not forced_tool and not _tool_turn_without_thinking(converted):
        thinking, max_tokens = thinking_for_anthropic(body, max_tokens)
    if thinking is not None:
        out["max_tokens"] = max_tokens
        out["thinking"] = thinking
    else:
        temperature = body.get("temperature")
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            out["temperature"] = min(max(temperature, 0.0), 1.0)
        for key in ("top_p", "top_k"):
            if body.get(key) is not None:
                out[key] = body[key]

    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list):
        sequences = [s for s in stop if has_text(s)]
        if sequences:
            out["stop_sequences"] = sequences
    user = body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if "stream" in body:
        out["stream"] = bool(body["stream"])
    return out


def _tool_turn_without_thinking(messages: list[dict]) -> bool:
    """True when the last assistant message has ``tool_use`` blocks but does not start with thinking.

    Anthropic rejects such a request when thinking is enabled ("a final
    assistant message must start with a thinking block").
    """
    for msg in reversed(messages):
        if msg["role"] == "assistant":
            blocks = msg["content"]
            has_tool_use = any(block["type"] == "tool_use" for block in blocks)
            return has_tool_use and blocks[0]["type"] not in ("thinking", "redacted_thinking")
    return False


def _json_instruction(response_format: object) -> str | None:
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return JSON_OBJECT_INSTRUCTION
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not schema:
            return JSON_OBJECT_INSTRUCTION
        return JSON_SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    return None


def _collect_system(content: object, param: str, system: list[dict]) -> None:
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise TranslationError("only text content parts are allowed in system messages", f"{param}[{j}]")
            if has_text(part.get("text")):
                block = text_block(part["text"])
                if part.get("cache_control"):
                    block["cache_control"] = part["cache_control"]
                system.append(block)
        return
    text = openai_content_text(content, param)
    if has_text(text):
        system.append(text_block(text))


def _convert_messages(messages: list) -> tuple[list[dict], list[dict]]:
    system: list[dict] = []
    out: list[dict] = []
    for i, msg in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise TranslationError("each message must be an object", param)
        role = msg.get("role")
        if role in ("system", "developer"):
            _collect_system(msg.get("content"), f"{param}.content", system)
            continue
        if role == "user":
            blocks = openai_content_to_blocks(msg.get("content"), f"{param}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(msg, param)
        elif role == "tool":
            blocks = [_tool_result(msg, param)]
            role = "user"
        elif role == "function":
            raise TranslationError("legacy 'function' messages are not supported; use tools", f"{param}.role")
        else:
            raise TranslationError(f"unsupported message role {role!r}", f"{param}.role")
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for msg in out:
        if msg["role"] == "user":
            msg["content"] = _tool_results_first(msg["content"])
    if out and out[-1]["role"] == "assistant":
        _strip_final_whitespace(out)
    if not out:
        raise TranslationError("messages must contain at least one non-empty user or assistant message", "messages")
    return system, out


def _assistant_blocks(msg: dict, param: str) -> list[dict]:
    if msg.get("function_call"):
        raise TranslationError("legacy 'function_call' is not supported; use tool_calls", f"{param}.function_call")
    reasoning_text = msg.get("reasoning_content")
    if reasoning_text is None:
        reasoning_text = msg.get("reasoning")
    blocks = blocks_from_details(msg.get("reasoning_details"), reasoning_text, signed_only=True)
    blocks.extend(openai_content_to_blocks(msg.get("content"), f"{param}.content"))
    tool_calls = msg.get("tool_calls")
    if tool_calls:
        for j, call in enumerate(tool_calls):
            if not isinstance(call, dict) or call.get("type", "function") != "function":
                raise TranslationError(
                    "only function tool calls are supported for this model", f"{param}.tool_calls[{j}]"
                )
            function = call.get("function") or {}
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool_use_id(call.get("id")),
                    "name": function.get("name"),
                    "input": _parse_arguments(function.get("arguments"), param),
                }
            )
    return blocks


def _parse_arguments(arguments: object, param: str) -> dict:
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        raise TranslationError("tool call arguments must be a JSON string", param)
    if arguments == "" or arguments.isspace():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        raise TranslationError("tool call arguments are not valid JSON", param) from None
    if not isinstance(value, dict):
        raise TranslationError("tool call arguments must be a JSON object", param)
    return value


def _tool_result(msg: dict, param: str) -> dict:
    call_id = msg.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise TranslationError("tool_call_id is required", f"{param}.tool_call_id")
    block = {"type": "tool_result", "tool_use_id": tool_use_id(call_id)}
    content = msg.get("content")
    if isinstance(content, list):
        parts = openai_content_to_blocks(content, f"{param}.content")
        if parts:
            block["content"] = parts
    elif has_text(content):
        block["content"] = content
    return block


def _tool_results_first(blocks: list[dict]) -> list[dict]:
    seen_other = False
    for block in blocks:
        if block["type"] != "tool_result":
            seen_other = True
        elif seen_other:
            results = [b for b in blocks if b["type"] == "tool_result"]
            return results + [b for b in blocks if b["type"] != "tool_result"]
    return blocks


def _strip_final_whitespace(out: list[dict]) -> None:
    content = out[-1]["content"]
    last = content[-1]
    if last["type"] != "text" or not last["text"][-1:].isspace():
        return
    text = last["text"].rstrip()
    if text:
        content[-1] = {**last, "text": text}
    else:
        content.pop()
        if not content:
            out.pop()
