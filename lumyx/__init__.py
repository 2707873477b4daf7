"""Lumyx: a self-hostable LLM API gateway and developer portal."""
from __future__ import annotations

import logging

from flask import Flask

from . import config


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(config.INSTANCE))
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.from_mapping(overrides)
    app.json.sort_keys = False
    _logging()

    from . import api, cli, errors, extensions, models, runtime, web  # noqa: F401

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(config.ROOT / "migrations"))
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    errors.register(app)
    runtime.init_app(app)
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    for name in list(app.blueprints):
        if name.startswith("api"):
            extensions.csrf.exempt(app.blueprints[name])
    return app


def _logging() -> None:
    root = logging.getLogger("lumyx")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
