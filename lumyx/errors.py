"""One exception tree for the product, and the log line of each kind of failure.

The API's blueprints answer errors as JSON in their own wire format, OpenAI's
or Anthropic's (lumyx.api.blueprints); the web side answers a short HTML page
(lumyx.web.render). On either side a database that is down answers 503
(retry shortly), input the database cannot store 400 and anything unexpected
500, each logged here. No error ever carries a traceback or an upstream key.

Imports nothing of lumyx: every layer may raise these errors.
"""

from __future__ import annotations

import logging

import orjson
from flask import Response, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from lumyx.observability import metrics

log = logging.getLogger("lumyx.errors")

# What SQLAlchemy raises when the database is down or unreachable.
DATABASE_DOWN = (OperationalError, InterfaceError, SQLAlchemyTimeoutError)

# The docs' error codes and the Anthropic error type each corresponds to.
ANTHROPIC_TYPES = {
    "invalid_request": "invalid_request_error",
    "unauthorized": "authentication_error",
    "insufficient_credits": "billing_error",
    "key_limit_exceeded": "billing_error",
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


def database_unavailable(err: Exception) -> None:
    """Logs a database that is down or unreachable (each side then answers 503: retry shortly)."""
    metrics.storage_error("database")
    log.error(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        type(getattr(err, "orig", None) or err).__name__,
    )


def unstorable_input() -> None:
    """Logs a value the database refuses to hold, such as a NUL byte in PostgreSQL text
    (the client's input: each side then answers 400)."""
    log.warning("input the database cannot store on %s %s", request.method, request.path)


def unexpected() -> None:
    """Logs the exception being handled, with its traceback (each side then answers 500)."""
    log.exception("unhandled error on %s %s", request.method, request.path)
