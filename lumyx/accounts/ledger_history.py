"""An account's credit history as its pages show it: the ledger's entries
(written only by lumyx.billing.ledger), newest first."""

from __future__ import annotations

from sqlalchemy import func, select

from lumyx.accounts.paging import Page, page_of
from lumyx.db import db
from lumyx.db.models import LedgerEntry


def ledger_page(user_id: int, page: int = 1, limit: int = 20) -> Page:
    """The user's ledger entries, newest first, one page of them."""
    return page_of(
        select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id.desc()),
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == user_id),
        page,
        limit,
    )


def recent_ledger(user_id: int, limit: int = 10) -> list[LedgerEntry]:
    """The user's latest ledger entries, newest first."""
    return list(
        db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id.desc()).limit(limit)
        )
    )
