"""Sign-up, log-in and log-out (Flask-Login), throttled per client address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from lumyx.accounts import sessions as web_sessions
from lumyx.accounts import users as accounts
from lumyx.web.extensions import limiter
from lumyx.web.forms import LoginForm, RegisterForm
from lumyx.web.security import LOGIN_LIMIT, REGISTER_LIMIT

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//' trick)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.usage")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.usage"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.email.data, form.password.data)
        except accounts.AccountError as exc:
            message = str(exc)
            if "already exists" in message:
                message = "An account with this email exists already. Log in instead."
            form.email.errors.append(message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        else:
            login_user(user)
            flash("Welcome to Lumyx. Create an API key to start.", "success")
            return redirect(url_for("dashboard.keys"))
    return render_template("auth/register.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
@login_required
def logout():
    """Ends the session: this cookie, every copy of it, and the account's other sessions."""
    web_sessions.end_all(current_user)
    logout_user()
    flash("You are logged out, in this browser and everywhere else.", "info")
    return redirect(url_for("pages.home"))
