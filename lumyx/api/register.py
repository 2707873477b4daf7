"""Puts the API on the app: its blueprints under each prefix of lumyx.api, and
the API's answer to URLs of its space that no route matches. The view modules
register their routes on the blueprints when imported here."""

from flask import Flask

from lumyx.api import PREFIXES, SPACES


def init_app(app: Flask) -> None:
    from lumyx.api import (  # noqa: F401  (routes register on import)
        agent_views,
        anthropic_views,
        catalog_views,
        openai_views,
        persona_views,
        response_views,
        usage_views,
    )
    from lumyx.api.blueprints import anthropic, api, unmatched_anthropic, unmatched_api

    for i, prefix in enumerate(PREFIXES):
        app.register_blueprint(api, url_prefix=prefix, name="api" if i == 0 else f"api{i}")
        app.register_blueprint(anthropic, url_prefix=prefix, name="anthropic" if i == 0 else f"anthropic{i}")
    app.register_blueprint(unmatched_api)
    app.register_blueprint(unmatched_anthropic)
    app.answer_unmatched(unmatched_api.name, *(rule for space in SPACES for rule in (space, space + "/<rest:rest>")))
    app.answer_unmatched(
        unmatched_anthropic.name,
        *(rule for prefix in PREFIXES for rule in (prefix + "/messages", prefix + "/messages/<rest:rest>")),
    )
