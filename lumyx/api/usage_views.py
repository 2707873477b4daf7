"""GET usage: the account's usage and costs (the key's account, all its keys);
GET key: the calling key, its spending and limits (OpenRouter's shape)."""

from __future__ import annotations

import orjson
from flask import Response, request

from lumyx import runtime
from lumyx.accounts import keys
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api
from lumyx.errors import bad_request
from lumyx.limits import plans
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


@api.get("/key")
def get_key():
    key = require_key()
    spec = runtime.get().plan_limits.limits.get(key.plan)
    rate_limit = {"requests": plans.parse(spec)[0] if spec else -1, "interval": "1m"}
    report = keys.key_report(key.key_id, is_free_tier=key.plan == "free", rate_limit=rate_limit)
    return Response(orjson.dumps(report), mimetype="application/json")
