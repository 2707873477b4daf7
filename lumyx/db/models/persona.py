from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow


class Persona(db.Model):
    """A saved preset of an account: a system prompt, a model, default parameters
    and tools, used by naming it in a request (``"model": "persona:<slug>"``)."""

    __tablename__ = "personas"
    __table_args__ = (UniqueConstraint("user_id", "slug", name="uq_personas_user_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(200))
    # Validated by lumyx.agents.personas: only known parameter keys.
    defaults: Mapped[dict] = mapped_column(JSON, default=dict)
    tools: Mapped[list] = mapped_column(JSON, default=list)  # OpenAI function tools
    http_tools: Mapped[list] = mapped_column(JSON, default=list)  # tools the agents endpoint may call over HTTP
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
