"""One exception tree for the product.

API routes answer errors as JSON in the wire format of the endpoint (OpenAI-
shaped or Anthropic-shaped); everything else answers a short HTML page. No
error ever carries a traceback or an upstream key.
"""

from __future__ import annotations

import logging

import orjson
from flask import Flask, Response, render_template, request
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("lumyx.errors")

# What SQLAlchemy raises when the database is down or unreachable.
DATABASE_DOWN = (OperationalError, InterfaceError, SQLAlchemyTimeoutError)

# The docs' error codes and the Anthropic error type each corresponds to.
ANTHROPIC_TYPES = {
    "invalid_request": "invalid_request_error",
    "unauthorized": "authentication_error",
    "insufficient_credits": "billing_error",
    "forbidden": "permission_error",
    "not_found": "not_found_error",
    "model_not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit_exceeded": "rate_limit_error",
    "internal_error": "api_error",
    "upstream_error": "api_error",
    "timeout": "api_error",
    "model_unavailable": "overloaded_error",
    "service_unavailable": "overloaded_error",
}

STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    413: "request_too_large",
    415: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """An error a client sees: HTTP status, the docs' error code, a message."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def openai_body(self) -> dict:
        error = {"message": self.message, "type": self.code, "code": self.status}
        if self.param:
            error["param"] = self.param
        return {"error": error}

    def anthropic_body(self) -> dict:
        return {
            "type": "error",
            "error": {"type": ANTHROPIC_TYPES.get(self.code, "api_error"), "message": self.message},
        }

    def body(self, wire: str) -> dict:
        return self.anthropic_body() if wire == "anthropic" else self.openai_body()

    def response(self, wire: str) -> Response:
        return Response(
            orjson.dumps(self.body(wire)), status=self.status, headers=self.headers, mimetype="application/json"
        )


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request", message, param=param)


def is_api_request() -> bool:
    path = request.path
    return path.startswith(("/v1/", "/api/")) or path in ("/v1", "/api")


def request_wire() -> str:
    """The wire format of the current API request: Anthropic for messages, else OpenAI."""
    return "anthropic" if "/messages" in request.path else "openai"


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return err.response(request_wire())

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        if not is_api_request():
            return _html(err.code or 500, err.name, err.description), err.code
        code = STATUS_CODES.get(err.code or 500, "invalid_request")
        message = {
            404: "Unknown endpoint: " + request.path,
            405: f"Method {request.method} is not allowed on {request.path}.",
            413: "Request body is too large.",
            429: f"Rate limit exceeded for this API key ({err.description}); retry after the time "
            "in the Retry-After header.",
        }.get(err.code, err.description or err.name)
        return ApiError(err.code or 500, code, message).response(request_wire())

    def _database_unavailable(err: Exception):
        # The database is down or unreachable: say so at once, and let the client retry.
        log.error(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            type(getattr(err, "orig", None) or err).__name__,
        )
        if is_api_request():
            return ApiError(
                503,
                "service_unavailable",
                "The service's database is not reachable; retry shortly.",
                headers={"retry-after": "5"},
            ).response(request_wire())
        return _html(503, "Service unavailable", "The database is not reachable; retry shortly."), 503

    for kind in DATABASE_DOWN:
        app.register_error_handler(kind, _database_unavailable)

    @app.errorhandler(DataError)
    def _unstorable(err: DataError):
        # A value the database refuses to hold (PostgreSQL: a NUL byte in text): the client's input.
        log.warning("input the database cannot store on %s %s", request.method, request.path)
        if is_api_request():
            return bad_request(
                "A value in the request contains characters that cannot be stored (such as a NUL byte)."
            ).response(request_wire())
        return _html(400, "Bad request", "A value contains characters that cannot be stored."), 400

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return ApiError(500, "internal_error", "Internal server error.").response(request_wire())
        return _html(500, "Internal server error", "Something went wrong on our side."), 500


def _html(status: int, title: str, description: str | None):
    try:
        return render_template("error.html", status=status, title=title, description=description)
    except Exception:  # the error page itself must never fail
        return f"<h1>{status} {title}</h1>"
