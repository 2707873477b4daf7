"""Turning a gateway call into a Flask response, and finishing it afterwards.

A stream's events are written as SSE in the client's format as they come
(:data:`SSE_WRITERS`); closing the response closes the events, and with them
the upstream stream.

A stream learns that its client left only when it next writes. While the
upstream is silent (thinking, stalled) nothing is written, so a watcher
greenlet waits on the client's socket instead (:func:`watch_client`): when the
client closes it, the upstream connection is dropped at once and the call ends
as ``client_closed``. Only under gunicorn's gevent workers, which hand the
socket to the app.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import orjson
from flask import Response, current_app, g, request

from lumyx import runtime
from lumyx.api.blueprints import within_plan_limit
from lumyx.billing import beside
from lumyx.errors import ApiError
from lumyx.gateway import pipeline as gateway
from lumyx.gateway.call import Call, ClientLink
from lumyx.providers.sse import openai_event, typed_event
from lumyx.responses.keeping import Keeper

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


# Client format -> how one of its stream events is written.
SSE_WRITERS: dict[str, Callable[[object], bytes]] = {
    "openai": openai_event,
    "anthropic": typed_event,
    "responses": typed_event,
}


def sse_body(events: Iterator, client_format: str) -> Iterator[bytes]:
    """A response body of SSE: the events written in the client's format as they
    come. Closing it closes the events."""
    try:
        yield from map(SSE_WRITERS[client_format], events)
    finally:
        events.close()


def respond(call: Call, keeper: Keeper | None = None) -> Response:
    """The call's answer; a ``keeper`` (Responses calls) sees it on its way to the
    client, to seal and store it."""
    within_plan_limit()
    app = current_app._get_current_object()
    state = runtime.get()
    g.call = call  # the request's metrics name its model and provider (lumyx.api.blueprints)

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
    if keeper is not None:
        result = keeper.body(result) if isinstance(result, dict) else keeper.events(result)
    if isinstance(result, dict):
        response = Response(orjson.dumps(result), mimetype="application/json")
    else:
        response = Response(
            sse_body(result, call.input.client_format), mimetype="text/event-stream", headers=SSE_HEADERS
        )
        response.call_on_close(watch_client(request.environ, call.link))
    # The server closes the response once the client has all of it, or has gone:
    # only then is the call settled, off the client's time (on PostgreSQL beside its connection).
    response.call_on_close(beside.later(done))
    response.headers["x-request-id"] = call.request_id
    return response


def watch_client(environ: dict, link: ClientLink) -> Callable[[], None]:
    """Starts watching; returns the function that stops it."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return lambda: None
    import gevent
    import gevent.socket
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        return lambda: None

    def run() -> None:
        while True:
            try:
                # An event-loop watcher, not select(): a worker holding a thousand
                # streams has descriptors beyond select()'s limit of 1,024.
                gevent.socket.wait_read(sock.fileno())
                gone = not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue  # woken with nothing to read: the client is still there
            except (OSError, ValueError):
                gone = True
            break
        if gone:  # (readable with data: a next request, pipelined; nothing to do)
            link.client_left()

    return gevent.spawn(run).kill
