"""The gateway's own cost per request, in-process: WSGI calls into the app with
no network, timed against the cheapest route (health) so that what remains is
the work of auth, validation, limits, the credit hold, routing, the local model
and the response. What runs after the answer (settlement and the usage row,
in the close the server calls once the client has the body) is timed apart.

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
    parser.add_argument(
        "--profile",
        metavar="CASE",
        help="profile one case (a word of its name, e.g. 'pro') with pyinstrument instead of timing all",
    )
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
    os.environ.update(
        DATABASE_URL=database_url,
        SECRET_KEY="bench",
        LUMYX_FREE_DAILY_LIMIT="1000000000",
        LUMYX_LIMITS_PRO="100000000/minute;100000000/day",  # the pro account's limits, out of reach
    )
    priced = Path(tmp) / "priced.yaml"
    priced.write_text(
        "models:\n  - {id: bench-priced, pricing: {input: 1.0, output: 2.0}, max_output_tokens: 1000,\n"
        "     routes: [{provider: local, model: bench-priced}]}\n"
    )
    import logging

    from flask_migrate import upgrade
    from werkzeug.test import EnvironBuilder

    from lumyx import create_app
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts
    from lumyx.catalog import file as catalog_file

    app = create_app()
    logging.getLogger("lumyx").setLevel(logging.WARNING)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        catalog_file.load(app.config["LUMYX_CATALOG"])
        catalog_file.load(priced)
        user = accounts.create_user("bench@example.com", "bench-password", credits_micro=10**15, plan="enterprise")
        _row, key = keys.create_key(user)
        # A second account on a rate-limited plan, its limits raised out of reach, to time the check itself.
        limited = accounts.create_user("bench-pro@example.com", "bench-password", credits_micro=10**15, plan="pro")
        _row, limited_key = keys.create_key(limited)

    headers = {"Authorization": f"Bearer {key}"}
    chat = {"model": "lumyx-local", "messages": [{"role": "user", "content": "Hello there, how are you?"}]}

    def environ(method: str, path: str, body: dict | None = None, key_headers: dict = headers) -> tuple[dict, bytes]:
        builder = EnvironBuilder(method=method, path=path, headers=key_headers, json=body)
        env = builder.get_environ()
        raw = env["wsgi.input"].read()
        return env, raw

    def call(env: dict, raw: bytes) -> tuple[float, float]:
        """(seconds until the whole body was produced, seconds of the close that follows)."""
        env = dict(env)
        env["wsgi.input"] = io.BytesIO(raw)
        start = time.perf_counter()
        out = app(env, lambda status, hdrs, exc_info=None: None)
        for _ in out:
            pass
        answered = time.perf_counter()
        if hasattr(out, "close"):
            out.close()  # the server calls this once the client has the body: settlement runs here
        return answered - start, time.perf_counter() - answered

    def timed(env_raw, n: int) -> tuple[float, float]:
        for _ in range(300):
            call(*env_raw)
        answers, closes = [], []
        for _ in range(5):
            runs = [call(*env_raw) for _ in range(n // 5)]
            answers.append(sum(a for a, _ in runs) / len(runs) * 1e6)
            closes.append(sum(c for _, c in runs) / len(runs) * 1e6)
        return statistics.median(answers), statistics.median(closes)

    cases = {
        "GET /v1/health (Flask floor)": environ("GET", "/v1/health"),
        "GET /v1/models": environ("GET", "/v1/models"),
        "POST /v1/chat/completions lumyx-local": environ("POST", "/v1/chat/completions", chat),
        "POST /v1/chat/completions lumyx-local stream": environ(
            "POST", "/v1/chat/completions", {**chat, "stream": True}
        ),
        "POST /v1/chat/completions priced local model": environ(
            "POST", "/v1/chat/completions", {**chat, "model": "bench-priced"}
        ),
        "the same, with rate limits checked (pro plan)": environ(
            "POST",
            "/v1/chat/completions",
            {**chat, "model": "bench-priced"},
            {"Authorization": f"Bearer {limited_key}"},
        ),
    }
    if args.profile:
        from pyinstrument import Profiler

        name = next(name for name in cases if args.profile in name)
        for _ in range(300):
            call(*cases[name])
        with Profiler(interval=0.0001) as profiler:
            for _ in range(args.requests):
                call(*cases[name])
        print(profiler.output_text(unicode=True, show_all=bool(os.environ.get("SHOW_ALL"))))
        return
    results = {name: timed(env_raw, args.requests) for name, env_raw in cases.items()}
    floor = results["GET /v1/health (Flask floor)"][0]
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
    print(f"{'case':48} {'answer µs':>10} {'beyond floor':>13} {'after answer µs':>16}")
    for name, (answer, close) in results.items():
        print(f"{name:48} {answer:10.1f} {answer - floor:13.1f} {close:16.1f}")


if __name__ == "__main__":
    main()
