"""The Usage API's report: totals, the daily series, the per-model breakdown
and a page of recent requests of one account.

Totals, the daily series and the per-model breakdown read the hourly rollup
(:mod:`lumyx.usage.recording`), so the report costs the same with a thousand
rows or a million; only the page of recent activity reads raw rows, through
the (user, created_at) index.

Rows older than the retention horizon (:mod:`lumyx.usage.retention`) are
deleted, their hours kept: that part of a range is always answered from the
rollup, and the page of recent activity lists requests since the horizon only
(``pagination.total`` counts those; ``pagination.details_since`` says where the
listing stops when the totals count older requests).

Dates are the account's local days: ``start_date``/``end_date`` as dates
cover whole local days (both inclusive); with a time they are instants
(naive ones in the account's timezone). The ``daily`` series is always the
last 30 local days, zero-filled, whatever the filters.

Every ``cost`` and ``total_cost`` is USD (what was charged, rounded to six
decimals as the docs' example shows: 0.002250); ``credits_remaining`` is
credits (100 credits = 1 USD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from lumyx import money
from lumyx.billing import free_cap
from lumyx.db import db
from lumyx.db.models import UsageHourly, UsageRecord, User
from lumyx.db.models.user import PLANS
from lumyx.usage import retention

DEFAULT_LIMIT, MAX_LIMIT = 50, 100
MAX_PAGE = 1_000_000
DAILY_DAYS = 30
USD_PLACES = Decimal("0.000001")
_records, _hourly = UsageRecord.__table__, UsageHourly.__table__


class UsageQueryError(ValueError):
    """A bad filter; the message names it."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Filters:
    start: datetime | None  # naive UTC, inclusive
    end: datetime | None  # naive UTC, exclusive
    model: str | None
    limit: int
    page: int


def _to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return _to_utc(datetime.combine(day, time.min), zone)


def _bound(raw: str | None, param: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if raw is None or raw == "":
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _local_midnight(day + timedelta(days=1) if end else day, zone)
        return _to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")), zone)
    except ValueError:
        raise UsageQueryError(f"'{param}' must be an ISO 8601 date (e.g. 2026-03-01) or date-time.", param) from None
    except OverflowError:
        raise UsageQueryError(f"'{param}' is out of range.", param) from None


def _positive_int(raw: str | None, param: str, default: int, maximum: int | None = None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageQueryError(f"'{param}' must be a whole number.", param) from None
    if value < 1 or (maximum is not None and value > maximum):
        limit = f"between 1 and {maximum}" if maximum else "at least 1"
        raise UsageQueryError(f"'{param}' must be {limit}.", param)
    return value


def parse_filters(args: dict, tz_name: str) -> Filters:
    """Filters from query parameters; raises UsageQueryError on a bad value."""
    zone = free_cap.zone(tz_name)
    start = _bound(args.get("start_date"), "start_date", zone, end=False)
    end = _bound(args.get("end_date"), "end_date", zone, end=True)
    if start and end and end <= start:
        raise UsageQueryError("'end_date' must not be before 'start_date'.", "end_date")
    model = args.get("model") or None
    if model is not None and len(model) > 200:
        raise UsageQueryError("'model' is too long.", "model")
    return Filters(
        start=start,
        end=end,
        model=model,
        limit=_positive_int(args.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
        page=_positive_int(args.get("page"), "page", 1, MAX_PAGE),
    )


def _credits(micro: int) -> float:
    return round(micro / money.MICRO_PER_CREDIT, 6)


def _usd(micro: int) -> float:
    """µcr charged, as USD to six decimals (half a millionth of a dollar rounds up)."""
    return float((Decimal(micro) / money.MICRO_PER_USD).quantize(USD_PLACES, rounding=ROUND_HALF_UP))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _hour_aligned(moment: datetime | None) -> bool:
    return moment is None or (moment.minute == 0 and moment.second == 0 and moment.microsecond == 0)


def _where(table, user_id: int, filters: Filters, column, since: datetime | None = None):
    conditions = [table.c.user_id == user_id]
    start = filters.start if since is None or (filters.start is not None and filters.start > since) else since
    if start is not None:
        conditions.append(column >= start)
    if filters.end is not None:
        conditions.append(column < filters.end)
    if filters.model is not None:
        conditions.append(table.c.model_id == filters.model)
    return conditions


def _floor_hour(moment: datetime | None) -> datetime | None:
    return moment and moment.replace(minute=0, second=0, microsecond=0)


def _sums(user_id: int, filters: Filters, *, rolled_up: bool, since: datetime | None = None) -> dict[str, list[int]]:
    """[requests, prompt, completion, cost, latency] per model, from the hourly
    rollup or from the rows."""
    if rolled_up:
        table, column = _hourly, _hourly.c.hour
        requests = func.sum(table.c.requests)
        prompt, completion = func.sum(table.c.prompt_tokens), func.sum(table.c.completion_tokens)
    else:
        table, column = _records, _records.c.created_at
        requests = func.count()
        prompt, completion = func.sum(table.c.input_tokens), func.sum(table.c.output_tokens)
    rows = db.session.execute(
        select(table.c.model_id, requests, prompt, completion, func.sum(table.c.cost), func.sum(table.c.latency_ms))
        .where(*_where(table, user_id, filters, column, since))
        .group_by(table.c.model_id)
    ).all()
    return {model_id: [int(v or 0) for v in values] for model_id, *values in rows}


def _totals(user_id: int, filters: Filters, since: datetime | None) -> tuple[dict, list[dict], int]:
    """(summary, by_model, requests listed one by one) for the filters.

    Rows older than ``since`` (the retention horizon, on a whole hour) are gone:
    that part of the range is answered from the hourly rollup, its bounds taken
    at the start of their hour; the rest from the rollup when its bounds are
    whole hours, else from the rows."""
    per_model: dict[str, list[int]] = {}
    listed = 0
    if since is None or filters.end is None or filters.end > since:
        start = since if since is not None and (filters.start is None or filters.start < since) else filters.start
        aligned = _hour_aligned(start) and _hour_aligned(filters.end)
        recent = _sums(user_id, filters, rolled_up=aligned, since=since)
        listed = sum(values[0] for values in recent.values())
        per_model = recent
    if since is not None and (filters.start is None or filters.start < since):
        older = Filters(
            start=_floor_hour(filters.start),
            end=min(since, _floor_hour(filters.end) or since),
            model=filters.model,
            limit=filters.limit,
            page=filters.page,
        )
        if older.start is None or older.start < older.end:
            for model_id, values in _sums(user_id, older, rolled_up=True).items():
                kept = per_model.setdefault(model_id, [0] * 5)
                per_model[model_id] = [a + b for a, b in zip(kept, values, strict=True)]
    by_model = []
    total = [0] * 5
    for model_id, values in per_model.items():
        n, p, c, micro, _lat = values
        by_model.append({"model_id": model_id, "requests": n, "tokens": p + c, "cost": _usd(micro)})
        total = [a + b for a, b in zip(total, values, strict=True)]
    by_model.sort(key=lambda m: (-m["cost"], -m["requests"], m["model_id"]))
    requests, prompt, completion, micro, latency = total
    summary = {
        "total_requests": requests,
        "total_prompt_tokens": prompt,
        "total_completion_tokens": completion,
        "total_tokens": prompt + completion,
        "total_cost": _usd(micro),
        "avg_latency_ms": round(latency / requests) if requests else 0,
    }
    return summary, by_model, listed


def _daily(user_id: int, zone: ZoneInfo) -> list[dict]:
    today = datetime.now(zone).date()
    first = today - timedelta(days=DAILY_DAYS - 1)
    days = {first + timedelta(days=i): [0, 0, 0] for i in range(DAILY_DAYS)}
    rows = db.session.execute(
        select(
            _hourly.c.hour,
            func.sum(_hourly.c.requests),
            func.sum(_hourly.c.prompt_tokens + _hourly.c.completion_tokens),
            func.sum(_hourly.c.cost),
        )
        .where(_hourly.c.user_id == user_id, _hourly.c.hour >= _local_midnight(first, zone))
        .group_by(_hourly.c.hour)
    ).all()
    for hour, n, tokens, micro in rows:
        day = hour.replace(tzinfo=UTC).astimezone(zone).date()
        if day in days:
            bucket = days[day]
            bucket[0] += int(n or 0)
            bucket[1] += int(tokens or 0)
            bucket[2] += int(micro or 0)
    return [
        {"date": day.isoformat(), "requests": n, "tokens": tokens, "cost": _usd(micro)}
        for day, (n, tokens, micro) in days.items()
    ]


_RECENT_COLUMNS = (
    _records.c.id,
    _records.c.model_id,
    _records.c.input_tokens,
    _records.c.output_tokens,
    _records.c.cached_tokens,
    _records.c.cache_write_tokens,
    _records.c.cache_write_1h_tokens,
    _records.c.cost,
    _records.c.latency_ms,
    _records.c.status_code,
    _records.c.thinking_used,
    _records.c.created_at,
)


def _recent(user_id: int, filters: Filters, since: datetime | None) -> list[dict]:
    if since is not None and filters.end is not None and filters.end <= since:
        return []
    rows = db.session.execute(
        select(*_RECENT_COLUMNS)
        .where(*_where(_records, user_id, filters, _records.c.created_at, since))
        .order_by(_records.c.created_at.desc(), _records.c.id.desc())
        .limit(filters.limit)
        .offset((filters.page - 1) * filters.limit)
    ).all()
    return [
        {
            "id": rid,
            "model_id": model_id,
            "prompt_tokens": p,
            "completion_tokens": c,
            "total_tokens": p + c,
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cache_write_1h_tokens": write_1h,
            "cost": _usd(micro),
            "latency_ms": latency,
            "status_code": status,
            "thinking_used": bool(thinking),
            "created_at": _iso(created),
        }
        for rid, model_id, p, c, read, write, write_1h, micro, latency, status, thinking, created in rows
    ]


def report(user_id: int, filters: Filters, free_daily_limit: int) -> dict:
    """The Usage API's answer for one account."""
    user = db.session.execute(select(User.balance, User.held, User.plan, User.timezone).where(User.id == user_id)).one()
    zone = free_cap.zone(user.timezone)
    since = retention.horizon()
    summary, by_model, listed = _totals(user_id, filters, since)
    used = free_cap.used(user_id, user.timezone)
    _day, resets_at = free_cap.local_day(user.timezone)
    result = {
        "object": "usage",
        "account": {
            "credits_remaining": _credits(user.balance - user.held),
            "vip_tier": PLANS.index(user.plan) if user.plan in PLANS else 0,
        },
        "free_model_daily_limit": {
            "limit": free_daily_limit,
            "used": used,
            "remaining": max(free_daily_limit - used, 0) if free_daily_limit else None,
            "resets_at": _iso(resets_at.replace(tzinfo=None)),
            "timezone": user.timezone,
        },
        "summary": summary,
        "daily": _daily(user_id, zone),
        "by_model": by_model,
        "recent_activity": _recent(user_id, filters, since),
        "pagination": {
            "page": filters.page,
            "limit": filters.limit,
            "total": listed,
            "total_pages": math.ceil(listed / filters.limit) if listed else 0,
        },
    }
    if summary["total_requests"] > listed:
        # Some of the requests counted are older than the retention: in the totals, not listed.
        result["pagination"]["details_since"] = _iso(since)
    db.session.rollback()
    return result
