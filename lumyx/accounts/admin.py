"""What the admin pages do to accounts: find them, change a plan, adjust credits
through the ledger (with a note). An account's recent ledger entries are read
by lumyx.accounts.ledger_history."""

from __future__ import annotations

from sqlalchemy import func, select

from lumyx import money
from lumyx.accounts.paging import Page, page_of
from lumyx.billing import ledger
from lumyx.db import db
from lumyx.db.models import LedgerEntry, User
from lumyx.db.models.user import PLANS


class AdminError(ValueError):
    """A change that cannot be made; the message says why."""


def search(text: str = "", page: int = 1, limit: int = 25) -> Page:
    """Users whose email contains ``text``, newest first."""
    query = select(User)
    count = select(func.count()).select_from(User)
    text = (text or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        condition = func.lower(User.email).like(pattern, escape="\\")
        query, count = query.where(condition), count.where(condition)
    return page_of(query.order_by(User.id.desc()), count, page, limit)


def set_plan(user_id: int, plan: str) -> User:
    if plan not in PLANS:
        raise AdminError(f"unknown plan {plan!r} (one of {', '.join(PLANS)})")
    user = db.session.get(User, user_id)
    if user is None:
        raise AdminError(f"no user {user_id}")
    user.plan = plan
    db.session.commit()
    return user


def adjust_credits(user_id: int, amount: str, note: str, admin_email: str) -> LedgerEntry:
    """Adds (or with a negative amount removes) credits, ledgered with the note and who did it."""
    try:
        micro = money.credits_to_micro(amount)
    except ValueError as exc:
        raise AdminError(f"bad amount {amount!r}: {exc}") from None
    if micro == 0:
        raise AdminError("the amount must not be zero")
    note = (note or "").strip()
    if not note:
        raise AdminError("say why in the note")
    try:
        return ledger.post(user_id, micro, "adjustment" if micro < 0 else "grant", note=f"{note} (by {admin_email})")
    except ledger.InsufficientBalance:
        raise AdminError("cannot remove that much: the balance (less what is held) would go below zero") from None
    except LookupError:
        raise AdminError(f"no user {user_id}") from None
