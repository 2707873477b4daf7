"""What the admin pages do to accounts: find them, change a plan, adjust credits
through the ledger (with a note)."""

from __future__ import annotations

import math

from sqlalchemy import func, select

from lumyx import money
from lumyx.accounts.web import Page
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
    total = db.session.scalar(count) or 0
    pages = max(1, math.ceil(total / limit))
    page = min(max(1, page), pages)
    users = list(db.session.scalars(query.order_by(User.id.desc()).offset((page - 1) * limit).limit(limit)))
    return Page(users, page, limit, total)


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


def recent_ledger(user_id: int, limit: int = 10) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id.desc()).limit(limit)
        )
    )
