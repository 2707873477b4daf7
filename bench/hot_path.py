"""The gateway's own cost per request, in-process: WSGI calls into the app with
no network, timed against the cheapest route (health) so that what remains is
the work of auth, validation, routing, the local model and the response.

    .venv/bin/python bench/hot_path.py [--requests 5000]

Uses a throw-away SQLite database (or the PostgreSQL server of BENCH_POSTGRES,
e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, in a fresh database)
and the default catalog plus one priced model served by the local provider, so
that the difference between the free and the priced local model is what the
credit hold and its settlement cost.
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
    postgres = os.environ.get("BENCH_POSTGRES")
    if postgres:
        import uuid

        import psycopg

        name = "lumyx_bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(postgres.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = postgres.rsplit("/", 1)[0] + "/" + name
    else:
        database_url = f"sqlite:///{tmp}/bench.db"
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY="bench", LUMYX_FREE_DAILY_LIMIT="1000000000")
    priced = Path(tmp) / "priced.yaml"
    priced.write_text("models:\n  - {id: bench-priced, pricing: {input: 1.0, output: 2.0}, max_output_tokens: 1000,\n"
                      "     routes: [{provider: local, model: bench-priced}]}\n")
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
        catalog_file.load(priced)
        user = accounts.create_user("bench@example.com", "bench-password", credits_micro=10**15)
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
        "POST /v1/chat/completions priced local model": environ("POST", "/v1/chat/completions",
                                                                {**chat, "model": "bench-priced"}),
    }
    results = {name: timed(env_raw, args.requests) for name, env_raw in cases.items()}
    floor = results["GET /v1/health (Flask floor)"]
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
    print(f"{'case':48} {'µs/request':>11} {'beyond floor':>13}")
    for name, us in results.items():
        print(f"{name:48} {us:11.1f} {us - floor:13.1f}")


if __name__ == "__main__":
    main()
