"""Reading and validating a catalog file (YAML), then upserting it.

Every problem is reported as one line naming the bad field, e.g.
``models[2].pricing.input: must be a number >= 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from lumyx import money
from lumyx.db import db
from lumyx.db.models import CatalogModel, Provider
from lumyx.db.models.catalog import PROVIDER_KINDS

CAPABILITIES = ("tools", "vision", "reasoning", "json_mode")
# Optional prices of prompt tokens the upstream read from or wrote to its cache;
# unset: read and 5-minute write at the input price, 1-hour write at the 5-minute one.
CACHE_PRICES = ("cache_read", "cache_write", "cache_write_1h")
ROUTING = ("fallback", "balance")  # routes in order | by weight, the rest as fallback
MODALITIES = ("text", "image", "audio", "file", "video", "embeddings")


class CatalogError(ValueError):
    """A catalog file that cannot be loaded; the message names the field."""


@dataclass
class LoadResult:
    providers: int
    models: int


def _fail(where: str, problem: str):
    raise CatalogError(f"{where}: {problem}")


def _str(obj: dict, key: str, where: str, *, required: bool = True, default: str = "") -> str:
    value = obj.get(key, None)
    if value is None:
        if required:
            _fail(f"{where}.{key}", "is required")
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        _fail(f"{where}.{key}", "must be a non-empty string")
    return value.strip()


def _int(obj: dict, key: str, where: str, default: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(f"{where}.{key}", "must be a whole number >= 0")
    return value


def _str_list(obj: dict, key: str, where: str, allowed: tuple[str, ...], default: list) -> list[str]:
    value = obj.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(f"{where}.{key}", "must be a list of strings")
    for v in value:
        if v not in allowed:
            _fail(f"{where}.{key}", f"unknown value {v!r} (allowed: {', '.join(allowed)})")
    return list(dict.fromkeys(value))


def _weight(value, where: str) -> float:
    """A route's share of a balanced model's requests (0: only as a fallback)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1e6:
        _fail(f"{where}.weight", "must be a number from 0 to 1000000")
    return value


def _provider(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        _fail(where, "must be a mapping")
    kind = _str(raw, "kind", where)
    if kind not in PROVIDER_KINDS:
        _fail(f"{where}.kind", f"must be one of {', '.join(PROVIDER_KINDS)}")
    base_url = _str(raw, "base_url", where, required=kind != "local")
    if kind != "local" and not base_url.startswith(("http://", "https://")):
        _fail(f"{where}.base_url", "must start with http:// or https://")
    api_key_env = _str(raw, "api_key_env", where, required=False) or None
    timeout_s = _int(raw, "timeout_s", where, 600)
    if timeout_s == 0:
        _fail(f"{where}.timeout_s", "must be at least 1")
    return {
        "id": _str(raw, "id", where),
        "kind": kind,
        "base_url": base_url.rstrip("/"),
        "api_key_env": api_key_env,
        "timeout_s": timeout_s,
    }


def _model(raw, where: str, provider_ids: set[str]) -> dict:
    if not isinstance(raw, dict):
        _fail(where, "must be a mapping")
    model_id = _str(raw, "id", where)
    pricing = raw.get("pricing") or {}
    if not isinstance(pricing, dict):
        _fail(f"{where}.pricing", "must be a mapping with input and output")
    prices = {}
    for side in ("input", "output", *CACHE_PRICES):
        if side in CACHE_PRICES and pricing.get(side) is None:
            continue
        try:
            prices[side] = money.usd_price_to_micro(pricing.get(side, 0))
        except ValueError as exc:
            _fail(f"{where}.pricing.{side}", f"must be a number >= 0 ({exc})")
    prices.setdefault("cache_read", prices["input"])
    prices.setdefault("cache_write", prices["input"])
    prices.setdefault("cache_write_1h", prices["cache_write"])
    modalities = raw.get("modalities") or {}
    if not isinstance(modalities, dict):
        _fail(f"{where}.modalities", "must be a mapping with input and output")
    routes_raw = raw.get("routes")
    if not isinstance(routes_raw, list) or not routes_raw:
        _fail(f"{where}.routes", "must be a non-empty list")
    routes = []
    for j, route in enumerate(routes_raw):
        rwhere = f"{where}.routes[{j}]"
        if not isinstance(route, dict):
            _fail(rwhere, "must be a mapping with provider and model")
        provider = _str(route, "provider", rwhere)
        if provider not in provider_ids:
            _fail(f"{rwhere}.provider", f"unknown provider {provider!r}")
        entry = {
            "provider": provider,
            "model": _str(route, "model", rwhere, required=False, default=model_id) or model_id,
        }
        if route.get("weight") is not None:
            entry["weight"] = _weight(route["weight"], rwhere)
        routes.append(entry)
    routing = raw.get("routing", "fallback")
    if routing not in ROUTING:
        _fail(f"{where}.routing", f"must be one of {', '.join(ROUTING)}")
    if routing == "balance" and not any(r.get("weight", 1) > 0 for r in routes):
        _fail(f"{where}.routes", "a balanced model needs a route of weight > 0")
    return {
        "id": model_id,
        "name": _str(raw, "name", where, required=False, default=model_id) or model_id,
        "description": _str(raw, "description", where, required=False),
        "context_length": _int(raw, "context_length", where, 0),
        "max_output_tokens": _int(raw, "max_output_tokens", where, 0),
        "price_input": prices["input"],
        "price_output": prices["output"],
        "price_cache_read": prices["cache_read"],
        "price_cache_write": prices["cache_write"],
        "price_cache_write_1h": prices["cache_write_1h"],
        "input_modalities": _str_list(modalities, "input", f"{where}.modalities", MODALITIES, ["text"]),
        "output_modalities": _str_list(modalities, "output", f"{where}.modalities", MODALITIES, ["text"]),
        "capabilities": _str_list(raw, "capabilities", where, CAPABILITIES, []),
        "routes": routes,
        "routing": routing,
    }


def parse(text: str) -> tuple[list[dict], list[dict]]:
    """Validated (providers, models) from catalog YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise CatalogError("catalog: must be a mapping with providers and models")
    raw_providers = data.get("providers") or []
    raw_models = data.get("models") or []
    if not isinstance(raw_providers, list):
        _fail("providers", "must be a list")
    if not isinstance(raw_models, list):
        _fail("models", "must be a list")
    providers = [_provider(p, f"providers[{i}]") for i, p in enumerate(raw_providers)]
    _no_duplicates(providers, "providers")
    known = {p["id"] for p in providers} | {p.id for p in db.session.query(Provider.id)}
    models = [_model(m, f"models[{i}]", known) for i, m in enumerate(raw_models)]
    _no_duplicates(models, "models")
    return providers, models


def _no_duplicates(items: list[dict], where: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item["id"] in seen:
            _fail(f"{where}[{i}].id", f"duplicate id {item['id']!r}")
        seen.add(item["id"])


def load(path: str | Path) -> LoadResult:
    """Upsert the providers and models of a catalog file, in one transaction."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror})") from None
    providers, models = parse(text)
    for values in providers:
        _upsert(Provider, values)
    for position, values in enumerate(models):
        _upsert(CatalogModel, {**values, "position": position})
    db.session.commit()
    return LoadResult(len(providers), len(models))


def _upsert(model_class, values: dict) -> None:
    row = db.session.get(model_class, values["id"])
    if row is None:
        db.session.add(model_class(**values))
        return
    for key, value in values.items():
        setattr(row, key, value)
