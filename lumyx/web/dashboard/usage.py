"""Usage: charts of the last 30 days and by model, and the recent requests with
filters and HTMX pagination, all from lumyx.usage.report (the Usage API's report);
one request's detail from lumyx.usage.generation (``GET /generation``'s fields)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, request, url_for
from flask_login import current_user, login_required

import lumyx.web.dashboard.figures as figures
from lumyx import runtime
from lumyx.usage import generation as generations
from lumyx.usage import report as usage_service
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.render import page

ACTIVITY_PAGE_SIZE = 20
FILTERS = ("model", "start_date", "end_date")


def _filters(args: dict, page: str) -> tuple[usage_service.Filters, list[str]]:
    """The filters of the page's parameters, leaving out (from ``args`` too) each bad one,
    and what was wrong with each."""
    query, errors = {**args, "page": page}, []
    while True:
        try:
            return usage_service.parse_filters(
                {**query, "limit": str(ACTIVITY_PAGE_SIZE)}, current_user.timezone
            ), errors
        except usage_service.UsageQueryError as exc:
            errors.append(str(exc))
            query.pop(exc.param)
            args.pop(exc.param, None)


@bp.get("/usage")
@login_required
def usage():
    args = {name: (request.args.get(name) or "").strip() for name in FILTERS}
    args = {name: value for name, value in args.items() if value}
    filters, errors = _filters(args, request.args.get("page") or "1")
    error = " ".join(errors) or None
    report = usage_service.report(current_user.id, filters, runtime.get().free_daily_limit)

    def page_url(number: int) -> str:
        return url_for(".usage", **args, page=number)

    catalog = runtime.get().catalog.current()
    models = sorted(set(catalog.models) | {m["model_id"] for m in report["by_model"]})
    return page(
        "dashboard/usage.html",
        "dashboard/partials/_activity.html",
        private=True,
        report=report,
        charts=figures.charts(report),
        figures=figures,
        args=args,
        error=error,
        models=models,
        page_url=page_url,
        filter_query=urlencode(args),
    )


@bp.get("/usage/requests/<request_id>")
@login_required
def usage_request(request_id: str):
    """One request of the account as ``GET /generation`` tells it (the page, or its
    detail alone for HTMX); 404 for another account's or a forgotten one."""
    found = generations.generation(current_user.id, request_id[:100], request_id[:100])
    if found is None:
        abort(404, description="This account has no such request, or its detail is no longer kept.")
    return page(
        "dashboard/usage_request.html",
        "dashboard/partials/_request_detail.html",
        private=True,
        generation=found,
        figures=figures,
        timezone=current_user.timezone,
    )
