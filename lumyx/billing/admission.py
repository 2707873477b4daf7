"""Admission: before any upstream call, a priced request holds its worst case
and a free one is counted against the account's daily cap.

* Priced models: the worst case (the prompt's bound plus the largest answer,
  :mod:`lumyx.billing.arithmetic`) is held with one conditional UPDATE
  (:mod:`lumyx.billing.holds`); a balance of zero or below the hold answers
  402. When the client set no output limit and the balance cannot cover the
  model's largest answer, the answer is limited to what the balance covers
  (the gateway sends the upstream that ``max_tokens``), so the hold is still
  the worst case.
* A key with a spending limit holds the same amount against its limit, in the
  same statement (:mod:`lumyx.billing.holds`): its spent plus held never
  exceed the limit, however many of its requests run at once. A request the
  limit cannot cover answers 402 ``key_limit_exceeded``; the answer is capped
  to what the key has left, as to what the balance has.
* Free models cost nothing and count against a daily request cap per account
  (:mod:`lumyx.billing.free_cap`); over it answers 429 until local midnight.

The answer, an :class:`Admission`, is what the settlement needs later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lumyx import money
from lumyx.billing import arithmetic, beside, free_cap, holds
from lumyx.errors import ApiError


@dataclass(frozen=True, slots=True)
class Admission:
    """What admitting a request reserved or counted."""

    hold: int = 0  # µcr reserved for the request (priced models)
    output_cap: int | None = None  # max_tokens the balance affords, when the client set none
    free_day: str | None = None  # the local day counted against the free-model cap


NOTHING = Admission()  # a request not admitted (yet): nothing held, nothing counted


def asked_output(body: dict) -> int | None:
    """The client's own output limit, if it set one."""
    asked = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    return asked if isinstance(asked, int) and asked > 0 else None


def admit(
    *,
    request_id: str,
    user_id: int,
    key_id: int | None,
    timezone: str,
    model,
    body: dict,
    prompt_tokens: int,
    free_daily_limit: int,
    key_limit: int | None = None,
) -> Admission:
    """Holds credits for a priced model or counts a free request; raises 402 or 429.

    ``prompt_tokens`` is a generous bound on the prompt (the gateway's, with no
    tokenizer); ``body`` is the client's request, read for its output limit;
    ``key_limit`` the key's spending limit in µcr (None: the key has none).
    """
    limited = key_limit is not None
    if model.is_free:
        return Admission(free_day=_count_free(user_id, timezone, free_daily_limit))
    asked = asked_output(body)
    output = arithmetic.largest_answer(model, asked)
    amount = arithmetic.hold_amount(model, prompt_tokens, output)
    if _hold(request_id, user_id, key_id, model.id, amount, limited):
        return Admission(hold=amount)
    if output and not asked:
        spare = holds.available(user_id, key_id if limited else None)
        cap = arithmetic.output_cap(model, spare, prompt_tokens)
        if cap is not None:
            output = min(output, cap)
            amount = arithmetic.hold_amount(model, prompt_tokens, output)
            if _hold(request_id, user_id, key_id, model.id, amount, limited):
                return Admission(hold=amount, output_cap=output)
    if limited and holds.key_left(key_id) < amount:
        raise ApiError(
            402,
            "key_limit_exceeded",
            f"key_limit_exceeded: this API key's spending limit of {money.format_credits(key_limit, 2)} credits "
            f"cannot cover this request, which may cost up to {money.format_credits(amount, 4)} credits on "
            f"'{model.id}'. Use another key, or lower max_tokens.",
        )
    raise ApiError(
        402,
        "insufficient_credits",
        f"Insufficient credits: this request may cost up to {money.format_credits(amount, 4)} credits "
        f"on '{model.id}'. Top up your account, or lower max_tokens.",
    )


def _hold(request_id: str, user_id: int, key_id: int | None, model_id: str, amount: int, limited: bool) -> bool:
    def taken() -> bool:
        return holds.hold(user_id, amount, request_id, model_id=model_id, api_key_id=key_id, key_limited=limited)

    # Refused while this worker still settles earlier calls (lumyx.billing.beside): the
    # client's last call may still hold credits it is about to give back.
    if not taken() and not (beside.settled_first() and taken()):
        return False
    holds.track(request_id)
    return True


def _count_free(user_id: int, timezone: str, limit: int) -> str | None:
    """Counts the request on its local day (returned); None when there is no cap."""
    if limit <= 0:
        return None
    day, resets_at = free_cap.local_day(timezone)
    if not free_cap.count(user_id, day, limit):
        retry_after = max(1, int((resets_at - datetime.now(UTC)).total_seconds()))
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"Free model daily limit reached ({limit} requests a day); it resets at midnight "
            f"{timezone} ({resets_at.strftime('%Y-%m-%dT%H:%M:%SZ')}).",
            headers={"retry-after": str(retry_after)},
        )
    return day
