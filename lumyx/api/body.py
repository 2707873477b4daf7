"""Reading a JSON request body, with a clear 400 for anything else."""

from __future__ import annotations

import orjson
from flask import request

from lumyx.errors import bad_request


def json_body() -> dict:
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
