"""Account settings: the timezone (it sets when the free-model daily cap resets),
and ending the account's web sessions in every other browser."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required, login_user

from lumyx.accounts import sessions as web_sessions
from lumyx.accounts import users as accounts
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.forms import ActionForm, SettingsForm
from lumyx.web.render import private


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm(timezone=current_user.timezone)
    form.timezone.choices = [(name, name.replace("_", " ")) for name in accounts.timezones()]
    if form.validate_on_submit():
        try:
            accounts.set_timezone(current_user, form.timezone.data)
        except accounts.AccountError as exc:
            form.timezone.errors.append(str(exc))
        else:
            flash(f"Saved. Your free-model daily limit now resets at midnight {current_user.timezone}.", "success")
            return redirect(url_for(".settings"))
    return private("dashboard/settings.html", form=form, action=ActionForm()), 200 if not form.errors else 400


@bp.post("/settings/log-out-everywhere-else")
@login_required
def log_out_everywhere_else():
    """Ends every session of the account, then gives this browser a session of the new generation."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    web_sessions.end_all(user)
    login_user(user)
    flash("Every other browser and device is logged out; this one stays logged in.", "success")
    return redirect(url_for(".settings"), code=303)
