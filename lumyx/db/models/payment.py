from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class Payment(db.Model):
    """A Stripe Checkout session for credits, from creation to crediting."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stripe_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    package: Mapped[str | None] = mapped_column(String(32))  # a package id, or None for a custom amount
    credits: Mapped[int] = mapped_column(BigInteger)  # µcr granted when paid
    amount_cents: Mapped[int] = mapped_column()  # price before tax, in cents
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | credited | expired
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    credited_at: Mapped[datetime | None]
