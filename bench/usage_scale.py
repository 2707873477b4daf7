"""Ten million usage rows on PostgreSQL: the Usage API and the dashboard's usage page
of the heaviest account, measured with wrk, then the retention's deletion of the rows
older than 90 days while chat requests run, against the same requests without it.

    .venv/bin/python bench/usage_scale.py [--rows 10000000] [--seconds 10]

Lumyx is served as the benchmark serves it (bench/lumyx_server.py: gunicorn + gevent,
a fresh PostgreSQL database with Redis, dropped afterwards) with the bench upstream
stand-in. The rows are generated inside PostgreSQL (generate_series), spread evenly
over the last 365 days and 1,000 accounts, one of which (the bench's own account, the
one measured) has every fifth row; the hourly rollups are built from them as the
gateway builds them. Lumyx first runs with LUMYX_USAGE_RETENTION_DAYS=400 (nothing to
delete: every row is detail), then the deletion of the rows older than 90 days runs in
a process of its own (lumyx.usage.retention.delete_old_usage, the janitor's pass, to
the end) while wrk sends chat requests, and finally Lumyx is started again with the
default 90 days and the Usage API and the page are measured over what is left.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import lumyx_server  # noqa: E402

MODELS = ["gpt-5.2", "lumyx-plus_v1", "glm-5-turbo", "nova_1_1", "lumyx-vision", "lumyx-local", "bench-gpt", "o4"]
ACCOUNTS = 1000
HEAVY_EVERY = 5  # the measured account has every fifth row


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(database_url: str, rows: int) -> dict:
    """The rows, their rollups and the other 999 accounts, in SQL; returns timings."""
    import psycopg

    timings = {}
    models = "ARRAY[" + ",".join(f"'{m}'" for m in MODELS) + "]"
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        heavy = conn.execute("SELECT id FROM users WHERE email = %s", (lumyx_server.EMAIL,)).fetchone()[0]
        conn.execute(
            """INSERT INTO users (email, password_hash, plan, is_admin, timezone, balance, held, created_at,
                   session_generation)
               SELECT 'usage-scale-' || i || '@example.com', 'x', 'free', false, 'America/New_York', 0, 0,
                   now() at time zone 'utc', 0
               FROM generate_series(1, %s) AS i""",
            (ACCOUNTS - 1,),
        )
        started = time.perf_counter()
        # Bulk load: indexes built once afterwards, foreign keys not checked row by row.
        conn.execute("SET session_replication_role = replica")
        for index in ("ix_usage_user_created", "ix_usage_user_model_created", "ix_usage_created"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("ALTER TABLE usage_records DROP CONSTRAINT usage_records_pkey")
        conn.execute(
            f"""
            INSERT INTO usage_records (id, user_id, api_key_id, model_id, provider_id, operation,
                input_tokens, output_tokens, reasoning_tokens, cached_tokens, cache_write_tokens,
                cache_write_1h_tokens, tokens_reported, cost, unpaid, latency_ms, status_code, error_code,
                stream, partial, thinking_used, created_at)
            SELECT 'req_' || md5(i::text), CASE WHEN i %% {HEAVY_EVERY} = 0 THEN %(heavy)s ELSE others[1 + i %% 999] END,
                NULL, ({models})[1 + i %% {len(MODELS)}], 'bench', 'chat',
                100 + i %% 900, 50 + i %% 400, 0, 0, 0, 0, true, (i %% 5000) * 10, 0,
                200 + i %% 1800, CASE WHEN i %% 50 = 0 THEN 502 ELSE 200 END, NULL, i %% 2 = 0, false, i %% 7 = 0,
                (now() at time zone 'utc') - (i * (interval '365 days' / %(rows)s))
            FROM generate_series(1, %(rows)s) AS i,
                (SELECT array_agg(id ORDER BY id) AS others FROM users WHERE id <> %(heavy)s) AS accounts""",
            {"heavy": heavy, "rows": rows},
        )
        timings["insert rows"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("ALTER TABLE usage_records ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ix_usage_user_created ON usage_records (user_id, created_at)")
        conn.execute("CREATE INDEX ix_usage_user_model_created ON usage_records (user_id, model_id, created_at)")
        conn.execute("CREATE INDEX ix_usage_created ON usage_records (created_at)")
        timings["build indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(
            """INSERT INTO usage_hourly (user_id, hour, model_id, requests, prompt_tokens, completion_tokens,
                   cost, latency_ms)
               SELECT user_id, date_trunc('hour', created_at), model_id, count(*), sum(input_tokens),
                   sum(output_tokens), sum(cost), sum(latency_ms)
               FROM usage_records GROUP BY 1, 2, 3"""
        )
        conn.execute("SET session_replication_role = origin")
        conn.execute("VACUUM ANALYZE usage_records")
        conn.execute("VACUUM ANALYZE usage_hourly")
        timings["rollups and analyze"] = time.perf_counter() - started
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM usage_records), (SELECT count(*) FROM usage_records WHERE user_id = %s),"
            " (SELECT count(*) FROM usage_hourly), pg_size_pretty(pg_total_relation_size('usage_records'))",
            (heavy,),
        ).fetchone()
    print(f"rows {counts[0]:,}, heavy account {counts[1]:,}, rollup rows {counts[2]:,}, table {counts[3]}")
    print("fill: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()), flush=True)
    return {"rows": counts[0], "heavy_rows": counts[1], "rollup_rows": counts[2], "table_size": counts[3], **timings}


def wrk(url: str, seconds: int, *headers: str, script: str = "get.lua", connections: int = 1, env=None) -> dict:
    command = ["wrk", f"-c{connections}", "-t1", f"-d{seconds}s", "--latency", "-s", f"bench/wrk/{script}"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url], cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    values = dict(kv.split("=", 1) for kv in line.split()[1:])
    return {
        "requests": int(values["requests"]),
        "p50_ms": float(values["p50_us"]) / 1000,
        "p99_ms": float(values["p99_us"]) / 1000,
        "errors": int(values["errors"]),
    }


def log_in(server) -> str:
    """The session cookie of the bench account, logged in through the form."""
    session = requests.Session()
    page = session.get(server.url + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = session.post(
        server.url + "/login",
        data={"csrf_token": token, "email": lumyx_server.EMAIL, "password": "bench-password-1"},
        headers={"Origin": server.url},
        allow_redirects=False,
    )
    assert answer.status_code in (302, 303), answer.text[:500]
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def read_paths() -> dict:
    zone = ZoneInfo("America/New_York")
    today = datetime.now(zone).date()
    old = today - timedelta(days=200)
    instant = (datetime.now(UTC) - timedelta(hours=6, minutes=17)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "API: no filters": "/v1/usage",
        "API: model, last 7 days": f"/v1/usage?model=gpt-5.2&start_date={today - timedelta(days=7)}",
        "API: 7 days, 200 days ago": f"/v1/usage?start_date={old - timedelta(days=7)}&end_date={old}",
        "API: 30 days from 200 days ago, mid-hour": f"/v1/usage?start_date={old}T10:30:00&end_date={today}",
        "API: last 6 hours, mid-hour (rows)": f"/v1/usage?start_date={instant}",
        "API: page 100 of 50": "/v1/usage?page=100",
        "page: /dashboard/usage": "/dashboard/usage",
        "page: 7 days, 200 days ago": f"/dashboard/usage?start_date={old - timedelta(days=7)}&end_date={old}",
    }


def measure_reads(server, seconds: int) -> dict:
    cookie = log_in(server)
    results = {}
    for name, path in read_paths().items():
        header = f"Cookie: {cookie}" if name.startswith("page") else f"Authorization: Bearer {server.key}"
        check = requests.get(server.url + path, headers=dict([header.split(": ", 1)]), timeout=30)
        assert check.status_code == 200, (path, check.status_code, check.text[:300])
        results[name] = wrk(server.url + path, seconds, header)
        r = results[name]
        print(
            f"  {name:44} p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  ({r['requests']} requests)", flush=True
        )
    return results


def delete_old(database_url: str) -> None:
    """The janitor's pass, run to the end (the --delete mode)."""
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY="bench", LUMYX_USAGE_RETENTION_DAYS="90")
    from lumyx import create_app
    from lumyx.usage import retention

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        deleted = retention.delete_old_usage(max_batches=10**9)
    print(json.dumps({"deleted": deleted, "seconds": time.perf_counter() - started}), flush=True)


def chat(server, seconds: int) -> dict:
    return wrk(
        server.url + "/v1/chat/completions",
        seconds,
        script="chat.lua",
        connections=4,
        env={"KEY": server.key, "MODEL": "bench-gpt"},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--delete", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.delete:
        delete_old(args.delete)
        return

    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "upstream.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    upstream_url = upstream.stdout.readline().split()[-1]
    workdir = Path(tempfile.mkdtemp())
    server = lumyx_server.start(
        "postgres", upstream_url, _port(), workdir / "one", extra_env={"LUMYX_USAGE_RETENTION_DAYS": "400"}
    )
    database, keep = server.database, server.env["DATABASE_URL"]
    server.database = None  # kept for the second start; dropped at the end
    results: dict = {"rows": args.rows}
    try:
        results["fill"] = fill(keep, args.rows)
        print("reads, every row kept (retention 400 days):")
        results["reads_all_rows"] = measure_reads(server, args.seconds)

        print("chat completions (wrk -c4), without and with the deletion of rows older than 90 days:")
        rounds = []
        rounds.append(("without", chat(server, args.seconds)))
        deleter = subprocess.Popen(
            [sys.executable, __file__, "--delete", keep], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        while deleter.poll() is None:
            rounds.append(("with", chat(server, args.seconds)))
        results["deletion"] = json.loads(deleter.stdout.read().strip().splitlines()[-1])
        rounds.append(("without", chat(server, args.seconds)))
        for way, r in rounds:
            print(f"  {way:8} p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  ({r['requests']} requests)")
        results["chat_rounds"] = rounds
        d = results["deletion"]
        print(f"deleted {d['deleted']:,} rows in {d['seconds']:.0f} s ({d['deleted'] / d['seconds']:,.0f} rows/s)")
        server.stop()

        server = _restart_on(keep, upstream_url, workdir / "two")
        print("reads after the deletion (retention 90 days):")
        results["reads_after_deletion"] = measure_reads(server, args.seconds)
    finally:
        server.stop()
        upstream.terminate()
        import psycopg

        with psycopg.connect(lumyx_server.POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    out = ROOT / "bench" / "results" / "usage_scale.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}; medians of the chat rounds:")
    for way in ("without", "with"):
        p50 = statistics.median(r["p50_ms"] for w, r in results["chat_rounds"] if w == way)
        p99 = statistics.median(r["p99_ms"] for w, r in results["chat_rounds"] if w == way)
        print(f"  {way:8} p50 {p50:.2f} ms  p99 {p99:.2f} ms")


def _restart_on(database_url: str, upstream_url: str, workdir: Path):
    """Lumyx again on the filled database, with the default retention (90 days)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_", "DATABASE_", "REDIS_"))}
    port = _port()
    catalog = workdir / "catalog.yaml"
    catalog.write_text(lumyx_server.CATALOG.format(upstream=upstream_url))
    env.update(
        LUMYX_CATALOG=str(catalog),
        SECRET_KEY="bench-usage-scale",
        BENCH_UPSTREAM_KEY="sk-bench",
        HOST="127.0.0.1",
        PORT=str(port),
        LUMYX_LIMITS_PRO="100000000/minute;1000000000/day",
        DATABASE_URL=database_url,
        REDIS_URL=lumyx_server.REDIS,
    )
    key = lumyx_server._flask(env, "create-key", lumyx_server.EMAIL, "--name", "again").strip().splitlines()[-1]
    log = open(workdir / "gunicorn.log", "ab")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = lumyx_server.Lumyx("postgres", f"http://127.0.0.1:{port}", key, proc, env, workdir, None, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url + "/v1/health", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("Lumyx did not start again")


if __name__ == "__main__":
    main()
