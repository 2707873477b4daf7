"""Credit holds on both databases: reserving a priced request's worst case
before its upstream call, and settling it afterwards — charging the actual
cost, releasing the rest and writing the request's usage row, atomically.

A hold reserves part of a balance (``User.held``, one row in ``holds``);
settling deletes the row — whoever deletes it settles, so a hold is settled
exactly once — releases the reservation and charges the actual cost as one
``usage`` ledger entry. The balance never goes negative.

A key with a spending limit holds the same amount against its limit
(``ApiKey.held``) in the same statement, only when the limit still covers
it (``spent + held + amount <= spend_limit``); its settlement moves the hold
to ``ApiKey.spent`` exactly, and charges beyond the hold only what both the
balance and the limit cover. Every settlement adds what it charged to its
key's ``spent``. Locks are always taken key first, then account, so a hold
and a settlement never wait on each other in a circle.

Every priced request holds once and settles once, so each database runs the
cheapest form of the same statements, on the driver connections of
:mod:`lumyx.db.driver`:

* PostgreSQL: the hold, and the settlement with its usage row and hour, are
  each one statement, committed without waiting for the disk. The account's
  row, which every request of the account updates, stays locked only while
  PostgreSQL runs statements, never across a round trip to a busy worker. A
  hold is a transaction of its own; so is a settlement, unless it comes while
  the worker's driver connections are all busy: then it shares one with the
  key's other settlements that come meanwhile (``postgres_writes``: one round
  trip for all).
* SQLite: the same steps run one after another in one transaction
  (``driver.sqlite_write``, which groups the concurrent writes of a worker into
  one transaction, and, while the worker serves other requests, lets them run
  first so that their holds and settlements join it); SQLite's write lock
  keeps every other writer out meanwhile.

This worker's in-flight holds are remembered (:func:`track`) so that the
janitor (:mod:`lumyx.billing.janitor`) can mark them alive.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, text

from lumyx.db import db, sqlite_time
from lumyx.db.driver import Rollback, sqlite_write
from lumyx.db.models import ApiKey, Hold, User
from lumyx.db.models._types import utcnow
from lumyx.db.postgres_writes import WITHOUT_WAITING, postgres_statement
from lumyx.observability import metrics
from lumyx.usage.recording import DEFAULTS, ROLLED_UP, ROW_COLUMNS


class InFlightHolds:
    """Request ids of this worker's in-flight holds: each joins when its hold is
    made and leaves when its call settles; the janitor refreshes them every
    minute, so only holds of a worker that stopped grow old."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def track(self, ref: str) -> None:
        self._ids.add(ref)

    def untrack(self, ref: str) -> None:
        self._ids.discard(ref)

    def tracked(self) -> list[str]:
        return list(self._ids)

    def forget(self) -> None:
        """In a forked child: the parent's holds are the parent's to refresh."""
        self._ids = set()


in_flight = InFlightHolds()  # this worker's (lumyx.runtime lists it)
track, untrack, tracked = in_flight.track, in_flight.untrack, in_flight.tracked


_users = User.__table__
_AVAILABLE = select(_users.c.balance - _users.c.held).where(_users.c.id == bindparam("user_id"))


_keys = ApiKey.__table__
_KEY_LEFT = select(_keys.c.spend_limit - _keys.c.spent - _keys.c.held).where(_keys.c.id == bindparam("key_id"))


def key_left(key_id: int | None) -> int:
    """What key ``key_id`` may still hold or spend under its limit (0 when it has none left)."""
    with db.engine.connect() as conn:
        left = conn.execute(_KEY_LEFT, {"key_id": key_id}).scalar()
    return max(left or 0, 0)


def available(user_id: int, key_id: int | None = None) -> int:
    """What can be spent or held now: the balance less what is held; with the
    ``key_id`` of a key with a limit, no more than the key has left."""
    with db.engine.connect() as conn:
        spare = conn.execute(_AVAILABLE, {"user_id": user_id}).scalar() or 0
    return spare if key_id is None else min(spare, key_left(key_id))


# -- PostgreSQL ----------------------------------------------------------------

# Rows are locked FOR NO KEY UPDATE, never FOR UPDATE: a hold's or a usage row's
# foreign key share-locks the key's and the account's rows, and FOR UPDATE would make
# that wait. A hold has the account's row and inserts its row while a settlement has
# the key's row and waits for the account's: with FOR UPDATE that is a deadlock.
_HOLD_PG = text(f"""
WITH {WITHOUT_WAITING},
reserved AS (
    UPDATE users SET held = held + :amount
    WHERE id = :user_id AND balance > 0 AND balance - held >= :amount
    RETURNING id)
INSERT INTO holds (id, user_id, api_key_id, model_id, amount, created_at, seen_at)
SELECT :ref, reserved.id, :api_key_id, :model_id, :amount, :now, :now FROM reserved, quick""")
# The same for a key with a spending limit: the key's row is locked first, and
# only when its limit covers the amount too are both reserved.
_HOLD_KEY_PG = text(f"""
WITH {WITHOUT_WAITING},
key_row AS MATERIALIZED (
    SELECT id FROM api_keys
    WHERE id = :api_key_id AND spend_limit IS NOT NULL AND spent + held + :amount <= spend_limit
    FOR NO KEY UPDATE),
reserved AS (
    UPDATE users SET held = held + :amount
    WHERE id = :user_id AND balance > 0 AND balance - held >= :amount AND EXISTS (SELECT 1 FROM key_row)
    RETURNING id),
key_reserved AS (
    UPDATE api_keys SET held = api_keys.held + :amount FROM reserved WHERE api_keys.id = :api_key_id)
INSERT INTO holds (id, user_id, api_key_id, model_id, amount, created_at, seen_at)
SELECT :ref, reserved.id, :api_key_id, :model_id, :amount, :now, :now FROM reserved, quick""")
# What _settle_sqlite() does, with the key's and then the account's row locked first so that the
# charge is decided on its current balance; then the usage row and its hour,
# with what was charged. It answers what was charged.
_SETTLE_AND_RECORD_PG = text(f"""
WITH {WITHOUT_WAITING},
taken AS (DELETE FROM holds WHERE id = :ref RETURNING amount),
key_row AS MATERIALIZED (
    SELECT id, spend_limit, spent, held FROM api_keys WHERE id = :api_key_id FOR NO KEY UPDATE),
account AS (
    SELECT id, balance, held, COALESCE((SELECT amount FROM taken), 0) AS amount
    FROM users WHERE id = :user_id AND (SELECT count(*) FROM key_row) >= 0 FOR NO KEY UPDATE),
decided AS (
    SELECT id, amount, CASE WHEN balance - :cost >= held - amount AND NOT EXISTS (
        SELECT 1 FROM key_row WHERE spend_limit IS NOT NULL AND spent + :cost > spend_limit - (key_row.held - amount))
    THEN :cost ELSE amount END AS charged
    FROM account),
charge AS (
    UPDATE users SET held = users.held - decided.amount, balance = users.balance - decided.charged
    FROM decided, quick WHERE users.id = decided.id
    RETURNING users.balance AS balance_after, decided.charged, decided.amount),
key_spent AS (
    UPDATE api_keys SET spent = api_keys.spent + charge.charged, held = CASE
        WHEN api_keys.spend_limit IS NULL THEN api_keys.held ELSE GREATEST(api_keys.held - charge.amount, 0) END
    FROM charge WHERE api_keys.id = :api_key_id AND (charge.charged > 0 OR charge.amount > 0)),
entry AS (
    INSERT INTO ledger_entries (user_id, amount, balance_after, kind, note, ref, created_at)
    SELECT :user_id, -charged, balance_after, 'usage', :note, :ref, :now FROM charge WHERE charged > 0),
recorded AS (
    INSERT INTO usage_records ({", ".join(ROW_COLUMNS)}, cost, unpaid)
    SELECT {", ".join(":" + c for c in ROW_COLUMNS)}, paid.charged, GREATEST(:cost - paid.charged, 0)
    FROM (SELECT COALESCE((SELECT charged FROM charge), 0) AS charged) AS paid
    RETURNING user_id, model_id, input_tokens, output_tokens, cost, latency_ms)
INSERT INTO usage_hourly (user_id, hour, model_id, requests, {", ".join(ROLLED_UP)})
SELECT user_id, :hour, model_id, 1, input_tokens, output_tokens, cost, latency_ms FROM recorded
ON CONFLICT (user_id, hour, model_id) DO UPDATE SET requests = usage_hourly.requests + 1,
    {", ".join(f"{c} = usage_hourly.{c} + excluded.{c}" for c in ROLLED_UP)}
RETURNING (SELECT charged FROM charge)""")

# -- SQLite --------------------------------------------------------------------

_RESERVE_SQLITE = (
    "UPDATE users SET held = held + :amount WHERE id = :user_id AND balance > 0 AND balance - held >= :amount"
)
_ADD_HOLD_SQLITE = (
    "INSERT INTO holds (id, user_id, api_key_id, model_id, amount, created_at, seen_at) "
    "VALUES (:ref, :user_id, :api_key_id, :model_id, :amount, :now, :now)"
)
_TAKE_HOLD_SQLITE = "DELETE FROM holds WHERE id = :ref RETURNING amount"
_CHARGE_SQLITE = (
    "UPDATE users SET held = held - :amount, balance = balance - :cost "
    "WHERE id = :user_id AND balance - :cost >= held - :amount RETURNING balance"
)
_CHARGE_HOLD_SQLITE = (
    "UPDATE users SET held = held - :amount, balance = balance - :amount WHERE id = :user_id RETURNING balance"
)
_RESERVE_KEY_SQLITE = (
    "UPDATE api_keys SET held = held + :amount "
    "WHERE id = :api_key_id AND spend_limit IS NOT NULL AND spent + held + :amount <= spend_limit"
)
_KEY_LEFT_SQLITE = "SELECT spend_limit - spent - (held - :amount) FROM api_keys WHERE id = :api_key_id"
_KEY_SPENT_SQLITE = (
    "UPDATE api_keys SET spent = spent + :charged, "
    "held = CASE WHEN spend_limit IS NULL THEN held ELSE MAX(held - :amount, 0) END WHERE id = :api_key_id"
)
_ADD_ENTRY_SQLITE = (
    "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, note, ref, created_at) "
    "VALUES (:user_id, -:charged, :balance, 'usage', :note, :ref, :now)"
)
_RECORD_SQLITE = (
    f"INSERT INTO usage_records ({', '.join(ROW_COLUMNS)}, cost, unpaid) "
    f"VALUES ({', '.join(':' + c for c in ROW_COLUMNS)}, :charged, MAX(:cost - :charged, 0))"
)
_ROLLUP_SQLITE = (
    f"INSERT INTO usage_hourly (user_id, hour, model_id, requests, {', '.join(ROLLED_UP)}) "
    "VALUES (:user_id, :hour, :model_id, 1, :input_tokens, :output_tokens, :charged, :latency_ms) "
    "ON CONFLICT (user_id, hour, model_id) DO UPDATE SET requests = requests + 1, "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLED_UP)
)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _others_under_way() -> bool:
    """Whether this worker serves other API requests now, whose holds and settlements
    may join this one's SQLite transaction (the one asking may be counted itself)."""
    return metrics.in_flight_here() > 1


def hold(
    user_id: int, amount: int, ref: str, *, model_id: str, api_key_id: int | None = None, key_limited: bool = False
) -> bool:
    """Reserve ``amount`` µcr for request ``ref``; False when the unreserved balance is
    short, or (``key_limited``: key ``api_key_id`` has a spending limit) what is left of
    the key's limit.

    The commit does not wait for the disk (PostgreSQL): a hold lost in a database
    crash only means its request is settled without one (see :func:`_settle_sqlite`).
    """
    params = {
        "user_id": user_id,
        "amount": amount,
        "ref": ref,
        "model_id": model_id,
        "api_key_id": api_key_id,
        "now": utcnow(),
    }
    if _postgres():
        return postgres_statement(_HOLD_KEY_PG if key_limited else _HOLD_PG, params)[0] == 1
    params["now"] = sqlite_time(params["now"])

    def reserve(conn) -> bool:
        if key_limited and conn.execute(_RESERVE_KEY_SQLITE, params).rowcount != 1:
            return False
        if conn.execute(_RESERVE_SQLITE, params).rowcount != 1:
            raise Rollback(False)  # the key's reservation too
        conn.execute(_ADD_HOLD_SQLITE, params)
        return True

    return sqlite_write(reserve, gather=_others_under_way())


def _settle_sqlite(conn, params: dict) -> int:
    """Ends hold ``params["ref"]`` of account ``params["user_id"]``, charging ``params["cost"]``
    µcr, in the transaction of driver connection ``conn``; returns what was charged.

    A cost beyond the hold is charged when the unreserved balance covers it, and
    the key's limit if it has one; else only the hold is charged. The key's
    ``spent`` grows by what was charged and its ``held`` (limited keys) shrinks
    by the hold. When the hold is gone it was either settled
    already — then the unique ledger ref, or the unique usage row, fails the
    transaction (IntegrityError) — or lost in a database crash, and the cost is
    charged from the unreserved balance if that covers it. The entry is noted
    ``params["note"]`` and dated ``params["now"]``.
    """
    taken = conn.execute(_TAKE_HOLD_SQLITE, params).fetchone()
    amount = taken[0] if taken else 0
    charged = params["cost"]
    balance = None
    if charged <= amount or _key_covers(conn, {**params, "amount": amount}):
        balance = conn.execute(_CHARGE_SQLITE, {**params, "amount": amount}).fetchone()
    if balance is None:
        charged = amount
        balance = conn.execute(_CHARGE_HOLD_SQLITE, {**params, "amount": amount}).fetchone()
    if balance is None:  # the account is gone
        return 0
    if charged or amount:
        conn.execute(_KEY_SPENT_SQLITE, {**params, "charged": charged, "amount": amount})
    if charged:
        conn.execute(_ADD_ENTRY_SQLITE, {**params, "charged": charged, "balance": balance[0]})
    return charged


def _key_covers(conn, params: dict) -> bool:
    """Whether the key's limit (if any) covers ``params["cost"]`` once its hold ``params["amount"]`` is released."""
    left = conn.execute(_KEY_LEFT_SQLITE, params).fetchone()
    return left is None or left[0] is None or params["cost"] <= left[0]


def settle_and_record(row: dict, cost: int, note: str) -> int:
    """Settles hold ``row["id"]`` charging ``cost`` µcr and writes the usage row with what
    was charged, atomically; returns what was charged. Raises IntegrityError when the
    request was settled already. One statement on PostgreSQL."""
    params = {column: row.get(column, DEFAULTS.get(column)) for column in ROW_COLUMNS}
    params.update(
        ref=row["id"],
        cost=cost,
        note=note[:500],
        now=utcnow(),  # the ledger entry's time: when it was charged
        hour=row["created_at"].replace(minute=0, second=0, microsecond=0),
    )
    if _postgres():
        _, rows = postgres_statement(_SETTLE_AND_RECORD_PG, params, group=(params["user_id"], params["api_key_id"]))
        return (rows[0][0] if rows else 0) or 0
    params.update(
        created_at=sqlite_time(params["created_at"]), now=sqlite_time(params["now"]), hour=sqlite_time(params["hour"])
    )

    def settle_and_write(conn) -> int:
        charged = params["charged"] = _settle_sqlite(conn, params)
        conn.execute(_RECORD_SQLITE, params)
        conn.execute(_ROLLUP_SQLITE, params)
        return charged

    return sqlite_write(settle_and_write, gather=_others_under_way())


def outstanding() -> int:
    """How many credit holds are open now (calls being served, or orphaned until the
    janitor releases them): one count of the holds table."""
    return db.session.execute(select(db.func.count()).select_from(Hold)).scalar_one()
