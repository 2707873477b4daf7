"""OpenAI Chat Completions response -> OpenAI Responses response (the answer
to a Responses client served by a Chat Completions upstream).

The Response object
-------------------
:func:`responses_envelope` is the Response object before any output: ``id``
(the ``response_id`` given), ``object: "response"``, ``created_at``,
``status``, ``error`` and ``incomplete_details`` null, ``model`` (the catalog
model id given), ``output: []``, ``usage: null``, and the echo of the request
it answers: ``instructions``, ``tools`` (the client's own), ``tool_choice``
(default ``"auto"``), ``parallel_tool_calls`` (default true),
``temperature``, ``top_p``, ``max_output_tokens``, ``max_tool_calls``,
``previous_response_id``, ``prompt_cache_key``, ``safety_identifier``,
``user`` (null when absent), ``reasoning`` ``{effort, summary}`` (null
values when absent), ``text`` (``{"format": {"type": "text"}}`` unless the
request set a format; ``verbosity`` kept when set), ``store`` (default true),
``metadata`` (default ``{}``), ``truncation`` (default ``"disabled"``),
``service_tier: "default"``, ``background: false``. Echoed values are copies:
the request is never shared with the answer.

The answer (:func:`chat_response_to_responses`)
-----------------------------------------------
* ``status`` from the choice's ``finish_reason`` (:func:`responses_status`):
  ``stop``, ``tool_calls`` (or none) -> ``completed``; ``length`` ->
  ``incomplete`` with ``incomplete_details: {"reason": "max_output_tokens"}``;
  ``content_filter`` -> ``incomplete`` with reason ``content_filter``.
* ``output`` items, in this order, ids as :func:`lumyx.translate.ids.responses_item_id`
  (``rs_``, ``msg_``, ``fc_``, ``ctc_`` + the response id's suffix + ``_<output index>``):

  - a ``reasoning`` item when the message has ``reasoning_content`` (or
    ``reasoning``) or ``reasoning_details``: ``summary`` ``[{"type":
    "summary_text", "text": <reasoning text>}]`` (``[]`` with details only),
    and the private field ``reasoning_details`` (the details in order, without
    their stream ``index``; reasoning text alone becomes one unsigned
    ``reasoning.text`` detail) that the gateway seals into
    ``encrypted_content``, so that every reasoning item can come back;
  - a ``message`` item (role ``assistant``) when there is text or a refusal:
    an ``output_text`` part ``{text, annotations: [], logprobs: []}`` and/or a
    ``refusal`` part;
  - one item per tool call, mapped back through the request's tools
    (:func:`lumyx.translate.tools.responses_tool_names`): a custom tool's call
    -> ``custom_tool_call`` whose ``input`` is the ``input`` string of the
    JSON arguments (the raw arguments when they are not ``{"input": string}``);
    a namespaced function -> ``function_call`` with ``name`` and
    ``namespace``; anything else -> ``function_call`` (empty arguments become
    ``"{}"``); ``call_id`` is the chat tool call id.
* Items have ``status: "completed"`` (reasoning items carry none); on an
  incomplete response the last item is ``incomplete``.
* ``usage`` as :func:`lumyx.translate.usage.openai_usage_to_responses` maps
  it (null without one).
"""

from __future__ import annotations

import copy
import json

from lumyx.translate.ids import responses_item_id
from lumyx.translate.tools import responses_tool_names
from lumyx.translate.usage import openai_usage_to_responses

__all__ = [
    "call_item",
    "call_target",
    "chat_response_to_responses",
    "custom_input",
    "message_item",
    "reasoning_item",
    "responses_envelope",
    "responses_status",
]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def responses_status(finish_reason: object) -> tuple[str, dict | None]:
    """``(status, incomplete_details)`` for a chat ``finish_reason``."""
    reason = _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def responses_envelope(
    request: dict, *, response_id: str, created_at: int, model: str, status: str = "in_progress"
) -> dict:
    """The Response object answering ``request``, without output or usage."""
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    echo_text = {"format": copy.deepcopy(text.get("format") or {"type": "text"})}
    if text.get("verbosity") is not None:
        echo_text["verbosity"] = text["verbosity"]
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": copy.deepcopy(request.get("instructions")),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"),
        "metadata": copy.deepcopy(request.get("metadata") or {}),
        "model": model,
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": request.get("previous_response_id"),
        "prompt_cache_key": request.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": request.get("safety_identifier"),
        "service_tier": "default",
        "store": request.get("store") is not False,
        "temperature": request.get("temperature"),
        "text": echo_text,
        "tool_choice": copy.deepcopy(request.get("tool_choice") or "auto"),
        "tools": copy.deepcopy(request.get("tools") or []),
        "top_p": request.get("top_p"),
        "truncation": request.get("truncation") or "disabled",
        "usage": None,
        "user": request.get("user"),
    }


def clean_details(details: object) -> list[dict]:
    """A chat message's ``reasoning_details``, each entry without its stream ``index``."""
    if not isinstance(details, list):
        return []
    return [{k: copy.deepcopy(v) for k, v in d.items() if k != "index"} for d in details if isinstance(d, dict)]


def reasoning_item(item_id: str, text: str, details: list[dict]) -> dict:
    """A reasoning item; reasoning text without details becomes one unsigned
    ``reasoning.text`` detail, so that every reasoning item can be replayed."""
    item = {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}] if text else []}
    if not details and text:
        details = [{"type": "reasoning.text", "text": text}]
    if details:
        item["reasoning_details"] = details
    return item


def text_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal_part(text: str) -> dict:
    return {"type": "refusal", "refusal": text}


def message_item(item_id: str, parts: list[dict], status: str) -> dict:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": parts}


def call_target(names: dict, chat_name: str) -> tuple[str, str, str | None]:
    """``(item type, name, namespace)`` of a call of the chat function ``chat_name``."""
    kind, name, namespace = names.get(chat_name, ("function", chat_name, None))
    return ("custom_tool_call" if kind == "custom" else "function_call"), name, namespace


def custom_input(arguments: str) -> str:
    """A custom tool's input from the chat call's arguments (``{"input": ...}``, else the raw text)."""
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(decoded, dict) and isinstance(decoded.get("input"), str):
        return decoded["input"]
    return arguments


def call_item(
    kind: str, name: str, namespace: str | None, *, item_id: str, call_id: str, payload: str, status: str
) -> dict:
    """A ``function_call`` (payload: the arguments) or ``custom_tool_call`` (payload: the input) item."""
    item = {"id": item_id, "type": kind, "status": status, "call_id": call_id, "name": name}
    if kind == "custom_tool_call":
        item["input"] = payload
    else:
        item["arguments"] = payload
    if namespace:
        item["namespace"] = namespace
    return item


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else ()
    return "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _output(message: dict, request: dict, response_id: str) -> list[dict]:
    output: list[dict] = []
    reasoning = message.get("reasoning_content")
    if reasoning is None:
        reasoning = message.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, str) else ""
    details = clean_details(message.get("reasoning_details"))
    if reasoning or details:
        output.append(reasoning_item(responses_item_id("rs", response_id, 0), reasoning, details))
    parts = []
    text = _content_text(message.get("content"))
    if text:
        parts.append(text_part(text))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append(refusal_part(message["refusal"]))
    if parts:
        output.append(message_item(responses_item_id("msg", response_id, len(output)), parts, "completed"))
    names = responses_tool_names(request.get("tools"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        kind, name, namespace = call_target(names, str(function.get("name") or ""))
        arguments = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
        prefix = "ctc" if kind == "custom_tool_call" else "fc"
        item_id = responses_item_id(prefix, response_id, len(output))
        payload = custom_input(arguments) if kind == "custom_tool_call" else (arguments or "{}")
        call_id = str(call.get("id") or f"call_{item_id}")
        output.append(
            call_item(kind, name, namespace, item_id=item_id, call_id=call_id, payload=payload, status="completed")
        )
    return output


def chat_response_to_responses(body: dict, *, request: dict, response_id: str, created_at: int, model: str) -> dict:
    """The Response object equivalent to a Chat Completions ``body`` answering the Responses ``request``."""
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    choice = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    status, incomplete = responses_status(choice.get("finish_reason"))
    response = responses_envelope(request, response_id=response_id, created_at=created_at, model=model, status=status)
    response["incomplete_details"] = incomplete
    response["output"] = _output(message, request, response_id)
    if status == "incomplete" and response["output"] and "status" in response["output"][-1]:
        response["output"][-1]["status"] = "incomplete"
    response["usage"] = openai_usage_to_responses(body.get("usage"))
    return response
