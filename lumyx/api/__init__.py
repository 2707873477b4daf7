"""The HTTP API: views only, on the blueprints of lumyx.api.blueprints, which
own the API's key check, plan limits and JSON error answers.

Every route is served under each prefix below, so both docs pages' base URLs
work, and so do SDKs that append their own ``/v1`` (the Anthropic SDK with base
URL ``…/api/v1`` posts to ``/api/v1/v1/messages``). Everything under ``/v1``
and ``/api`` is the API's: a URL there that no route matches answers JSON.

May import the features (gateway, billing, usage, accounts, catalog, agents,
limits), the layers below them and lumyx.runtime; never lumyx.web.
"""

from flask import Flask

PREFIXES = ("/v1", "/api/v1", "/api/v1/v1", "/v1/v1")
# The URL spaces that are the API's: the prefixes above are all inside them.
SPACES = ("/v1", "/api")


def init_app(app: Flask) -> None:
    from lumyx.api import (  # noqa: F401  (routes register on import)
        agent_views,
        anthropic_views,
        catalog_views,
        openai_views,
        openapi_views,
        persona_views,
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
