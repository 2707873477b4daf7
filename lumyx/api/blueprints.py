"""The API's blueprints, the hooks every API request passes, its error answers,
and reading a request's JSON body.

``api`` serves the OpenAI-format endpoints and the API's others (models, health,
usage, personas, agents, openapi.json); ``anthropic`` the Anthropic-format ones
(messages, messages/count_tokens). Before any of their views runs, the request
is identified by its key and counted against the key's plan limits
(lumyx.limits.plans.PlanLimiter); a request past them is refused with a 429
before it does anything (:func:`within_plan_limit`: the gateway's calls parse and
check their bodies while Redis counts). The response carries the X-RateLimit-*
headers, and a 429 its Retry-After, also said in the message as "try again in
N s" (Codex CLI waits that long before it retries).

Errors answer as JSON in the wire format of the blueprint that serves the
endpoint: OpenAI's shape on ``api``, Anthropic's on ``anthropic``. A URL under
the API's prefixes that no route matches, or a method its routes do not take,
is answered by ``unmatched_api`` (under ``…/messages``: ``unmatched_anthropic``)
in the same shape; no key is identified or counted for it, as no view runs.

Each request of a gateway endpoint (:data:`METERED`) is counted once in
lumyx.observability.metrics when it ends (:func:`meter_start`,
:func:`meter_end`): refused or answered, with the model and provider of its
call when it has one, a stream when its last event went out.
"""

from __future__ import annotations

import time

import orjson
from flask import Blueprint, Response, g, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from lumyx import errors, runtime
from lumyx.api.auth import identify
from lumyx.errors import DATABASE_DOWN, STATUS_CODES, ApiError, bad_request
from lumyx.observability import metrics

api = Blueprint("api", __name__)
anthropic = Blueprint("anthropic", __name__)
unmatched_api = Blueprint("unmatched_api", __name__)
unmatched_anthropic = Blueprint("unmatched_anthropic", __name__)


def _view() -> str:
    """The name of the view function serving this request."""
    return (request.endpoint or "").rpartition(".")[2]


def identify_and_count() -> None:
    identify()
    key = g.api_key
    if key is None:
        return
    g.rate_limit = runtime.get().plan_limits.count(key.key_id, key.plan)
    if _view() not in JUDGED_AT_THE_CALL:
        within_plan_limit()


def within_plan_limit() -> None:
    """Raises the 429 of a request counted past its plan's limit, the first time it is
    asked (the count's result is read then: on Redis, the request's parsing and checks
    ran while Redis counted). Before anything a refused request must not do: a view's
    first step, or, for the views of :data:`JUDGED_AT_THE_CALL`, the call's hold or
    upstream request (lumyx.api.respond); an error answered before then is the 429."""
    counting = g.get("rate_limit")
    if counting is None or counting.read:
        return
    verdict = counting.verdict()
    if verdict.exceeded:
        metrics.rate_limited(g.api_key.plan)
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"Rate limit exceeded for this API key ({verdict.limit}). Please try again in {verdict.retry_after}s.",
        )


def rate_limit_headers(response):
    counting = g.get("rate_limit")
    if counting is not None:
        response.headers.update(counting.verdict().headers())
    return response


# Views (by function name) that read only until they answer through lumyx.api.respond,
# which asks for the plan limit's verdict before the call does anything.
JUDGED_AT_THE_CALL = frozenset(
    {"chat_completions", "completions", "embeddings", "responses", "messages", "count_tokens"}
)

# The gateway's views (by function name) and the endpoint label of their requests.
METERED = {
    "chat_completions": "chat_completions",
    "completions": "completions",
    "embeddings": "embeddings",
    "messages": "messages",
    "count_tokens": "count_tokens",
    "responses": "responses",
    "agent_chat_completions": "agents",
}


def meter_start() -> None:
    endpoint = METERED.get(_view())
    if endpoint is not None:
        g.metered = (endpoint, time.perf_counter())
        metrics.request_started()


def meter_end(response: Response) -> Response:
    """Counts the request: now, or for a stream once its last event went out. The
    view leaves its call in ``g.call`` (or, with no call of its own, its model's id in
    ``g.model_id``)."""
    metered = g.pop("metered", None)
    if metered is None:
        return response
    endpoint, started = metered
    call = g.get("call")
    model = call.input.model.id if call is not None else g.get("model_id", "")

    def ended() -> None:
        outcome = call.outcome if call is not None else None
        status = outcome.status if outcome is not None and response.is_streamed else response.status_code
        first_ms = outcome.first_event_ms if outcome is not None else None
        metrics.request_ended(
            endpoint,
            call.input.model.id if call is not None else model,  # a fallback model that served is the call's
            outcome.route.provider.id if outcome is not None and outcome.route is not None else "",
            status,
            time.perf_counter() - started,
            None if first_ms is None else first_ms / 1000,
        )

    if response.is_streamed:
        response.call_on_close(ended)
    else:
        ended()
    return response


def http_error(err: HTTPException) -> ApiError:
    """An HTTP error (unknown URL, wrong method, body too large…) as the API tells it."""
    code = STATUS_CODES.get(err.code or 500, "invalid_request")
    message = {
        404: "Unknown endpoint: " + request.path,
        405: f"Method {request.method} is not allowed on {request.path}.",
        413: "Request body is too large.",
        429: f"Rate limit exceeded for this API key ({err.description}); retry after the time "
        "in the Retry-After header.",
    }.get(err.code, err.description or err.name)
    return ApiError(err.code or 500, code, message)


def database_unavailable(err: Exception) -> ApiError:
    errors.database_unavailable(err)
    return ApiError(
        503,
        "service_unavailable",
        "The service's database is not reachable; retry shortly.",
        headers={"retry-after": "5"},
    )


def unstorable_input(err: DataError) -> ApiError:
    errors.unstorable_input()
    return bad_request("A value in the request contains characters that cannot be stored (such as a NUL byte).")


def unexpected(err: Exception) -> ApiError:
    errors.unexpected()
    return ApiError(500, "internal_error", "Internal server error.")


def _over_plan_limit() -> ApiError | None:
    try:
        within_plan_limit()
    except ApiError as limited:
        return limited
    return None


def _answer_errors(blueprint: Blueprint, wire: str) -> None:
    """Every error of a request the blueprint serves answers JSON in the ``wire``
    format; of a request past its plan's limit, the 429 (:func:`within_plan_limit`)."""
    for kind, answer in (
        (ApiError, lambda err: err),
        (HTTPException, http_error),
        *((kind, database_unavailable) for kind in DATABASE_DOWN),
        (DataError, unstorable_input),
        (Exception, unexpected),
    ):
        blueprint.register_error_handler(
            kind, lambda err, answer=answer: (_over_plan_limit() or answer(err)).response(wire)
        )


for _keyed in (api, anthropic):
    _keyed.before_request(meter_start)
    _keyed.before_request(identify_and_count)
    _keyed.after_request(rate_limit_headers)
    _keyed.after_request(meter_end)
for _blueprint, _wire in (
    (api, "openai"),
    (unmatched_api, "openai"),
    (anthropic, "anthropic"),
    (unmatched_anthropic, "anthropic"),
):
    _answer_errors(_blueprint, _wire)


def json_body() -> dict:
    """The request's body, which must be a JSON object; a clear 400 for anything else."""
    raw = request.get_data(cache=False)
    if not raw:
        raise bad_request("Request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "it is not valid UTF-8" if "utf-8" in str(exc).lower() else "it is not valid JSON"
        raise bad_request(f"Could not parse the request body: {reason}.") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    return body
