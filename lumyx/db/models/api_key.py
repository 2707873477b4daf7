from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class ApiKey(db.Model):
    """An API key. Only a SHA-256 of its secret is stored; the key is shown once.

    A key may be handed out with a spending limit, a model allowlist and an
    expiry. ``spent`` is what requests made with it were charged (every key);
    ``held`` what its in-flight requests hold (keys with a limit only, so that
    ``spent + held <= spend_limit`` always holds)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    spend_limit: Mapped[int | None] = mapped_column(BigInteger)  # µcr; None: unlimited
    spent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # µcr charged
    held: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # µcr in flight (limited keys)
    models: Mapped[str | None] = mapped_column(Text)  # comma-separated catalog model ids; None: any model
    expires_at: Mapped[datetime | None]  # naive UTC; None: never

    @property
    def model_list(self) -> list[str]:
        return [m for m in (self.models or "").split(",") if m]

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()
