"""Account settings: the timezone (it sets when the free-model daily cap resets)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user, login_required

from lumyx.accounts import users as accounts
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.forms import SettingsForm
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
    return private("dashboard/settings.html", form=form), 200 if not form.errors else 400
