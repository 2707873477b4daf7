"""The model catalog's filters and sorting, as pure functions over a catalog
snapshot (lumyx.catalog.snapshot): no Flask, no database.

A query comes from the page's URL parameters (``parse``) and goes back into
them (``to_params``), so a link reproduces a filtered view exactly.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from lumyx import money
from lumyx.catalog.snapshot import ModelInfo

CAPABILITIES = ("tools", "vision", "reasoning", "json_mode", "embeddings")
CAPABILITY_LABELS = {
    "tools": "Tools",
    "vision": "Vision",
    "reasoning": "Reasoning",
    "json_mode": "JSON mode",
    "embeddings": "Embeddings",
}
SORTS = {
    "": "Available first",
    "name": "Name",
    "price": "Price: lowest first",
    "price_desc": "Price: highest first",
    "context": "Context: largest first",
}
MAX_QUERY_CHARS = 100
MAX_PRICE_USD = 1_000_000  # per 1M tokens: more than any model costs
PRICE_STEP = Decimal("0.000001")


@dataclass(frozen=True)
class CatalogQuery:
    text: str = ""
    capabilities: tuple[str, ...] = ()
    modality: str = ""  # an input modality: text, image, …
    free: bool = False
    available: bool = False  # only models whose provider has a key configured
    provider: str = ""
    min_context: int = 0
    max_price: Decimal | None = None  # USD per 1M tokens, input and output alike
    sort: str = ""
    # What was wrong with the parameters (each bad filter is left out), for the page to say.
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def active(self) -> bool:
        return self != CatalogQuery(sort=self.sort)


def _getlist(params: Mapping, name: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = params.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _flag(params: Mapping, name: str) -> bool:
    return str(params.get(name) or "").lower() in ("1", "true", "on", "yes")


def parse(params: Mapping) -> CatalogQuery:
    """A query from URL parameters; what is malformed or unknown is left out."""
    capabilities = []
    for value in _getlist(params, "capability"):
        for name in str(value).split(","):
            name = name.strip().lower()
            if name in CAPABILITIES and name not in capabilities:
                capabilities.append(name)
    problems = []
    try:
        min_context = int(str(params.get("min_context") or "0").replace(",", "").replace("_", ""))
    except ValueError:
        problems.append("Ignored min_context: not a number (a whole number of tokens, e.g. 128000).")
        min_context = 0
    if min_context < 0:
        problems.append("Ignored min_context: below 0 (a whole number of tokens, e.g. 128000).")
        min_context = 0
    max_price = None
    raw_price = str(params.get("max_price") or "").strip().lstrip("$")
    if raw_price:
        try:
            max_price = Decimal(raw_price)
        except InvalidOperation:
            max_price = None
        if max_price is None or not max_price.is_finite() or not 0 <= max_price <= MAX_PRICE_USD:
            problems.append(
                f"The maximum price is dollars per 1M tokens, up to {MAX_PRICE_USD:,}; that filter is left out."
            )
            max_price = None
        else:
            max_price = max_price.quantize(PRICE_STEP)
    sort = str(params.get("sort") or "")
    return CatalogQuery(
        text=str(params.get("q") or "").strip()[:MAX_QUERY_CHARS],
        capabilities=tuple(sorted(capabilities, key=CAPABILITIES.index)),
        modality=str(params.get("modality") or "").strip().lower()[:40],
        free=_flag(params, "free"),
        available=_flag(params, "available"),
        provider=str(params.get("provider") or "").strip()[:100],
        min_context=min_context,
        max_price=max_price,
        sort=sort if sort in SORTS else "",
        problems=tuple(problems),
    )


def to_params(query: CatalogQuery) -> list[tuple[str, str]]:
    """The URL parameters that ``parse`` turns back into ``query``."""
    params: list[tuple[str, str]] = []
    if query.text:
        params.append(("q", query.text))
    params.extend(("capability", c) for c in query.capabilities)
    if query.modality:
        params.append(("modality", query.modality))
    if query.free:
        params.append(("free", "1"))
    if query.available:
        params.append(("available", "1"))
    if query.provider:
        params.append(("provider", query.provider))
    if query.min_context:
        params.append(("min_context", str(query.min_context)))
    if query.max_price is not None:
        params.append(("max_price", format(query.max_price.normalize(), "f")))
    if query.sort:
        params.append(("sort", query.sort))
    return params


# --------------------------------------------------------------------------- what a model offers


def has_capability(model: ModelInfo, capability: str) -> bool:
    if capability == "embeddings":
        return model.is_embedding
    return capability in model.capabilities


def capabilities_of(model: ModelInfo) -> list[str]:
    return [c for c in CAPABILITIES if has_capability(model, c)]


def provider_ids(model: ModelInfo) -> list[str]:
    seen: list[str] = []
    for route in model.routes:
        if route.provider.id not in seen:
            seen.append(route.provider.id)
    return seen


def is_available(model: ModelInfo) -> bool:
    """Some route's provider has its key configured (local providers need none)."""
    return any(route.provider.api_key() is not None for route in model.routes)


def missing_keys(model: ModelInfo) -> list[str]:
    """The environment variables that would make this model's routes answer."""
    names: list[str] = []
    for route in model.routes:
        env = route.provider.api_key_env
        if env and route.provider.api_key() is None and env not in names:
            names.append(env)
    return names


def _price_limit(usd_per_million: Decimal) -> int:
    return int(usd_per_million * money.MICRO_PER_USD)


def matches(model: ModelInfo, query: CatalogQuery, down: Collection[str] = ()) -> bool:
    """Whether ``model`` passes the filters; ``down``: the ids of models that are
    configured but cannot be served right now (every route's breaker open)."""
    if query.text:
        needle = query.text.lower()
        haystack = " ".join((model.id, model.name, model.description, *provider_ids(model))).lower()
        if not all(word in haystack for word in needle.split()):
            return False
    if any(not has_capability(model, c) for c in query.capabilities):
        return False
    if query.modality and query.modality not in model.input_modalities:
        return False
    if query.free and not model.is_free:
        return False
    if query.provider and query.provider not in provider_ids(model):
        return False
    if query.min_context and model.context_length < query.min_context:
        return False
    if query.max_price is not None:
        limit = _price_limit(query.max_price)
        if model.price_input > limit or model.price_output > limit:
            return False
    if query.available and (not is_available(model) or model.id in down):
        return False
    return True


def _sort_key(sort: str):
    if sort == "name":
        return lambda m: (m.name.lower(), m.id)
    if sort == "price":
        return lambda m: (m.price_input + m.price_output, m.price_input, m.name.lower())
    if sort == "price_desc":
        return lambda m: (-(m.price_input + m.price_output), -m.price_input, m.name.lower())
    if sort == "context":
        return lambda m: (-m.context_length, m.name.lower())
    return None


def available_first(models: Iterable[ModelInfo], down: Collection[str] = ()) -> list[ModelInfo]:
    """``models`` with those served right now first, then those whose routes are all
    failing (``down``), then those that need a provider key; the catalog's order within each."""
    return sorted(models, key=lambda m: 2 if not is_available(m) else 1 if m.id in down else 0)


def apply(models: Iterable[ModelInfo], query: CatalogQuery, down: Collection[str] = ()) -> list[ModelInfo]:
    """The models that match ``query``, in its order (unsorted: ``available_first``)."""
    found = [m for m in models if matches(m, query, down)]
    key = _sort_key(query.sort)
    return sorted(found, key=key) if key else available_first(found, down)


@dataclass(frozen=True)
class Facets:
    """The choices the filter form offers for a catalog."""

    providers: tuple[str, ...]
    modalities: tuple[str, ...]


def facets(models: Iterable[ModelInfo]) -> Facets:
    providers: list[str] = []
    modalities: list[str] = []
    for model in models:
        for pid in provider_ids(model):
            if pid not in providers:
                providers.append(pid)
        for modality in model.input_modalities:
            if modality not in modalities:
                modalities.append(modality)
    return Facets(tuple(sorted(providers)), tuple(sorted(modalities)))


def without(query: CatalogQuery, **fields) -> CatalogQuery:
    """The query with some fields reset (for 'remove this filter' links)."""
    return replace(query, **fields)
