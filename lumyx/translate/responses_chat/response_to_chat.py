"""OpenAI Responses response -> OpenAI Chat Completions response.

* ``id`` ``resp_<suffix>`` -> ``chatcmpl-<suffix>``; ``created_at`` -> ``created``;
  ``model`` is the catalog model id given.
* Output items, in order: ``message`` items' ``output_text`` parts are joined
  into ``content`` and their ``refusal`` parts into ``refusal``;
  ``function_call`` items become ``tool_calls`` (``id`` the ``call_id``);
  ``reasoning`` items' summary texts (else their reasoning text) are joined
  with ``"\\n\\n"`` into ``reasoning_content``. Other item types are dropped.
* ``finish_reason`` (:func:`finish_reason`): ``tool_calls`` when a function
  call was made; for an ``incomplete`` response ``length``
  (``max_output_tokens``) or ``content_filter``; otherwise ``stop``.
* ``usage``: as :mod:`lumyx.translate.usage` maps Responses usage; ids as
  :mod:`lumyx.translate.ids`.
"""

from __future__ import annotations

from lumyx.translate.ids import openai_id_from_responses as chat_id
from lumyx.translate.usage import responses_usage_to_openai as usage_to_chat
from lumyx.translate.usage import token_count

__all__ = ["text_of", "chat_id", "finish_reason", "reasoning_text", "responses_response_to_chat", "usage_to_chat"]


def text_of(value: object) -> str:
    """A string field of an output item; anything else is empty."""
    return value if isinstance(value, str) else ""


def finish_reason(response: dict, called_tools: bool) -> str:
    if called_tools:
        return "tool_calls"
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "content_filter" if reason == "content_filter" else "length"
    return "stop"


def reasoning_text(item: dict) -> str:
    """The text a reasoning item shows: its summary, else its reasoning content."""
    parts = [s.get("text") for s in item.get("summary") or () if isinstance(s, dict)]
    if not any(parts):
        parts = [c.get("text") for c in item.get("content") or () if isinstance(c, dict)]
    return "\n\n".join(p for p in parts if isinstance(p, str) and p)


def responses_response_to_chat(body: dict, *, model: str) -> dict:
    """The Chat Completions response equivalent to a Responses ``body``."""
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict] = []
    for item in body.get("output") or ():
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            for part in item.get("content") or ():
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                    refusals.append(part["refusal"])
        elif kind == "function_call":
            tool_calls.append(
                {
                    "id": text_of(item.get("call_id") or item.get("id")),
                    "type": "function",
                    "function": {"name": text_of(item.get("name")), "arguments": text_of(item.get("arguments"))},
                }
            )
        elif kind == "reasoning":
            text = reasoning_text(item)
            if text:
                reasoning.append(text)
    message: dict = {"role": "assistant", "content": "".join(texts) if texts or not tool_calls else None}
    if refusals:
        message["refusal"] = "".join(refusals)
    if reasoning:
        message["reasoning_content"] = "\n\n".join(reasoning)
    if tool_calls:
        message["tool_calls"] = tool_calls
    out = {
        "id": chat_id(body.get("id")),
        "object": "chat.completion",
        "created": token_count(body.get("created_at")),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(body, bool(tool_calls))}],
    }
    usage = usage_to_chat(body.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out
