from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow

PLANS = ("free", "pro", "enterprise")
DEFAULT_TIMEZONE = "America/New_York"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_users_balance_not_negative"),
        CheckConstraint("held >= 0 AND held <= balance", name="ck_users_held_within_balance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(20), default="free")
    is_admin: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    # Credits owned, in µcr (see lumyx.money); changed only with the ledger, so the
    # sum of the user's ledger entries is always this balance.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part of the balance reserved by in-flight requests (holds); what can be
    # spent or held next is balance - held.
    held: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised to end every web session of the account (log-out, "log out everywhere"):
    # a session is valid only while it carries the current generation (get_id).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the account is closed (naive UTC): the e-mail is replaced by a placeholder,
    # keys are revoked and no log-in works; the row stays, so ledger and usage rows keep
    # pointing at it.
    deleted_at: Mapped[datetime | None]

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the id and the session generation."""
        return f"{self.id}:{self.session_generation}"
