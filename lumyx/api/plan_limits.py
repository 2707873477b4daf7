"""Every API request is identified by its key before anything else runs, and
counted against its plan's rate limits (lumyx.limits.plans.PlanLimiter); the
response carries the X-RateLimit-* headers, and a 429 its Retry-After."""

from __future__ import annotations

from flask import g

from lumyx import runtime
from lumyx.api.auth import identify
from lumyx.api.blueprint import api
from lumyx.errors import ApiError


@api.before_request
def identify_and_count() -> None:
    identify()
    key = g.api_key
    if key is None:
        return
    verdict = g.rate_limit = runtime.get().plan_limits.hit(key.key_id, key.plan)
    if verdict is not None and verdict.exceeded:
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"Rate limit exceeded for this API key ({verdict.limit}); retry after the time in the Retry-After header.",
        )


@api.after_request
def rate_limit_headers(response):
    verdict = g.get("rate_limit")
    if verdict is not None:
        response.headers.update(verdict.headers())
    return response
