"""The HTTP API. Every route is served under each prefix below, so both docs
pages' base URLs work, and so do SDKs that append their own ``/v1`` (the
Anthropic SDK with base URL ``…/api/v1`` posts to ``/api/v1/v1/messages``)."""

from flask import Flask

PREFIXES = ("/v1", "/api/v1", "/api/v1/v1", "/v1/v1")


def init_app(app: Flask) -> None:
    from lumyx.api import (  # noqa: F401  (routes register on import)
        agent_views,
        anthropic_views,
        catalog_views,
        openai_views,
        openapi_views,
        persona_views,
        plan_limits,
        usage_views,
    )
    from lumyx.api.blueprint import api

    for i, prefix in enumerate(PREFIXES):
        app.register_blueprint(api, url_prefix=prefix, name="api" if i == 0 else f"api{i}")
