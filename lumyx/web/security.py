"""What keeps the web pages safe: the session cookie, who is logged in, the
Content-Security-Policy (no inline script, ever), throttling of log-in and
registration (Flask-Limiter, on the counter store of lumyx.limits.plans),
the admin gate, and the request hooks every web blueprint runs (web_side)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, abort, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from lumyx.accounts import sessions as web_sessions
from lumyx.db.models import User
from lumyx.public_url import is_loopback
from lumyx.web.extensions import login_manager, web_hooks
from lumyx.web.origin import check_same_origin
from lumyx.web.render import answer_errors

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
PRIVATE = "private, no-store"
LOGIN_LIMIT = "10 per minute; 50 per hour"
REGISTER_LIMIT = "5 per minute; 30 per hour"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure unless this is plain HTTP on
    a loopback address (LUMYX_COOKIE_SECURE=auto, the default); "true" or
    "false" decide it outright. A request reads its cookie only when something
    uses the session (lumyx.LumyxRequestContext): API requests never do."""

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config.get("LUMYX_COOKIE_SECURE", "auto")
        if setting in ("1", "true", "yes", "on"):
            return True
        if setting in ("0", "false", "no", "off"):
            return False
        return request.is_secure or not is_loopback(request.host)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The account of a session that has not ended (lumyx.accounts.sessions)."""
    return web_sessions.load(session_id)


def admin_required(view):
    """Only admins; anyone else gets 403 (anonymous visitors are sent to log in)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html" and current_user.is_authenticated:
        # A page rendered for someone logged in (if only their name in the menu) is theirs alone.
        headers["Cache-Control"] = PRIVATE
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to see that page."
    login_manager.login_message_category = "info"


def web_side(
    blueprint: Blueprint, *, checks: bool = True, headers: bool = True, errors: bool = True, forms: bool = True
) -> Blueprint:
    """Gives a web blueprint the web side's request hooks and error answers: the
    hooks of its extensions (lumyx.web.extensions: the CSRF check and the form
    throttles before the view, unless ``checks`` is False; the throttles' headers
    and the remember-me cookie after it), the pages' security headers unless
    ``headers`` is False, and the HTML error page unless ``errors`` is False.
    With ``checks`` and ``forms``, a change sent from another site is refused
    first (lumyx.web.origin)."""
    if errors:
        answer_errors(blueprint)
    if checks and forms:
        blueprint.before_request(check_same_origin)
    if checks:
        blueprint.before_request(_extensions_before)
    blueprint.after_request(_extensions_after)
    blueprint.teardown_request(_extensions_teardown)
    if headers:
        blueprint.after_request(security_headers)  # (runs first: Flask runs after-hooks last-added first)
    return blueprint


def _extensions_before():
    for hook in web_hooks().before:
        answer = hook()
        if answer is not None:
            return answer
    return None


def _extensions_after(response):
    for hook in reversed(web_hooks().after):
        response = hook(response)
    return response


def _extensions_teardown(exc: BaseException | None) -> None:
    for hook in reversed(web_hooks().teardown):
        hook(exc)
