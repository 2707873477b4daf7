"""GET usage: the account's usage and costs (the key's account, all its keys)."""

from __future__ import annotations

import orjson
from flask import Response, request

from lumyx import runtime
from lumyx.api.auth import require_key
from lumyx.api.blueprints import api
from lumyx.errors import bad_request
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
