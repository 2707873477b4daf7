"""Lumyx: a self-hostable LLM API gateway and developer portal."""
from __future__ import annotations

import logging
from functools import partial

from flask import Flask

from . import config, log_redaction


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(config.INSTANCE))
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.from_mapping(overrides)
    app.json.sort_keys = False
    _logging()

    from . import api, cli, errors, extensions, models, runtime, web  # noqa: F401
    from .services import rate_limits

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(config.ROOT / "migrations"))
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    errors.register(app)
    runtime.init_app(app)
    api.init_app(app)
    rate_limits.configure(app)
    extensions.limiter.init_app(app)
    _limiter_skips_api(app)
    web.init_app(app)
    cli.init_app(app)
    for name in list(app.blueprints):
        if name.startswith("api"):
            extensions.csrf.exempt(app.blueprints[name])
    return app


def _limiter_skips_api(app: Flask) -> None:
    """Flask-Limiter's app-wide hooks (its check, its headers, its clean-up) pass
    API requests by: those count against their plan in rate_limits.PlanLimiter,
    and web forms' limits are checked by their own decorators."""
    def unless_api(hook):
        def hook_for_web_pages(*args):
            if errors.is_api_request():
                return args[0] if args else None   # after_request's response as it was
            return hook(*args)
        return hook_for_web_pages

    def owner(hook):
        return hook.args[0] if isinstance(hook, partial) and hook.args else getattr(hook, "__self__", None)

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        funcs = hooks.get(None, [])
        funcs[:] = [unless_api(hook) if owner(hook) is extensions.limiter else hook for hook in funcs]


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
