"""GET /openapi.json: the OpenAPI 3.1 description of the API (lumyx.wire.openapi).

Needs no key. Served under each API prefix (``/v1/openapi.json``,
``/api/v1/openapi.json``…); the site serves the same at its root (lumyx.web).
"""

from __future__ import annotations

from flask import Response

from lumyx.api.blueprints import api
from lumyx.wire import openapi


@api.get("/openapi.json")
def openapi_json() -> Response:
    return Response(openapi.spec_json(), mimetype="application/json", headers={"Cache-Control": openapi.CACHE_CONTROL})
