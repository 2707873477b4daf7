"""Turning a gateway call into a Flask response, and finishing it afterwards."""

from __future__ import annotations

import orjson
from flask import Response, current_app, request

from lumyx import runtime
from lumyx.api import client_watch
from lumyx.errors import ApiError
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def respond(call: Call) -> Response:
    app = current_app._get_current_object()
    state = runtime.get()

    def done() -> None:
        with app.app_context():
            gateway.finish(call, state.keys)

    try:
        result = gateway.serve(call, state.free_daily_limit)
    except ApiError as error:
        error.headers["x-request-id"] = call.request_id
        done()
        raise
    except BaseException:
        done()
        raise
    if isinstance(result, dict):
        response = Response(orjson.dumps(result), mimetype="application/json")
    else:
        response = Response(result, mimetype="text/event-stream", headers=SSE_HEADERS)
        response.call_on_close(client_watch.watch(request.environ, call))
    # The server closes the response once the client has all of it, or has gone:
    # only then is the call settled, off the client's time.
    response.call_on_close(done)
    response.headers["x-request-id"] = call.request_id
    return response
