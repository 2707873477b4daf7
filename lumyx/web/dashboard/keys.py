"""API keys: create (shown once; optionally with a spending limit, a model
allowlist and an expiry), list by prefix, last use, limits and what each
spent, revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from lumyx import runtime
from lumyx.accounts import keys as key_service
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.forms import ActionForm, NewKeyForm
from lumyx.web.render import private, wants_partial


def _page(form: NewKeyForm, new_key: str | None = None, new_name: str | None = None, status: int = 200):
    return private(
        "dashboard/keys.html",
        form=form,
        action=ActionForm(),
        new_key=new_key,
        new_name=new_name,
        keys=key_service.list_keys(current_user.id),
    ), status


@bp.get("/keys")
@login_required
def keys():
    return _page(NewKeyForm())


@bp.post("/keys")
@login_required
def create_key():
    form = NewKeyForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        limits = key_service.KeyLimits.parse(
            form.limit.data, form.models.data, form.expires_days.data, known_models=key_service.catalog_model_ids()
        )
    except key_service.KeyLimitError as exc:
        message = str(exc)
        form[exc.field].errors = [message[0].upper() + message[1:] + "."]
        return _page(form, status=400)
    row, full = key_service.create_key(current_user, form.name.data or "", limits)
    # No redirect: the key is shown on this response only, never stored anywhere.
    return _page(NewKeyForm(formdata=None), new_key=full, new_name=row.name)


@bp.post("/keys/<int:key_id>/revoke")
@login_required
def revoke_key(key_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    if not key_service.revoke_key(current_user.id, key_id):
        abort(404)
    # This worker forgets the key at once; other workers within LUMYX_AUTH_CACHE_SECONDS.
    runtime.get().keys.clear()
    if wants_partial():
        row = next(k for k in key_service.list_keys(current_user.id) if k.id == key_id)
        return private("dashboard/partials/_key_row.html", key=row, action=ActionForm())
    flash("The key is revoked. Requests with it are refused within a few seconds.", "success")
    return redirect(url_for(".keys"))
