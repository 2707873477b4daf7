"""What a request costs: admission before the upstream call, settlement after.

* Priced models: before any upstream call, the worst case (a generous bound on
  the prompt plus the largest answer allowed) is held with one conditional
  UPDATE; a balance of zero or below the hold answers 402. Afterwards the actual
  cost is charged, the rest released, and the usage row written — all in one
  transaction, exactly once (see :func:`lumyx.billing.holds.settle_and_record`).
* Free models cost nothing and count against a daily request cap per account,
  reset at midnight in the account's timezone; over it answers 429.
* Tokens are the upstream's own report. When it gave none (or the stream ended
  early) they are counted here with a real tokenizer and the row says so.
* Holds of a worker that died are settled by :func:`settle_orphans` (each
  worker runs it every minute; `flask settle-holds` runs it once): nothing is
  charged for them, since what was delivered is unknown.
* On PostgreSQL, holds and settlements commit without waiting for the disk
  flush. Every request of an account updates that account's row, so a commit
  that waited would keep the others waiting for the disk, one after another.
  A database crash can then forget the last fraction of a second of them: a
  forgotten settlement leaves its hold, which the janitor releases uncharged;
  a forgotten hold charges its settlement from the unreserved balance. The
  balance never goes negative and no request is charged twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lumyx import money
from lumyx.billing import free_cap, holds
from lumyx.db import commit_without_waiting, db
from lumyx.db.models import Hold
from lumyx.db.models._types import utcnow
from lumyx.errors import DATABASE_DOWN, ApiError
from lumyx.gateway import tokens
from lumyx.gateway.call import Call
from lumyx.usage import recording

log = logging.getLogger("lumyx.billing")

DEFAULT_MAX_OUTPUT = 4096
MIN_CAPPED_OUTPUT = 16  # below this, a balance that cannot cover the answer gets 402
FREE_DAILY_LIMIT = 50
ORPHAN_AFTER = timedelta(minutes=5)  # a hold not refreshed for this long has no worker
JANITOR_EVERY_SECONDS = 60

# Request ids of this worker's in-flight holds, refreshed by the janitor.
_in_flight: set[str] = set()


# -- admission ---------------------------------------------------------------


def asked_output(call: Call) -> int | None:
    """The client's own output limit, if it set one."""
    asked = call.body.get("max_completion_tokens") or call.body.get("max_tokens")
    return asked if isinstance(asked, int) and asked > 0 else None


def max_output(call: Call) -> int:
    """The most output tokens this request may produce."""
    limit = call.model.max_output_tokens
    if call.model.is_embedding:
        return 0
    asked = asked_output(call)
    if asked:
        return min(asked, limit) if limit else asked
    return limit or DEFAULT_MAX_OUTPUT


def _count_free(call: Call, limit: int) -> None:
    if limit <= 0:
        return
    day, resets_at = free_cap.local_day(call.key.timezone)
    if not free_cap.count(call.key.user_id, day, limit):
        call.status, call.error_code = 429, "rate_limit_exceeded"
        retry_after = max(1, int((resets_at - datetime.now(UTC)).total_seconds()))
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"Free model daily limit reached ({limit} requests a day); it resets at midnight "
            f"{call.key.timezone} ({resets_at.strftime('%Y-%m-%dT%H:%M:%SZ')}).",
            headers={"retry-after": str(retry_after)},
        )
    call.free_day = day


def admit(call: Call, free_daily_limit: int) -> None:
    """Hold credits for a priced model or count a free request; raises 402 or 429.

    The hold is the worst case: the prompt's bound plus the largest answer. When
    the client set no output limit and the balance cannot cover the model's
    largest answer, the answer is limited to what the balance covers (the
    upstream is sent that ``max_tokens``), so the hold is still the worst case.
    """
    if call.model.is_free:
        _count_free(call, free_daily_limit)
        return
    model, user_id = call.model, call.key.user_id
    prompt = tokens.input_bound(call.body)
    output = max_output(call)
    amount = max(money.cost_micro(prompt, output, model.price_input, model.price_output), 1)
    held = _hold(call, amount)
    if not held and output and not asked_output(call) and model.price_output:
        spare = holds.available(user_id) - money.cost_micro(prompt, 0, model.price_input, 0)
        affordable = spare * money.TOKENS_PER_PRICE_UNIT // model.price_output if spare > 0 else 0
        if affordable >= MIN_CAPPED_OUTPUT:
            output = min(output, affordable)
            amount = max(money.cost_micro(prompt, output, model.price_input, model.price_output), 1)
            held = _hold(call, amount)
            call.output_cap = output if held else None
    if not held:
        call.status, call.error_code = 402, "insufficient_credits"
        raise ApiError(
            402,
            "insufficient_credits",
            f"Insufficient credits: this request may cost up to {money.format_credits(amount, 4)} credits "
            f"on '{model.id}'. Top up your account, or lower max_tokens.",
        )


def _hold(call: Call, amount: int) -> bool:
    if not holds.hold(call.key.user_id, amount, call.request_id, model_id=call.model.id, api_key_id=call.key.key_id):
        return False
    call.hold = amount
    _in_flight.add(call.request_id)
    return True


# -- settlement --------------------------------------------------------------


def _metered_tokens(call: Call) -> None:
    """Fills in what the upstream did not report, with the real tokenizer."""
    metered = call.usage
    if metered.reported and not call.partial:
        return
    if not metered.input_tokens and call.route is not None:
        metered.input_tokens = tokens.estimate_input(call.body)
    delivered = tokens.output(call.output_parts) if call.output_parts else 0
    metered.output_tokens = max(metered.output_tokens, delivered) if not call.partial else delivered
    metered.reported = False


def settle(call: Call) -> None:
    """Charge, release and record the call, in one transaction; exactly once."""
    _in_flight.discard(call.request_id)
    if call.route is not None or call.partial:
        _metered_tokens(call)
    metered = call.usage
    cost = money.cost_micro(
        metered.input_tokens, metered.output_tokens, call.model.price_input, call.model.price_output
    )
    try:
        if call.hold:
            holds.settle_and_record(_usage_row(call), cost, note=f"{call.model.id} {call.request_id}")
            return
        with db.engine.begin() as conn:
            commit_without_waiting(conn)
            if call.free_day and call.route is None:
                # The request got no answer: it does not count against the cap.
                free_cap.uncount(conn, call.key.user_id, call.free_day)
            recording.record(conn, {**_usage_row(call), "unpaid": cost})
    except IntegrityError:
        # Its usage row (or ledger entry) exists: settled already, by the janitor.
        log.warning("%s was settled already", call.request_id)


def _usage_row(call: Call) -> dict:
    """The call's usage row; what it cost is filled in by its settlement."""
    metered = call.usage
    return {
        "id": call.request_id,
        "user_id": call.key.user_id,
        "api_key_id": call.key.key_id,
        "model_id": call.model.id,
        "provider_id": call.route.provider.id if call.route else None,
        "operation": call.operation,
        "input_tokens": metered.input_tokens,
        "output_tokens": metered.output_tokens,
        "reasoning_tokens": metered.reasoning_tokens,
        "cached_tokens": metered.cached_tokens,
        "tokens_reported": metered.reported,
        "cost": 0,
        "unpaid": 0,
        "latency_ms": call.latency_ms,
        "status_code": call.status,
        "error_code": call.error_code,
        "stream": call.stream,
        "partial": call.partial,
        "thinking_used": call.thinking_used,
        "created_at": utcnow(),
    }


# -- the janitor -------------------------------------------------------------


def refresh_in_flight() -> None:
    """Marks this worker's holds as alive."""
    ids = list(_in_flight)
    for start in range(0, len(ids), 500):
        db.session.execute(update(Hold).where(Hold.id.in_(ids[start : start + 500])).values(seen_at=utcnow()))
    db.session.commit()


def settle_orphans(older_than: timedelta = ORPHAN_AFTER) -> int:
    """Settles holds whose worker is gone, charging nothing; returns how many."""
    cutoff = utcnow() - older_than
    orphans = db.session.execute(
        select(Hold.id, Hold.user_id, Hold.api_key_id, Hold.model_id).where(Hold.seen_at < cutoff)
    ).all()
    db.session.rollback()
    settled_count = 0
    for hold_id, user_id, api_key_id, model_id in orphans:
        try:
            holds.settle_and_record(
                {
                    "id": hold_id,
                    "user_id": user_id,
                    "api_key_id": api_key_id,
                    "model_id": model_id,
                    "operation": "unknown",
                    "tokens_reported": False,
                    "status_code": 500,
                    "error_code": "worker_lost",
                    "partial": True,
                    "created_at": utcnow(),
                },
                0,
                note="",
            )
            settled_count += 1
        except IntegrityError:
            pass  # settled meanwhile by its request or by another worker's janitor
    if settled_count:
        log.warning("released %d holds of stopped workers", settled_count)
    return settled_count


def start_janitor(app) -> None:
    """Runs refresh_in_flight and settle_orphans every minute in this worker."""

    def loop() -> None:
        while True:
            time.sleep(JANITOR_EVERY_SECONDS)
            with app.app_context():
                try:
                    refresh_in_flight()
                    settle_orphans()
                except DATABASE_DOWN as exc:
                    db.session.rollback()
                    log.error(
                        "hold janitor: the database is unreachable (%s); retrying in a minute", type(exc).__name__
                    )
                except Exception:
                    db.session.rollback()
                    log.exception("hold janitor failed; retrying in a minute")

    threading.Thread(target=loop, name="lumyx-hold-janitor", daemon=True).start()
