from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lumyx.db import db
from lumyx.db.models._types import utcnow

PROVIDER_KINDS = ("openai", "openai-responses", "anthropic", "local")


class Provider(db.Model):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    base_url: Mapped[str] = mapped_column(String(500), default="")
    api_key_env: Mapped[str | None] = mapped_column(String(100))
    timeout_s: Mapped[int] = mapped_column(default=600)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CatalogModel(db.Model):
    """A model clients can name; prices in µcr per 1M tokens (lumyx.money)."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    context_length: Mapped[int] = mapped_column(default=0)
    max_output_tokens: Mapped[int] = mapped_column(default=0)
    price_input: Mapped[int] = mapped_column(BigInteger, default=0)
    price_output: Mapped[int] = mapped_column(BigInteger, default=0)
    # Prompt tokens read from / written to the upstream's cache (5-minute, 1-hour);
    # None: the catalog's default (read and write at the input price, 1h at the 5m write).
    price_cache_read: Mapped[int | None] = mapped_column(BigInteger)
    price_cache_write: Mapped[int | None] = mapped_column(BigInteger)
    price_cache_write_1h: Mapped[int | None] = mapped_column(BigInteger)
    input_modalities: Mapped[list] = mapped_column(JSON, default=list)
    output_modalities: Mapped[list] = mapped_column(JSON, default=list)
    capabilities: Mapped[list] = mapped_column(JSON, default=list)
    routes: Mapped[list] = mapped_column(JSON, default=list)  # [{provider, model, weight?}]
    routing: Mapped[str] = mapped_column(String(20), default="fallback")  # fallback | balance
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
