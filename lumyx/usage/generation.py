"""One request as ``GET /generation`` tells it, in OpenRouter's shape, from its
usage row.

The row is written by the request's settlement, once the client has the whole
answer: until then (a few milliseconds, longer while the database is
unreachable and the settlement waits in the journal) there is no generation
and the API answers 404, as OpenRouter does. A request older than the usage
retention (:mod:`lumyx.usage.retention`) has no row either: 404 as well.

Fields (``data``):

* ``id`` the id asked for; ``request_id`` the call's (``req_<hex>``, its
  ``x-request-id``); ``upstream_id`` the upstream's own id for its answer.
* ``model`` the catalog model, ``provider_name`` the catalog provider that
  served, ``upstream_model`` the model name that provider was sent.
* ``created_at`` when the request arrived (ISO 8601, UTC); ``latency`` ms from
  then to the answer's end; ``time_to_first_token`` ms to a stream's first
  event and ``generation_time`` ms from it to the end (null when not streamed).
* ``total_cost`` and ``usage``: what the request cost, USD (charged plus any
  part the hold could not cover); ``cost_credits`` the same in credits.
* ``finish_reason`` the finish reason the client got (``stop``, ``end_turn``,
  ``completed`` … in the client's format), ``native_finish_reason`` the
  upstream's own; ``error`` when the request failed and neither is known.
* ``streamed``; ``cancelled`` (the client left before the end); ``partial``
  (the answer ended before it was complete, for any reason);
  ``status_code``, ``error_code``.
* ``tokens_prompt``, ``tokens_completion`` and the ``native_tokens_*`` kinds:
  prompt (all prompt tokens, cached or not), completion (reasoning included),
  reasoning, cached (read from the provider's cache), cache_write (written to it).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from lumyx import money
from lumyx.db import db
from lumyx.db.models import UsageRecord
from lumyx.usage import retention


def _usd(micro: int) -> float:
    return float(Decimal(micro) / money.MICRO_PER_USD)


def _finish_reason(row: UsageRecord) -> str | None:
    if row.finish_reason:
        return row.finish_reason
    return "error" if row.status_code >= 400 and row.error_code != "client_closed" else None


def generation(user_id: int, request_id: str, asked_id: str) -> dict | None:
    """Request ``request_id`` of account ``user_id`` as ``GET /generation`` answers it
    for ``asked_id``; None when the account has no such request (yet)."""
    row = db.session.scalar(select(UsageRecord).where(UsageRecord.id == request_id, UsageRecord.user_id == user_id))
    db.session.rollback()
    since = retention.horizon()
    if row is None or (since is not None and row.created_at < since):
        return None
    cost = (row.cost or 0) + (row.unpaid or 0)
    first = row.first_token_ms
    # Cache-write counts, where the schema keeps them (5-minute and 1-hour writes).
    cache_write = (getattr(row, "cache_write_tokens", 0) or 0) + (getattr(row, "cache_write_1h_tokens", 0) or 0)
    return {
        "id": asked_id,
        "request_id": row.id,
        "upstream_id": row.upstream_id,
        "model": row.model_id,
        "provider_name": row.provider_id,
        "upstream_model": row.upstream_model,
        "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00",
        "latency": row.latency_ms,
        "time_to_first_token": first,
        "generation_time": max(row.latency_ms - first, 0) if first is not None else None,
        "total_cost": _usd(cost),
        "usage": _usd(cost),
        "cost_credits": float(money.micro_to_credits(cost)),
        "cache_discount": None,
        "upstream_inference_cost": None,
        "is_byok": False,
        "streamed": row.stream,
        "cancelled": row.error_code == "client_closed",
        "partial": row.partial,
        "status_code": row.status_code,
        "error_code": row.error_code,
        "finish_reason": _finish_reason(row),
        "native_finish_reason": row.native_finish_reason,
        "tokens_prompt": row.input_tokens,
        "tokens_completion": row.output_tokens,
        "native_tokens_prompt": row.input_tokens,
        "native_tokens_completion": row.output_tokens,
        "native_tokens_reasoning": row.reasoning_tokens,
        "native_tokens_cached": row.cached_tokens,
        "native_tokens_cache_write": cache_write,
        "tokens_reported": row.tokens_reported,
        "operation": row.operation,
    }
