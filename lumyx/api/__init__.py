"""The HTTP API: views only, on the blueprints of lumyx.api.blueprints, which
own the API's key check, plan limits and JSON error answers.

Every route is served under each prefix below, so both docs pages' base URLs
work, and so do SDKs that append their own ``/v1`` (the Anthropic SDK with base
URL ``…/api/v1`` posts to ``/api/v1/v1/messages``). Everything under ``/v1``
and ``/api`` is the API's: a URL there that no route matches answers JSON.

May import the features (gateway, billing, usage, accounts, catalog, agents,
limits, responses), the layers below them and lumyx.runtime; never lumyx.web.
"""

PREFIXES = ("/v1", "/api/v1", "/api/v1/v1", "/v1/v1")
# The URL spaces that are the API's: the prefixes above are all inside them.
SPACES = ("/v1", "/api")
