from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class StoredResponse(db.Model):
    """A Responses API answer kept for ``previous_response_id``, ``GET /responses/{id}``
    and its ``input_items``, until ``expires_at`` (lumyx.responses.store)."""

    __tablename__ = "stored_responses"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # resp_<32 hex>, or an upstream's own
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the janitor deletes it after this
    previous_response_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    input_items: Mapped[str] = mapped_column(Text)  # JSON: the client's own input items, with ids
    response: Mapped[str] = mapped_column(Text)  # JSON: the Response object, sealed reasoning kept
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class StoredResponseItem(db.Model):
    """An output item of a stored response, by its id within the account, so that an
    ``item_reference`` or a reasoning item sent back by id alone finds it again.
    The row goes with its response."""

    __tablename__ = "stored_response_items"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    response_id: Mapped[str] = mapped_column(ForeignKey("stored_responses.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(Text)  # JSON, as stored in the response
