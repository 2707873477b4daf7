"""The credit ledger: every balance change is one conditional UPDATE plus one
append-only entry, in the same transaction. The balance never goes negative,
nor below what in-flight requests hold (:mod:`lumyx.billing.holds`, which
also writes each request's ``usage`` entry)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lumyx.db import db
from lumyx.db.models import LedgerEntry, User


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
