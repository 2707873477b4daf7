"""Personas: saved presets of the key's account (lumyx.agents.personas)."""

from __future__ import annotations

import orjson
from flask import Response, request

from lumyx import runtime
from lumyx.agents import personas
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api, json_body


def _json(payload, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")


@api.get("/personas")
def list_personas():
    key = require_key()
    return _json(personas.listing(key.user_id, request.args))


@api.post("/personas")
def create_persona():
    key = require_key()
    row = personas.create(key.user_id, json_body(), runtime.get().catalog.current())
    return _json(personas.to_api(row), 201)


@api.get("/personas/<slug>")
def get_persona(slug: str):
    key = require_key()
    return _json(personas.to_api(personas.get(key.user_id, slug)))


@api.patch("/personas/<slug>")
def update_persona(slug: str):
    key = require_key()
    row = personas.update(key.user_id, slug, json_body(), runtime.get().catalog.current())
    return _json(personas.to_api(row))


@api.delete("/personas/<slug>")
def delete_persona(slug: str):
    key = require_key()
    personas.delete(key.user_id, slug)
    return _json({"id": slug, "object": "persona.deleted", "deleted": True})
