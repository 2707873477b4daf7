"""The daily request cap on free models: per account, per local day (the
account's timezone, America/New_York by default), reset at local midnight.

Counting is one atomic upsert whose RETURNING says whether the cap allowed
the request; a request that got no answer is taken off the count again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from lumyx.db import commit_without_waiting, db
from lumyx.db.models import FreeUsage
from lumyx.db.models.user import DEFAULT_TIMEZONE

_free = FreeUsage.__table__
_count_statements: dict[str, object] = {}
_UNCOUNT = (
    _free.update()
    .where(_free.c.user_id == bindparam("uid"), _free.c.day == bindparam("local_day"), _free.c.used > 0)
    .values(used=_free.c.used - 1)
)


def zone(tz_name: str) -> ZoneInfo:
    """The account's timezone; the default for a name that is not a zone."""
    try:
        return ZoneInfo(tz_name)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_day(tz_name: str) -> tuple[str, datetime]:
    """The account's current local date and the UTC instant of its next midnight."""
    tz = zone(tz_name)
    now = datetime.now(tz)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return now.date().isoformat(), midnight.astimezone(UTC)


def _count_statement(dialect: str):
    statement = _count_statements.get(dialect)
    if statement is None:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert
        new_day = insert(_free).values(user_id=bindparam("user_id"), day=bindparam("day"), used=1)
        statement = new_day.on_conflict_do_update(
            index_elements=[_free.c.user_id, _free.c.day],
            set_={"used": _free.c.used + 1},
            where=_free.c.used < bindparam("limit"),
        ).returning(_free.c.used)
        _count_statements[dialect] = statement
    return statement


def count(user_id: int, day: str, limit: int) -> bool:
    """Adds a request to the day's count; False when the cap is reached."""
    with db.engine.begin() as conn:
        commit_without_waiting(conn)
        return (
            conn.execute(_count_statement(conn.dialect.name), {"user_id": user_id, "day": day, "limit": limit}).first()
            is not None
        )


def uncount(conn, user_id: int, day: str) -> None:
    """Takes a request off the day's count, in the transaction of ``conn``."""
    conn.execute(_UNCOUNT, {"uid": user_id, "local_day": day})


def used(user_id: int, tz_name: str) -> int:
    day, _ = local_day(tz_name)
    return db.session.scalar(select(FreeUsage.used).where(FreeUsage.user_id == user_id, FreeUsage.day == day)) or 0
