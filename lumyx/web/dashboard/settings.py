"""Account settings: the timezone (it sets when the free-model daily cap resets),
the password (changing it ends the other sessions), the e-mail address, ending
the account's web sessions in every other browser, and closing the account."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required, login_user, logout_user

from lumyx import runtime
from lumyx.accounts import owner_changes
from lumyx.accounts import sessions as web_sessions
from lumyx.accounts import users as accounts
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.forms import ActionForm, ChangeEmailForm, ChangePasswordForm, CloseAccountForm, SettingsForm
from lumyx.web.render import private


def _sentence(error: accounts.AccountError) -> str:
    message = str(error)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _page(timezone=None, password=None, email=None, status: int = 200):
    """The settings page with its forms; a form given is shown as submitted (with its errors)."""
    timezone = timezone or SettingsForm(formdata=None, timezone=current_user.timezone)
    timezone.timezone.choices = [(name, name.replace("_", " ")) for name in accounts.timezones()]
    return private(
        "dashboard/settings.html",
        form=timezone,
        password_form=password or ChangePasswordForm(formdata=None),
        email_form=email or ChangeEmailForm(formdata=None),
        action=ActionForm(),
    ), status


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
    return _page(timezone=form, status=200 if not form.errors else 400)


@bp.post("/settings/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            owner_changes.change_password(user, form.current.data, form.new.data)
        except accounts.AccountError as exc:
            form.current.errors.append(_sentence(exc))
        else:
            login_user(user)  # this browser stays logged in, with the new session generation
            flash("Password changed. Every other browser and device is logged out.", "success")
            return redirect(url_for(".settings"), code=303)
    return _page(password=form, status=400)


@bp.post("/settings/email")
@login_required
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            owner_changes.change_email(current_user, form.password.data, form.email.data)
        except accounts.AccountError as exc:
            (form.password if "password" in str(exc) else form.email).errors.append(_sentence(exc))
        else:
            flash(f"Email changed. Log in with {current_user.email} from now on.", "success")
            return redirect(url_for(".settings"), code=303)
    return _page(email=form, status=400)


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


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
def close_account():
    """The confirmation page (what is lost, the balance left), then the account closed."""
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            owner_changes.close(current_user._get_current_object(), form.password.data)
        except accounts.AccountError as exc:
            form.password.errors.append(_sentence(exc))
        else:
            runtime.get().keys.clear()  # this worker at once; the others within LUMYX_AUTH_CACHE_SECONDS
            logout_user()
            flash("Your account is deleted. Its API keys no longer work.", "info")
            return redirect(url_for("pages.home"), code=303)
    return private(
        "dashboard/delete_account.html", form=form, live_keys=owner_changes.live_key_count(current_user)
    ), 400 if form.errors else 200
