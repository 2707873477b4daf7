"""The catalog as the hot path sees it: an immutable in-memory snapshot.

Each worker holds one snapshot and reloads it from the database when the
catalog changed (checked at most every LUMYX_CATALOG_REFRESH_SECONDS), so no
request queries the catalog tables.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from lumyx import money
from lumyx.db import db
from lumyx.db.models import CatalogModel, Provider

BASE_PARAMETERS = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "user",
    "stream",
    "stream_options",
)
CAPABILITY_PARAMETERS = {
    "tools": ("tools", "tool_choice", "parallel_tool_calls"),
    "json_mode": ("response_format",),
    "reasoning": ("reasoning", "reasoning_effort", "include_reasoning"),
}
EMBEDDING_PARAMETERS = ("input", "dimensions", "encoding_format", "user")


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: str
    kind: str
    base_url: str
    api_key_env: str | None
    timeout_s: int

    def api_key(self) -> str | None:
        """The upstream key from the environment; None when the variable is unset."""
        if not self.api_key_env:
            return ""
        return os.environ.get(self.api_key_env) or None


@dataclass(frozen=True, slots=True)
class Route:
    provider: ProviderInfo
    model: str
    weight: float = field(default=1, compare=False)  # share of a balanced model's requests


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    name: str
    description: str
    context_length: int
    max_output_tokens: int
    price_input: int
    price_output: int
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    capabilities: frozenset[str]
    routes: tuple[Route, ...]
    created: int
    api_object: dict = field(compare=False)
    # Prompt tokens read from / written to the upstream's cache (µcr per 1M tokens);
    # None: the default (lumyx.billing.arithmetic.cache_prices).
    price_cache_read: int | None = None
    price_cache_write: int | None = None
    price_cache_write_1h: int | None = None
    routing: str = "fallback"  # fallback: routes in order | balance: by their weights, the rest as fallback

    @property
    def is_free(self) -> bool:
        return self.price_input == 0 and self.price_output == 0

    @property
    def cache_prices(self) -> tuple[int, int, int]:
        """(cache read, 5-minute cache write, 1-hour cache write), defaults filled in."""
        read = self.price_input if self.price_cache_read is None else self.price_cache_read
        write = self.price_input if self.price_cache_write is None else self.price_cache_write
        return read, write, write if self.price_cache_write_1h is None else self.price_cache_write_1h

    @property
    def is_embedding(self) -> bool:
        return "embeddings" in self.output_modalities

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities


def _price_string(micro_per_million: int) -> str:
    """OpenRouter-style USD per single token, as a plain decimal string."""
    per_token = money.micro_price_to_usd(micro_per_million) / money.TOKENS_PER_PRICE_UNIT
    return format(per_token.normalize(), "f") if per_token else "0"


def _cache_prices(row) -> tuple[int, int, int]:
    """(cache read, 5-minute write, 1-hour write) of a model row, defaults filled in."""
    read = row.price_input if row.price_cache_read is None else row.price_cache_read
    write = row.price_input if row.price_cache_write is None else row.price_cache_write
    return read, write, write if row.price_cache_write_1h is None else row.price_cache_write_1h


def _api_object(row: CatalogModel, created: int, providers: list[str]) -> dict:
    """The model as GET /models shows it: OpenAI's fields plus OpenRouter's richer ones."""
    if "embeddings" in row.output_modalities:
        parameters = list(EMBEDDING_PARAMETERS)
    else:
        parameters = list(BASE_PARAMETERS)
        for capability in row.capabilities:
            parameters.extend(CAPABILITY_PARAMETERS.get(capability, ()))
    modality = "+".join(row.input_modalities) + "->" + "+".join(row.output_modalities)
    price_in = money.micro_price_to_usd(row.price_input)
    price_out = money.micro_price_to_usd(row.price_output)
    read, write, write_1h = _cache_prices(row)
    return {
        "id": row.id,
        "object": "model",
        "created": created,
        "owned_by": providers[0] if providers else "lumyx",
        "name": row.name,
        "description": row.description,
        "context_length": row.context_length,
        "pricing": {
            "prompt": _price_string(row.price_input),
            "completion": _price_string(row.price_output),
            "input_cache_read": _price_string(read),
            "input_cache_write": _price_string(write),
            "input_per_million": float(price_in),
            "output_per_million": float(price_out),
            "cache_read_per_million": float(money.micro_price_to_usd(read)),
            "cache_write_per_million": float(money.micro_price_to_usd(write)),
            "cache_write_1h_per_million": float(money.micro_price_to_usd(write_1h)),
        },
        "architecture": {
            "modality": modality,
            "input_modalities": list(row.input_modalities),
            "output_modalities": list(row.output_modalities),
        },
        "top_provider": {
            "context_length": row.context_length,
            "max_completion_tokens": row.max_output_tokens or None,
            "is_moderated": False,
        },
        "capabilities": list(row.capabilities),
        "supported_parameters": parameters,
        "is_free": row.price_input == 0 and row.price_output == 0,
    }


class Catalog:
    """An immutable snapshot of providers and enabled models."""

    def __init__(self, models: dict[str, ModelInfo], providers: dict[str, ProviderInfo], stamp):
        self.models = models
        self.providers = providers
        self.stamp = stamp

    def get(self, model_id: str) -> ModelInfo | None:
        return self.models.get(model_id)

    def listing(self) -> list[dict]:
        return [m.api_object for m in self.models.values()]


def _stamp():
    """A cheap fingerprint of the catalog tables."""
    models = db.session.execute(select(func.count(), func.max(CatalogModel.updated_at))).one()
    providers = db.session.execute(select(func.count(), func.max(Provider.updated_at))).one()
    return tuple(models) + tuple(providers)


def build() -> Catalog:
    stamp = _stamp()
    providers = {
        p.id: ProviderInfo(p.id, p.kind, p.base_url, p.api_key_env, p.timeout_s)
        for p in db.session.scalars(select(Provider))
    }
    models: dict[str, ModelInfo] = {}
    rows = db.session.scalars(
        select(CatalogModel).where(CatalogModel.enabled).order_by(CatalogModel.position, CatalogModel.id)
    )
    for row in rows:
        routes = tuple(
            Route(providers[r["provider"]], r["model"], r.get("weight", 1))
            for r in row.routes
            if r["provider"] in providers
        )
        created = int(row.created_at.timestamp()) if row.created_at else 0
        read, write, write_1h = _cache_prices(row)
        models[row.id] = ModelInfo(
            id=row.id,
            name=row.name,
            description=row.description,
            context_length=row.context_length,
            max_output_tokens=row.max_output_tokens,
            price_input=row.price_input,
            price_output=row.price_output,
            input_modalities=tuple(row.input_modalities),
            output_modalities=tuple(row.output_modalities),
            capabilities=frozenset(row.capabilities),
            routes=routes,
            created=created,
            api_object=_api_object(row, created, [r.provider.id for r in routes]),
            price_cache_read=read,
            price_cache_write=write,
            price_cache_write_1h=write_1h,
            routing=row.routing or "fallback",
        )
    db.session.rollback()
    return Catalog(models, providers, stamp)


class CatalogCache:
    """The worker's current snapshot, re-checked against the database now and then."""

    def __init__(self, refresh_seconds: float):
        self.refresh_seconds = refresh_seconds
        self._catalog: Catalog | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> Catalog:
        catalog = self._catalog
        if catalog is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return catalog
        with self._lock:
            if self._catalog is None or time.monotonic() - self._checked_at >= self.refresh_seconds:
                self._refresh()
        return self._catalog

    def _refresh(self) -> None:
        # The check counts from before the stamp is read: a catalog committed while it is being
        # read is seen by the first request refresh_seconds after that commit, never later.
        checking_from = time.monotonic()
        try:
            if self._catalog is None or _stamp() != self._catalog.stamp:
                self._catalog = build()
            db.session.rollback()
        except Exception:
            db.session.rollback()
            if self._catalog is None:
                raise
        self._checked_at = checking_from

    def invalidate(self) -> None:
        """The next use checks the database for changes, however recent the last check."""
        self._checked_at = float("-inf")
