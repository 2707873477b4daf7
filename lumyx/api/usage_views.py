"""GET usage: the account's usage and costs (the key's account, all its keys); GET
generation: one of its requests by the id of its answer (lumyx.usage.generation);
GET key: the calling key, its spending and limits (OpenRouter's shape)."""

from __future__ import annotations

import orjson
from flask import Response, request

from lumyx import runtime
from lumyx.accounts import keys
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api
from lumyx.errors import ApiError, bad_request
from lumyx.gateway.answers import request_id_of
from lumyx.limits import plans
from lumyx.usage import generation
from lumyx.usage import report as usage


@api.get("/usage")
def get_usage():
    key = require_key()
    try:
        filters = usage.parse_filters(request.args, key.timezone)
    except usage.UsageQueryError as exc:
        raise bad_request(str(exc), exc.param) from None
    report = usage.report(key.user_id, filters, runtime.get().free_daily_limit)
    return Response(orjson.dumps(report), mimetype="application/json")


@api.get("/generation")
def get_generation():
    """One request of the key's account by the id of its answer (or its x-request-id)."""
    key = require_key()
    asked = request.args.get("id")
    if not asked:
        raise bad_request("Pass the id of an answer as the 'id' query parameter: /generation?id=<id>.", "id")
    request_id = request_id_of(asked)
    found = generation.generation(key.user_id, request_id, asked) if request_id else None
    if found is None:
        raise ApiError(
            404,
            "not_found",
            f"Generation '{asked[:200]}' not found. A request is recorded once its answer has ended; "
            "retry in a moment if it just did.",
        )
    return Response(orjson.dumps({"data": found}), mimetype="application/json")


@api.get("/key")
def get_key():
    key = require_key()
    spec = runtime.get().plan_limits.limits.get(key.plan)
    rate_limit = {"requests": plans.parse(spec)[0] if spec else -1, "interval": "1m"}
    report = keys.key_report(key.key_id, is_free_tier=key.plan == "free", rate_limit=rate_limit)
    return Response(orjson.dumps(report), mimetype="application/json")
