"""Lumyx: a self-hostable LLM API gateway and developer portal."""

from __future__ import annotations

import logging

from flask import Flask

from lumyx import config, errors, log_redaction


class Lumyx(Flask):
    """Flask, remembering which views and hooks need wrapping for async (Flask
    otherwise inspects each of them again on every request)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict = {}

    def ensure_sync(self, func):
        try:
            return self._synchronous[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._synchronous) < 10_000:  # views and hooks are few; anything else is not kept
                self._synchronous[func] = sync
            return sync


def create_app(overrides: dict | None = None) -> Flask:
    app = Lumyx(__name__, template_folder="../templates", static_folder="../static", instance_path=str(config.INSTANCE))
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.from_mapping(overrides)
    app.json.sort_keys = False
    _logging()

    from lumyx import api, cli, errors, runtime, web
    from lumyx.db import db, migrate, models  # noqa: F401  (the models register with the metadata)
    from lumyx.limits import plans as rate_limits
    from lumyx.web import extensions

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    errors.register(app)
    runtime.init_app(app)
    api.init_app(app)
    rate_limits.configure(app)
    extensions.limiter.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    _app_hooks_for_web_pages(app)
    return app


def _app_hooks_for_web_pages(app: Flask) -> None:
    """The app-wide request hooks are the web pages' (CSRF, the remember-me cookie,
    Flask-Limiter's form limits, security headers); API requests pass them by.
    The API's own hooks (its key, its plan limits) are its blueprint's."""

    def unless_api(hook):
        def hook_for_web_pages(*args):
            if errors.is_api_request():
                return args[0] if args else None  # after_request's response as it was
            return hook(*args)

        return hook_for_web_pages

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [unless_api(hook) for hook in hooks.get(None, [])]


def _logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"))
    log_redaction.install(handler)
    for other in logging.getLogger("gunicorn.error").handlers + logging.getLogger().handlers:
        log_redaction.install(other)
    # flask-limiter says when its counter store goes away and comes back.
    for name in ("lumyx", "flask-limiter"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
