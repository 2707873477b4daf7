"""Stored responses of the Responses API (lumyx.responses.store): retrieve one,
delete one, list its input items. ``POST /responses`` is in openai_views."""

from __future__ import annotations

import orjson
from flask import Response, request

from lumyx.api.auth import require_key
from lumyx.api.blueprints import api
from lumyx.responses import store


def _json(payload) -> Response:
    return Response(orjson.dumps(payload), mimetype="application/json")


@api.get("/responses/<response_id>")
def retrieve_response(response_id: str):
    key = require_key()
    return _json(store.retrieve(key.user_id, response_id, request.args))


@api.delete("/responses/<response_id>")
def delete_response(response_id: str):
    key = require_key()
    return _json(store.delete(key.user_id, response_id))


@api.get("/responses/<response_id>/input_items")
def response_input_items(response_id: str):
    key = require_key()
    return _json(store.input_items(key.user_id, response_id, request.args))
