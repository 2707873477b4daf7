"""What the API says about itself: the model listing, health, and
GET /openapi.json, the OpenAPI 3.1 description of the API (lumyx.wire.openapi).

Health, with no key: ``GET /health`` (the catalog is loadable, so the database
answers), ``GET /health/live`` (the process answers; nothing else is asked) and
``GET /health/ready`` (200, or 503 with the reason while the worker drains
after its stop signal or while the database or Redis does not answer;
lumyx.server.draining, lumyx.db.readiness).

``openapi.json`` needs no key. Served under each API prefix (``/v1/openapi.json``,
``/api/v1/openapi.json``…); the site serves the same at its root (lumyx.web).
"""

from __future__ import annotations

import orjson
from flask import Response

from lumyx import runtime
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api
from lumyx.errors import ApiError
from lumyx.server import draining
from lumyx.wire import openapi


def _json(payload) -> Response:
    return Response(orjson.dumps(payload), mimetype="application/json")


@api.get("/models")
def list_models():
    require_key()
    return _json({"object": "list", "data": runtime.get().catalog.current().listing()})


@api.get("/models/<path:model_id>")
def get_model(model_id: str):
    require_key()
    model = runtime.get().catalog.current().get(model_id)
    if model is None:
        raise ApiError(404, "model_not_found", f"The model '{model_id}' does not exist or is not available.")
    return _json(model.api_object)


@api.get("/health")
def health():
    """Liveness and readiness: the catalog is loadable (so the database answers)."""
    try:
        models = len(runtime.get().catalog.current().models)
    except Exception:
        raise ApiError(503, "service_unavailable", "The database is not reachable.") from None
    return _json({"status": "ok", "models": models})


@api.get("/health/live")
def health_live():
    return _json({"status": "ok"})


@api.get("/health/ready")
def health_ready():
    if draining.active():
        reason = "draining"
    elif unreachable := runtime.get().store_pings.unreachable():
        reason = f"{unreachable}_unreachable"
    else:
        reason = None
    response = _json({"status": "not_ready", "reason": reason} if reason else {"status": "ready"})
    response.status_code = 503 if reason else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/openapi.json")
def openapi_json() -> Response:
    return Response(openapi.spec_json(), mimetype="application/json", headers={"Cache-Control": openapi.CACHE_CONTROL})
