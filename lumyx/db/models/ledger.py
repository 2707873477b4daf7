from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class LedgerEntry(db.Model):
    """One append-only movement of credits. The sum of a user's entries is its balance."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # µcr, signed
    balance_after: Mapped[int] = mapped_column(BigInteger)  # µcr
    kind: Mapped[str] = mapped_column(String(20))  # grant | adjustment | purchase | usage
    note: Mapped[str] = mapped_column(String(500), default="")
    # Idempotency reference (a Stripe session, a request id); unique when set.
    ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
