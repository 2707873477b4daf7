"""Non-streaming responses, both directions.

Anthropic ``Message`` -> OpenAI ``chat.completion``:

* ``id`` ``msg_X`` -> ``chatcmpl-X``; ``created`` is the current time;
  ``model`` is the model name the client asked for.
* The content blocks become ``message`` as for an assistant turn of a
  request (:func:`lumyx.translate.content.assistant_blocks_to_openai`):
  ``content`` (``null`` with only tool calls), ``tool_calls``,
  ``reasoning_content`` and ``reasoning_details``; ``refusal`` is ``null``.
* Server tool blocks (``server_tool_use``, ``web_search_tool_result``, ...)
  and citations are dropped.
* ``stop_reason`` -> ``finish_reason`` (:mod:`lumyx.translate.stop_reasons`);
  ``stop_sequence`` is dropped. Usage: :mod:`lumyx.translate.usage`.

OpenAI ``chat.completion`` -> Anthropic ``Message``:

* Only ``choices[0]`` is used. ``id`` ``chatcmpl-X`` -> ``msg_X``.
* Content order: thinking blocks (from ``reasoning_details``, else from
  ``reasoning_content`` or ``reasoning``), then text, then ``tool_use`` blocks.
  Reasoning without a signature gets ``signature: ""``.
* Empty text produces no block; a ``refusal`` becomes a text block and sets
  ``stop_reason`` to ``refusal``.
* Tool call arguments are parsed as JSON: an empty string gives ``{}``;
  arguments that are not a JSON object are kept as
  ``{"_raw_arguments": "<the string>"}`` so nothing is lost.
* ``finish_reason`` ``stop`` (or missing) with tool calls present gives
  ``tool_use``; otherwise :mod:`lumyx.translate.stop_reasons` applies.
  ``stop_sequence`` is always ``null``.
"""

from __future__ import annotations

import json
import time

from lumyx.translate.content import assistant_blocks_to_openai, text_block
from lumyx.translate.ids import anthropic_id_from_openai, openai_id_from_anthropic, tool_use_id
from lumyx.translate.reasoning import blocks_from_details
from lumyx.translate.stop_reasons import anthropic_stop_to_openai, openai_finish_to_anthropic
from lumyx.translate.usage import anthropic_usage_to_openai, openai_usage_to_anthropic


def anthropic_response_to_openai(resp: dict, *, model: str) -> dict:
    """Translate an Anthropic Messages response into an OpenAI chat completion."""
    content, fields = assistant_blocks_to_openai(resp.get("content") or ())
    message: dict = {"role": "assistant", "content": content, "refusal": None, **fields}
    return {
        "id": openai_id_from_anthropic(resp.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": anthropic_stop_to_openai(resp.get("stop_reason")) or "stop",
            }
        ],
        "usage": anthropic_usage_to_openai(resp.get("usage")),
    }


def parse_tool_arguments(arguments: object) -> dict:
    """``input`` for a ``tool_use`` block from upstream OpenAI tool call arguments (see module docs)."""
    if isinstance(arguments, dict):
        return arguments
    if arguments is None or arguments == "" or (isinstance(arguments, str) and arguments.isspace()):
        return {}
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError):
        value = None
    if isinstance(value, dict):
        return value
    return {"_raw_arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text") or "" for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def openai_response_to_anthropic(resp: dict, *, model: str) -> dict:
    """Translate an OpenAI chat completion into an Anthropic Messages response."""
    choices = resp.get("choices") or ()
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}

    reasoning_text = message.get("reasoning_content")
    if reasoning_text is None:
        reasoning_text = message.get("reasoning")
    content = blocks_from_details(message.get("reasoning_details"), reasoning_text, signed_only=False)
    text = _message_text(message.get("content"))
    if text:
        content.append(text_block(text))
    refusal = message.get("refusal")
    if refusal:
        content.append(text_block(refusal))
    has_tools = False
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": tool_use_id(call.get("id")),
                "name": function.get("name") or "",
                "input": parse_tool_arguments(function.get("arguments")),
            }
        )
        has_tools = True

    stop_reason = openai_finish_to_anthropic(choice.get("finish_reason"))
    if has_tools and stop_reason in (None, "end_turn"):
        stop_reason = "tool_use"
    elif refusal and stop_reason in (None, "end_turn"):
        stop_reason = "refusal"
    return {
        "id": anthropic_id_from_openai(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason or "end_turn",
        "stop_sequence": None,
        "usage": openai_usage_to_anthropic(resp.get("usage")),
    }
