"""The floor of Lumyx's server stack: what a gateway built on it could not go below.

`make run`'s gunicorn, with Lumyx's own settings (gunicorn.conf.py: its worker class,
a socket per worker, the C request parser, 2 workers), serving a Flask app of one view
that relays an OpenAI chat request to the upstream with the client Lumyx calls upstreams
with (geventhttpclient): the body parsed and written again, the upstream's answer passed
back. No keys, limits, credits, usage rows, routing, metering, metrics or log lines.
Measured beside Lumyx with the same tools, the difference is what Lumyx's features cost:

    .venv/bin/python bench/upstream.py --port 9100 &
    .venv/bin/python bench/stack_floor.py --upstream http://127.0.0.1:9100 --port 9300
    KEY=- wrk -c64 -t2 -d8s --latency -s bench/wrk/chat.lua http://127.0.0.1:9300/v1/chat/completions
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from flask import Flask, Response, request

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_ENV = "STACK_FLOOR_UPSTREAM"

app = Flask(__name__)
_client = None  # this worker's connection pool to the upstream (made after the fork)


def _upstream():
    global _client
    if _client is None:
        from geventhttpclient import HTTPClient
        from geventhttpclient.url import URL

        _client = HTTPClient.from_url(URL(os.environ[UPSTREAM_ENV] + "/"), concurrency=256)
    return _client


@app.post("/v1/chat/completions")
def chat_completions() -> Response:
    body = orjson.dumps(orjson.loads(request.get_data()))
    headers = {"content-type": "application/json", "authorization": "Bearer stack-floor"}
    answer = _upstream().post("/v1/chat/completions", body=body, headers=headers)
    return Response(answer.read(), status=answer.status_code, content_type=answer.get("content-type"))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve the stack's floor until Ctrl-C.")
    parser.add_argument("--upstream", required=True, help="base URL of the upstream stand-in")
    parser.add_argument("--port", type=int, default=9300)
    args = parser.parse_args()
    env = {
        **os.environ,
        UPSTREAM_ENV: args.upstream.rstrip("/"),
        "HOST": "127.0.0.1",
        "PORT": str(args.port),
        "WEB_CONCURRENCY": "2",
    }
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    print(f"stack floor on http://127.0.0.1:{args.port}", flush=True)
    os.chdir(ROOT)
    # This process becomes gunicorn's master: Ctrl-C or a TERM stops the server.
    os.execve(gunicorn, [gunicorn, "-c", "gunicorn.conf.py", "bench.stack_floor:app"], env)
