"""The model catalog: every model with live filters (HTMX), and a page per model."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request

from lumyx import public_url, runtime
from lumyx.catalog import filters as catalog_filters
from lumyx.catalog import samples
from lumyx.usage import health as model_health
from lumyx.usage import live
from lumyx.web.render import page

bp = Blueprint("catalog", __name__, url_prefix="/models")


@bp.get("")
def index():
    catalog = runtime.get().catalog.current()
    everything = list(catalog.models.values())
    query = catalog_filters.parse(request.args)
    statuses = live.statuses(everything)
    down = {model_id for model_id, status in statuses.items() if status == live.DOWN}
    found = catalog_filters.apply(everything, query, down)
    rows = [(m, catalog_filters.capabilities_of(m), catalog_filters.provider_ids(m), statuses[m.id]) for m in found]
    params = catalog_filters.to_params(query)
    return page(
        "catalog/index.html",
        "catalog/partials/_results.html",
        query=query,
        rows=rows,
        total=len(everything),
        facets=catalog_filters.facets(everything),
        capabilities=catalog_filters.CAPABILITY_LABELS,
        sorts=catalog_filters.SORTS,
        share_url=public_url.url(request.path) + ("?" + urlencode(params) if params else ""),
    )


@bp.get("/<path:model_id>")
def model(model_id: str):
    catalog = runtime.get().catalog.current()
    info = catalog.get(model_id)
    if info is None:
        abort(404, description=f"There is no model {model_id!r} in this catalog.")
    origin = public_url.base_url()
    kind = "embed" if info.is_embedding else "chat"
    examples = [
        samples.fill(samples.registry()[f"model-{kind}-{lang}"], origin=origin, catalog=catalog, model=info.id)
        for lang in ("curl", "python")
    ]
    available = catalog_filters.is_available(info)
    status = live.status(info) if available else live.NOT_CONFIGURED
    return render_template(
        "catalog/model.html",
        model=info,
        capabilities=catalog_filters.capabilities_of(info),
        available=available,
        down=status == live.DOWN,
        missing=catalog_filters.missing_keys(info),
        providers=catalog_filters.provider_ids(info),
        health=model_health.of(info.id, keyed=available, free=info.is_free),
        examples=examples,
    )
