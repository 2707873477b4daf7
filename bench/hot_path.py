"""The gateway's own cost per request, in-process: WSGI calls into the app with
no network, timed against the cheapest route (health) so that what remains is
the work of auth, validation, limits, the credit hold, routing, the local model
and the response. What runs after the answer (settlement and the usage row,
in the close the server calls once the client has the body) is timed apart.

    .venv/bin/python bench/hot_path.py [--requests 5000] [--only WORD] [--profile WORD]

Uses a throw-away SQLite database (or the PostgreSQL server of BENCH_POSTGRES,
e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, in a fresh database)
and the default catalog plus one priced model served by the local provider, so
that the difference between the free and the priced local model is what the
credit hold and its settlement cost. The bench's upstream stand-in (bench/upstream.py)
is started beside it for the cases of priced models it serves, as in `make bench`:
``bench-gpt`` (Chat Completions upstream) and ``bench-responses`` (Responses upstream),
so that chat completions and the Responses API (`POST /v1/responses`, passed through or
translated to chat) are timed on the same footing; their figures include the loopback
round trip to the stand-in (about 100 µs, half of it the kernel's).
"""

from __future__ import annotations

import argparse
import atexit
import io
import os
import statistics
import subprocess
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
    parser.add_argument("--only", metavar="WORD", help="time only the cases whose name has WORD (and the floor)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp()
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "upstream.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    atexit.register(upstream.terminate)
    upstream_url = upstream.stdout.readline().split()[-1]
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
        BENCH_UPSTREAM_KEY="sk-bench",
    )
    priced = Path(tmp) / "priced.yaml"
    priced.write_text(
        "providers:\n"
        f"  - {{id: bench-openai, kind: openai, base_url: '{upstream_url}/v1', api_key_env: BENCH_UPSTREAM_KEY}}\n"
        f"  - {{id: bench-openai-responses, kind: openai-responses, base_url: '{upstream_url}/v1',\n"
        "     api_key_env: BENCH_UPSTREAM_KEY}\n"
        "models:\n  - {id: bench-priced, pricing: {input: 1.0, output: 2.0}, max_output_tokens: 1000,\n"
        "     routes: [{provider: local, model: bench-priced}]}\n"
        "  - {id: bench-gpt, pricing: {input: 1.0, output: 4.0}, max_output_tokens: 16000,\n"
        "     routes: [{provider: bench-openai, model: bench-gpt}]}\n"
        "  - {id: bench-responses, pricing: {input: 1.0, output: 4.0}, max_output_tokens: 16000,\n"
        "     routes: [{provider: bench-openai-responses, model: bench-responses}]}\n"
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
    # the bodies bench/loadgen.py sends (Responses: store false, as Codex sends it)
    bench_chat = {"model": "bench-gpt", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 64}
    bench_resp = {"model": "bench-responses", "input": "Say hello", "max_output_tokens": 64, "store": False}
    stream_usage = {"stream": True, "stream_options": {"include_usage": True}}

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

    def check(name: str, env_raw) -> None:
        """A case must answer 2xx (an error answers fast, and would time as a bargain)."""
        env = dict(env_raw[0], **{"wsgi.input": io.BytesIO(env_raw[1])})
        got: list = []
        out = app(env, lambda status, hdrs, exc_info=None: got.append(status))
        body = b"".join(out)
        if hasattr(out, "close"):
            out.close()
        if not got[0].startswith("2"):
            raise SystemExit(f"{name}: {got[0]} {body[:300].decode(errors='replace')}")

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
        "POST /v1/responses lumyx-local (translated to chat)": environ(
            "POST", "/v1/responses", {"model": "lumyx-local", "input": "Hello there, how are you?", "store": False}
        ),
        "POST /v1/chat/completions bench-gpt (stand-in)": environ("POST", "/v1/chat/completions", bench_chat),
        "POST /v1/chat/completions bench-gpt (stand-in) stream": environ(
            "POST", "/v1/chat/completions", {**bench_chat, **stream_usage}
        ),
        "POST /v1/responses bench-responses (stand-in)": environ("POST", "/v1/responses", bench_resp),
        "POST /v1/responses bench-responses (stand-in) stream": environ(
            "POST", "/v1/responses", {**bench_resp, "stream": True}
        ),
        "POST /v1/responses bench-responses (stand-in) stored": environ(
            "POST", "/v1/responses", {**bench_resp, "store": True}
        ),
        "POST /v1/responses bench-gpt (stand-in, translated to chat)": environ(
            "POST", "/v1/responses", {**bench_resp, "model": "bench-gpt"}
        ),
    }
    if args.only:
        cases = {name: c for name, c in cases.items() if args.only in name or "floor" in name}
    if args.profile:
        from pyinstrument import Profiler

        name = next(name for name in cases if args.profile in name)
        check(name, cases[name])
        for _ in range(300):
            call(*cases[name])
        with Profiler(interval=0.0001) as profiler:
            for _ in range(args.requests):
                call(*cases[name])
        print(profiler.output_text(unicode=True, show_all=bool(os.environ.get("SHOW_ALL"))))
        return
    for name, env_raw in cases.items():
        check(name, env_raw)
    results = {name: timed(env_raw, args.requests) for name, env_raw in cases.items()}
    floor = results["GET /v1/health (Flask floor)"][0]
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
    print(f"{'case':60} {'answer µs':>10} {'beyond floor':>13} {'after answer µs':>16}")
    for name, (answer, close) in results.items():
        print(f"{name:60} {answer:10.1f} {answer - floor:13.1f} {close:16.1f}")


if __name__ == "__main__":
    main()
