"""A stand-in for the upstream providers: one real HTTP server (gevent pywsgi)
that speaks the OpenAI (Chat Completions, Responses) and the Anthropic wire
formats faithfully, streaming included. Tests and benchmarks point catalog
providers at it.

Run it on its own::

    python -m tests.fakes.upstream --port 9100 [--latency-ms 60] [--chunks 200]
                                   [--chunk-delay-ms 5] [--key upstream-test-key] [--no-record]

Endpoints (with or without a leading /v1): ``POST /chat/completions``,
``/completions``, ``/embeddings`` (OpenAI, ``Authorization: Bearer``);
``POST /responses``, ``GET``/``DELETE /responses/{id}``,
``GET /responses/{id}/input_items`` (OpenAI Responses API, ``Authorization:
Bearer``; tests/fakes/upstream_responses.py); ``POST /messages``,
``/messages/count_tokens`` (Anthropic, ``x-api-key`` and ``anthropic-version``);
``GET /models``, ``/models/{id}`` (either).

Scenarios make one request misbehave. Name them in the model (``fake-status-503``,
``fake-drop:3``), in an ``x-fake-scenario`` header, or inside the prompt as
``[[scenario:...]]`` (comma-separated):

* ``status:<code>[:<retry-after>]`` — answer that HTTP error in the API's own error shape
* ``slow:<ms>`` — wait before answering
* ``drop[:<k>]`` — cut the connection (after k stream frames, or mid-body)
* ``stall[:<ms>]`` — stop sending for a while mid-stream or mid-body
* ``error-event[:<k>]`` — send the API's error event mid-stream
* ``malformed-sse[:<k>]``, ``malformed-json`` — break the framing or the JSON
* ``long:<n>`` — reply with n tokens (stream frames)
* ``tool`` — call a tool even without tool_choice; ``refusal``; ``no-usage``;
  ``echo-request`` — reply with the raw request body
* ``cache-writes`` (chat completions) — report the prompt prefix written to the cache as
  ``prompt_tokens_details.cache_write_tokens``, as OpenRouter does (prompt caching itself needs
  no scenario: a repeated prefix of 1,024+ tokens is read from the cache; Anthropic caches up to
  the last ``cache_control`` block, 5 minutes or ``ttl: 1h``)
* ``failed[:<code>]`` (Responses API) — a stream that ends in ``response.failed``
  with that error code; not streamed, the HTTP error of that code

``PUT /_fake/scenario`` with ``{"scenario": "status-503"}`` applies a scenario to every
request until ``DELETE /_fake/scenario`` (a whole upstream failing, then recovering).

Introspection: ``GET /_fake/requests`` (recorded requests, ``?path=``,
``?limit=``; ``DELETE`` clears), ``GET /_fake/stats``, ``GET /_fake/health``.
"""

from __future__ import annotations

if __name__ == "__main__":  # run as a server: patch before anything imports sockets
    from gevent import monkey

    monkey.patch_all()

import argparse
import os

import requests

from tests.fakes import upstream_anthropic as anthropic_api
from tests.fakes import upstream_openai as openai_api
from tests.fakes import upstream_responses as responses_api
from tests.fakes.upstream_core import App, Config, Handler
from tests.support.servers import StandIn


def build_app(config: Config) -> App:
    routes: dict = {}
    for api, module in (("openai", openai_api), ("openai", responses_api), ("anthropic", anthropic_api)):
        for route, entry in module.ROUTES.items():
            routes.setdefault(route, {})[api] = entry
    headers = {"openai": openai_api.HEADERS, "anthropic": anthropic_api.HEADERS}
    errors = {"openai": openai_api.error, "anthropic": anthropic_api.error}
    return App(config, routes, headers, errors)


def serve(host: str, port: int, config: Config) -> None:
    from gevent.pywsgi import WSGIServer

    server = WSGIServer((host, port), build_app(config), handler_class=Handler, log=None, error_log=None)
    server.serve_forever()


class UpstreamProcess(StandIn):
    """The stand-in running in a child process, for tests."""

    def __init__(self, *extra_args: str):
        super().__init__("tests.fakes.upstream", "upstream stand-in", *extra_args)

    def requests(self, path: str | None = None, limit: int | None = None) -> list[dict]:
        params = {k: v for k, v in (("path", path), ("limit", limit)) if v is not None}
        return requests.get(self.url + "/_fake/requests", params=params, timeout=5).json()

    def last_request(self, path: str) -> dict:
        found = self.requests(path, limit=1)
        assert found, f"the upstream saw no request to {path}"
        return found[-1]

    def fail_every_request(self, scenario: str | None) -> None:
        """Every request meets ``scenario`` (e.g. ``status-503``) from now on; None: none."""
        if scenario is None:
            requests.delete(self.url + "/_fake/scenario", timeout=5).raise_for_status()
        else:
            requests.put(self.url + "/_fake/scenario", json={"scenario": scenario}, timeout=5).raise_for_status()

    def stats(self) -> dict:
        return requests.get(self.url + "/_fake/stats", timeout=5).json()


def start_process(*extra_args: str) -> UpstreamProcess:
    return UpstreamProcess(*extra_args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Upstream stand-in (OpenAI Chat Completions and Responses, Anthropic Messages)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FAKE_UPSTREAM_PORT", "9100")))
    parser.add_argument("--key", default=None, help="the upstream API key it accepts")
    parser.add_argument("--latency-ms", type=float, default=0, help="added before every answer")
    parser.add_argument("--chunks", type=int, default=None, help="reply length in tokens (stream frames)")
    parser.add_argument("--chunk-delay-ms", type=float, default=0, help="pause between stream frames")
    parser.add_argument("--no-record", action="store_true", help="do not keep recent requests")
    args = parser.parse_args(argv)
    config = Config(
        key=args.key,
        latency_ms=args.latency_ms,
        chunks=args.chunks,
        chunk_delay_ms=args.chunk_delay_ms,
        record=not args.no_record,
    )
    serve(args.host, args.port, config)


if __name__ == "__main__":
    main()
