"""The web side's Flask extensions, created unbound and set up for each app by
init_app(): log-ins (Flask-Login), CSRF tokens (Flask-WTF) and the form
throttles (Flask-Limiter).

Each extension's own init_app adds request hooks to the whole app: the CSRF
check, the throttles' bookkeeping and headers, the refresh of the remember-me
cookie. On this site they are the web pages' hooks, never the API's: the
extensions are set up on a view of the app (``_WebSideOfApp``) that hands every
request hook they add to a ``WebHooks`` collection of the app, which the web
blueprints run (lumyx.web.security.web_side). Everything else they set up
(settings, template globals, the login manager) is the app's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from lumyx.limits import plans as rate_limits

login_manager = LoginManager()
csrf = CSRFProtect()

# Flask-Limiter throttles web forms with @limiter.limit(...), counted per client
# address on the counter store shared by all workers (lumyx.limits.storage).
# API requests skip it: their plan limits are counted by lumyx.limits.plans.PlanLimiter.
limiter = Limiter(key_func=rate_limits.client_address)

WEB_HOOKS = "lumyx_web_hooks"


@dataclass
class WebHooks:
    """The request hooks the extensions added, in the order they added them."""

    before: list[Callable] = field(default_factory=list)
    after: list[Callable] = field(default_factory=list)
    teardown: list[Callable] = field(default_factory=list)


class _WebSideOfApp:
    """The app as an extension's init_app sees it: the app itself, except that the
    request hooks it adds go to ``hooks``."""

    def __init__(self, app: Flask, hooks: WebHooks) -> None:
        object.__setattr__(self, "_app", app)
        object.__setattr__(self, "_hooks", hooks)

    def __getattr__(self, name: str):
        return getattr(self._app, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._app, name, value)

    def before_request(self, hook: Callable) -> Callable:
        self._hooks.before.append(hook)
        return hook

    def after_request(self, hook: Callable) -> Callable:
        self._hooks.after.append(hook)
        return hook

    def teardown_request(self, hook: Callable) -> Callable:
        self._hooks.teardown.append(hook)
        return hook


def init_app(app: Flask) -> None:
    hooks = app.extensions[WEB_HOOKS] = WebHooks()
    web_side = _WebSideOfApp(app, hooks)
    login_manager.init_app(web_side)
    csrf.init_app(web_side)
    limiter.init_app(web_side)


def web_hooks() -> WebHooks:
    """The current app's web hooks."""
    return current_app.extensions[WEB_HOOKS]
