"""Sign-up, log-in and log-out (Flask-Login). Both forms are throttled per
client address (the real client's behind LUMYX_TRUSTED_PROXIES), and failed
log-ins are counted per account too (lumyx.limits.failed_logins). A refusal is
the form again, with the e-mail typed and a message saying when to try again,
answered 429 with Retry-After."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_login import current_user, login_required, login_user, logout_user

from lumyx.accounts import sessions as web_sessions
from lumyx.accounts import users as accounts
from lumyx.limits.failed_logins import FailedLogins
from lumyx.web.extensions import limiter
from lumyx.web.forms import LoginForm, RegisterForm
from lumyx.web.render import error_page
from lumyx.web.security import LOGIN_LIMIT, REGISTER_LIMIT

bp = Blueprint("auth", __name__)


def _form_page(template: str, form, refusal: str | None = None, wait: int = 0):
    """The form's page: 429 with Retry-After when refused, 400 when the form has errors."""
    response = make_response(render_template(template, form=form, refusal=refusal))
    if refusal:
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
    elif form.errors:
        response.status_code = 400
    return response


def _address_refusal(template: str, form_class, attempts: str):
    """What a form answers past its per-address limit (Flask-Limiter's on_breach)."""

    def refuse(limit: RequestLimit):
        wait = max(1, math.ceil(limit.window.reset_time - time.time()))
        return _form_page(
            template, form_class(), f"Too many {attempts} from your address; try again in {wait} s.", wait
        )

    return refuse


@bp.errorhandler(RateLimitExceeded)
def _throttled(err: RateLimitExceeded):
    if err.response is not None:
        return err.response
    return error_page(429, err.name, err.description), 429


def _failed_logins() -> FailedLogins:
    return FailedLogins(limiter.storage, current_app.config["RATELIMIT_KEY_PREFIX"])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//' trick)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.usage")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], on_breach=_address_refusal("auth/login.html", LoginForm, "log-ins"))
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        failures = _failed_logins()
        wait = failures.locked_for(form.email.data)
        if wait:
            refusal = f"Too many failed log-ins for this account; try again in {wait} s."
            return _form_page("auth/login.html", form, refusal, wait)
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            failures.succeeded(form.email.data)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        failures.failed(form.email.data)
        form.password.errors.append("Wrong email or password.")
    return _form_page("auth/login.html", form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(
    REGISTER_LIMIT, methods=["POST"], on_breach=_address_refusal("auth/register.html", RegisterForm, "sign-ups")
)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.usage"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.email.data, form.password.data, timezone=form.timezone.data)
        except accounts.AccountError as exc:
            message = str(exc)
            if "already exists" in message:
                message = "An account with this email exists already. Log in instead."
            form.email.errors.append(message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        else:
            login_user(user)
            flash("Welcome to Lumyx. Create an API key to start.", "success")
            return redirect(url_for("dashboard.keys"))
    return _form_page("auth/register.html", form)


@bp.post("/logout")
@login_required
def logout():
    """Ends the session: this cookie, every copy of it, and the account's other sessions."""
    web_sessions.end_all(current_user)
    logout_user()
    flash("You are logged out, in this browser and everywhere else.", "info")
    return redirect(url_for("pages.home"))
