"""Responses as the gateway hands them to the Keeper, for the stored-responses tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from lumyx.db import db
from lumyx.db.models import StoredResponse
from lumyx.db.models._types import utcnow

DETAILS = [{"type": "reasoning.text", "text": "Thinking it over.", "signature": "sig-1"}]


def response_of(output: list | None = None, *, text: str = "Hello", status: str = "completed") -> dict:
    """A Response object as the gateway hands it to the Keeper (ids as Lumyx makes them)."""
    hex_id = uuid.uuid4().hex
    if output is None:
        output = [reasoning(hex_id, 0), message(hex_id, 1, text)]
    return {
        "id": f"resp_{hex_id}",
        "object": "response",
        "created_at": 1795312345,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": "gpt-5.2",
        "output": output,
        "usage": {
            "input_tokens": 5,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 1},
            "total_tokens": 8,
        },
        "instructions": "Be brief.",
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": None,
        "top_p": None,
        "max_output_tokens": None,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "text": {"format": {"type": "text"}},
        "store": True,
        "metadata": {},
        "truncation": "disabled",
        "user": None,
        "service_tier": "default",
        "background": False,
    }


def reasoning(hex_id: str, index: int) -> dict:
    return {
        "id": f"rs_{hex_id}_{index}",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Thinking."}],
        "reasoning_details": DETAILS,
    }


def message(hex_id: str, index: int, text: str) -> dict:
    return {
        "id": f"msg_{hex_id}_{index}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def function_call(hex_id: str, index: int, call_id: str) -> dict:
    return {
        "id": f"fc_{hex_id}_{index}",
        "type": "function_call",
        "call_id": call_id,
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
        "status": "completed",
    }


def expire(response_id: str) -> None:
    db.session.execute(
        update(StoredResponse)
        .where(StoredResponse.id == response_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
