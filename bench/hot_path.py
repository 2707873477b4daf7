"""The gateway's own cost per request, in-process: WSGI calls into the app with
no network, timed against the cheapest route (health) so that what remains is
the work of auth, validation, routing, the local model and the response.

    .venv/bin/python bench/hot_path.py [--requests 5000]

Uses a throw-away SQLite database and the default catalog.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp()
    os.environ.update(DATABASE_URL=f"sqlite:///{tmp}/bench.db", SECRET_KEY="bench")
    import logging

    from flask_migrate import upgrade
    from werkzeug.test import EnvironBuilder

    from lumyx import create_app
    from lumyx.services import accounts, catalog_file, keys

    app = create_app()
    logging.getLogger("lumyx").setLevel(logging.WARNING)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        catalog_file.load(app.config["LUMYX_CATALOG"])
        user = accounts.create_user("bench@example.com", "bench-password")
        _row, key = keys.create_key(user)

    headers = {"Authorization": f"Bearer {key}"}
    chat = {"model": "lumyx-local", "messages": [{"role": "user", "content": "Hello there, how are you?"}]}

    def environ(method: str, path: str, body: dict | None = None) -> tuple[dict, bytes]:
        builder = EnvironBuilder(method=method, path=path, headers=headers, json=body)
        env = builder.get_environ()
        raw = env["wsgi.input"].read()
        return env, raw

    def call(env: dict, raw: bytes) -> None:
        env = dict(env)
        env["wsgi.input"] = io.BytesIO(raw)
        out = app(env, lambda status, hdrs, exc_info=None: None)
        for _ in out:
            pass
        if hasattr(out, "close"):
            out.close()

    def timed(env_raw, n: int) -> float:
        for _ in range(300):
            call(*env_raw)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n // 5):
                call(*env_raw)
            samples.append((time.perf_counter() - start) / (n // 5) * 1e6)
        return statistics.median(samples)

    cases = {
        "GET /v1/health (Flask floor)": environ("GET", "/v1/health"),
        "GET /v1/models": environ("GET", "/v1/models"),
        "POST /v1/chat/completions lumyx-local": environ("POST", "/v1/chat/completions", chat),
        "POST /v1/chat/completions lumyx-local stream": environ("POST", "/v1/chat/completions",
                                                                {**chat, "stream": True}),
    }
    results = {name: timed(env_raw, args.requests) for name, env_raw in cases.items()}
    floor = results["GET /v1/health (Flask floor)"]
    print(f"{'case':48} {'µs/request':>11} {'beyond floor':>13}")
    for name, us in results.items():
        print(f"{name:48} {us:11.1f} {us - floor:13.1f}")


if __name__ == "__main__":
    main()
