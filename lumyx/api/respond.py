"""Turning a gateway call into a Flask response, and finishing it afterwards.

A stream's events are written as SSE in the client's format as they come
(:data:`SSE_WRITERS`); closing the response closes the events, and with them
the upstream stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
from flask import Response, current_app, request

from lumyx import runtime
from lumyx.api import client_watch
from lumyx.errors import ApiError
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call
from lumyx.providers.sse import anthropic_event, openai_event

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


# Client format -> how one of its stream events is written.
SSE_WRITERS: dict[str, Callable[[object], bytes]] = {"openai": openai_event, "anthropic": anthropic_event}


def sse_body(events: Iterator, client_format: str) -> Iterator[bytes]:
    """A response body of SSE: the events written in the client's format as they
    come. Closing it closes the events."""
    try:
        yield from map(SSE_WRITERS[client_format], events)
    finally:
        events.close()


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
        response = Response(
            sse_body(result, call.input.client_format), mimetype="text/event-stream", headers=SSE_HEADERS
        )
        response.call_on_close(client_watch.watch(request.environ, call.link))
    # The server closes the response once the client has all of it, or has gone:
    # only then is the call settled, off the client's time.
    response.call_on_close(done)
    response.headers["x-request-id"] = call.request_id
    return response
