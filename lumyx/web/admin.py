"""Admin pages (``is_admin`` users only; others get 403): users with search, plan
changes and credit adjustments; providers, routes and models with their health."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from lumyx import runtime
from lumyx.accounts import admin as admin_users
from lumyx.accounts.ledger_history import recent_ledger
from lumyx.accounts.paging import page_number
from lumyx.catalog import filters as catalog_filters
from lumyx.db import db
from lumyx.db.models import User
from lumyx.usage import health as model_health
from lumyx.usage import live
from lumyx.web.forms import AdjustCreditsForm, PlanForm
from lumyx.web.render import page, private
from lumyx.web.security import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@admin_required
def index():
    return redirect(url_for(".users"))


@bp.get("/users")
@admin_required
def users():
    text = (request.args.get("q") or "").strip()[:320]
    found = admin_users.search(text, page_number(request.args.get("page")))

    def page_url(number: int) -> str:
        return url_for(".users", q=text or None, page=number)

    return page("admin/users.html", "admin/partials/_users.html", private=True, found=found, q=text, page_url=page_url)


def _user_page(
    user: User, plan_form: PlanForm | None = None, credit_form: AdjustCreditsForm | None = None, status: int = 200
):
    response = private(
        "admin/user.html",
        user=user,
        plan_form=plan_form or PlanForm(plan=user.plan),
        credit_form=credit_form or AdjustCreditsForm(formdata=None),
        ledger=recent_ledger(user.id),
    )
    response.status_code = status
    return response


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/plan")
@admin_required
def change_plan(user_id: int):
    user = _user_or_404(user_id)
    form = PlanForm()
    if not form.validate_on_submit():
        return _user_page(user, plan_form=form, status=400)
    admin_users.set_plan(user.id, form.plan.data)
    runtime.get().keys.clear()  # the plan is cached with the user's keys
    flash(f"{user.email} is now on the {form.plan.data} plan.", "success")
    return redirect(url_for(".user", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/credits")
@admin_required
def adjust_credits(user_id: int):
    user = _user_or_404(user_id)
    form = AdjustCreditsForm()
    if form.validate_on_submit():
        try:
            entry = admin_users.adjust_credits(user.id, form.amount.data.strip(), form.note.data, current_user.email)
        except admin_users.AdminError as exc:
            form.amount.errors.append(str(exc)[:1].upper() + str(exc)[1:] + ".")
        else:
            flash(f"Done: {user.email} now has {entry.balance_after / 1_000_000:,.2f} credits.", "success")
            return redirect(url_for(".user", user_id=user.id), code=303)
    return _user_page(db.session.get(User, user_id), credit_form=form, status=400)


@bp.get("/providers")
@admin_required
def providers():
    catalog = runtime.get().catalog.current()
    by_provider = model_health.recent_by_provider()
    provider_rows = []
    for info in sorted(catalog.providers.values(), key=lambda p: p.id):
        served = [m.id for m in catalog.models.values() if info.id in catalog_filters.provider_ids(m)]
        provider_rows.append((info, info.api_key() is not None, served, by_provider.get(info.id, model_health.EMPTY)))
    model_rows = []
    for m in catalog.models.values():
        available = catalog_filters.is_available(m)
        health = model_health.of(m.id, keyed=available, free=m.is_free)
        model_rows.append((m, available, catalog_filters.missing_keys(m), health))
    routes = live.routes_now(catalog.models.values())
    return private(
        "admin/providers.html",
        providers=provider_rows,
        models=model_rows,
        routes=routes,
        window_minutes=live.WINDOW_S // 60,
    )
