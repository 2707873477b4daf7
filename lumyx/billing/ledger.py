"""The credit ledger: every balance change is one conditional UPDATE plus one
append-only entry, in the same transaction. The balance never goes negative.

Holds reserve part of a balance for an in-flight request (``User.held``, one
row in ``holds``); settling deletes the row — whoever deletes it settles, so a
hold is settled exactly once — releases the reservation and charges the
actual cost as one ``usage`` entry."""

from __future__ import annotations

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import IntegrityError

from lumyx.db import db, sqlite_time
from lumyx.db.driver import postgres_statement, sqlite_transaction
from lumyx.db.models import LedgerEntry, User
from lumyx.db.models._types import utcnow


class InsufficientBalance(ValueError):
    """The change would take the balance below zero (or below what is held)."""


def post(
    user_id: int, amount: int, kind: str, *, note: str = "", ref: str | None = None, commit: bool = True
) -> LedgerEntry:
    """Add ``amount`` µcr (negative to remove) to a balance, ledgered.

    With ``ref`` the posting is idempotent: a second posting of the same ref
    changes nothing and returns the first entry.
    """
    if ref is not None:
        existing = db.session.scalar(select(LedgerEntry).where(LedgerEntry.ref == ref))
        if existing is not None:
            return existing
    # Credits reserved by in-flight requests (User.held) cannot be taken away.
    balance = db.session.execute(
        update(User)
        .where(User.id == user_id, User.balance + amount >= User.held)
        .values(balance=User.balance + amount)
        .returning(User.balance)
    ).scalar()
    if balance is None:
        db.session.rollback()
        if db.session.get(User, user_id) is None:
            raise LookupError(f"no user {user_id}")
        raise InsufficientBalance("the balance cannot go below zero")
    entry = LedgerEntry(user_id=user_id, amount=amount, balance_after=balance, kind=kind, note=note[:500], ref=ref)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if ref is None:
            raise
        return db.session.scalar(select(LedgerEntry).where(LedgerEntry.ref == ref))
    if commit:
        db.session.commit()
    return entry


_users = User.__table__
_AVAILABLE = select(_users.c.balance - _users.c.held).where(_users.c.id == bindparam("user_id"))


def available(user_id: int) -> int:
    """What can be spent or held now: the balance less what is held."""
    with db.engine.connect() as conn:
        return conn.execute(_AVAILABLE, {"user_id": user_id}).scalar() or 0


# Every priced request holds once and settles once, so each database runs the
# cheapest form of the same statements.
#
# On PostgreSQL the hold, and the settlement with its usage row, are each one
# statement in a transaction of its own: the account's row, which every request
# of the account updates, stays locked only while PostgreSQL runs the statement,
# never across a round trip to a busy worker. Neither commit waits for the disk.
_WITHOUT_WAITING = "quick AS (SELECT set_config('synchronous_commit', 'off', true) AS off)"
_HOLD_PG = text(f"""
WITH {_WITHOUT_WAITING},
reserved AS (
    UPDATE users SET held = held + :amount
    WHERE id = :user_id AND balance > 0 AND balance - held >= :amount
    RETURNING id)
INSERT INTO holds (id, user_id, api_key_id, model_id, amount, created_at, seen_at)
SELECT :ref, reserved.id, :api_key_id, :model_id, :amount, :now, :now FROM reserved, quick""")
# What settle_sqlite() does, with the account's row locked first so that the
# charge is decided on its current balance.
SETTLE_PG = f"""
{_WITHOUT_WAITING},
taken AS (DELETE FROM holds WHERE id = :ref RETURNING amount),
account AS (
    SELECT id, balance, held, COALESCE((SELECT amount FROM taken), 0) AS amount
    FROM users WHERE id = :user_id FOR UPDATE),
decided AS (
    SELECT id, amount, CASE WHEN balance - :cost >= held - amount THEN :cost ELSE amount END AS charged
    FROM account),
charge AS (
    UPDATE users SET held = users.held - decided.amount, balance = users.balance - decided.charged
    FROM decided, quick WHERE users.id = decided.id
    RETURNING users.balance AS balance_after, decided.charged),
entry AS (
    INSERT INTO ledger_entries (user_id, amount, balance_after, kind, note, ref, created_at)
    SELECT :user_id, -charged, balance_after, 'usage', :note, :ref, :now FROM charge WHERE charged > 0)"""

# On SQLite they run one after another in one transaction on the driver's own
# connection (driver.sqlite_transaction); SQLite's write lock keeps every
# other writer out meanwhile.
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
_ADD_ENTRY_SQLITE = (
    "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, note, ref, created_at) "
    "VALUES (:user_id, -:charged, :balance, 'usage', :note, :ref, :now)"
)


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def hold(user_id: int, amount: int, ref: str, *, model_id: str, api_key_id: int | None = None) -> bool:
    """Reserve ``amount`` µcr for request ``ref``; False when the unreserved balance is short.

    The commit does not wait for the disk (PostgreSQL): a hold lost in a database
    crash only means its request is settled without one (see :func:`settle_sqlite`).
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
        return postgres_statement(_HOLD_PG, params)[0] == 1
    params["now"] = sqlite_time(params["now"])
    with sqlite_transaction() as conn:
        if conn.execute(_RESERVE_SQLITE, params).rowcount != 1:
            return False
        conn.execute(_ADD_HOLD_SQLITE, params)
    return True


def settle_sqlite(conn, params: dict) -> int:
    """Ends hold ``params["ref"]`` of account ``params["user_id"]``, charging ``params["cost"]``
    µcr, in the transaction of driver connection ``conn``; returns what was charged.

    A cost beyond the hold is charged when the unreserved balance covers it,
    else only the hold is charged. When the hold is gone it was either settled
    already — then the unique ledger ref, or the caller's unique usage row,
    fails the transaction (IntegrityError) — or lost in a database crash, and
    the cost is charged from the unreserved balance if that covers it. The
    entry is noted ``params["note"]`` and dated ``params["now"]``.
    """
    taken = conn.execute(_TAKE_HOLD_SQLITE, params).fetchone()
    amount = taken[0] if taken else 0
    charged = params["cost"]
    balance = conn.execute(_CHARGE_SQLITE, {**params, "amount": amount}).fetchone()
    if balance is None:
        charged = amount
        balance = conn.execute(_CHARGE_HOLD_SQLITE, {**params, "amount": amount}).fetchone()
    if balance is None:  # the account is gone
        return 0
    if charged:
        conn.execute(_ADD_ENTRY_SQLITE, {**params, "charged": charged, "balance": balance[0]})
    return charged
