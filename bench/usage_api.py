"""GET /v1/usage at scale: one account with a million usage rows over the last
30 days, on PostgreSQL, timed in-process (no network) — median of repeated calls.

    BENCH_POSTGRES=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/usage_api.py [--rows 1000000]

Rows are generated inside PostgreSQL (generate_series), with the hourly rollup
built from them by the same arithmetic the gateway uses when it records a request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = [
    "gpt-5.2",
    "lumyx-plus_v1",
    "glm-5-turbo",
    "nova_1_1",
    "lumyx-vision",
    "lumyx-local",
    "lumyxai/hunter-alpha",
    "gpt-5.4-openai",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    base = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

    import psycopg

    name = "lumyx_usage_bench_" + uuid.uuid4().hex[:8]
    admin = base.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    os.environ.update(DATABASE_URL=url, SECRET_KEY="bench")
    try:
        run(url, args)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args) -> None:
    import logging

    from flask_migrate import upgrade
    from sqlalchemy import text

    from lumyx import create_app
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts
    from lumyx.db import db

    app = create_app()
    logging.getLogger("lumyx").setLevel(logging.WARNING)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = accounts.create_user("usage-bench@example.com", "bench-password", plan="enterprise")
        _row, key = keys.create_key(user)
        started = time.perf_counter()
        models = "ARRAY[" + ",".join(f"'{m}'" for m in MODELS) + "]"
        with db.engine.begin() as conn:
            conn.execute(
                text(f"""
                INSERT INTO usage_records (id, user_id, api_key_id, model_id, provider_id, operation,
                    input_tokens, output_tokens, reasoning_tokens, cached_tokens, tokens_reported, cost, unpaid,
                    latency_ms, status_code, error_code, stream, partial, thinking_used, created_at)
                SELECT 'req_' || md5(i::text), :user_id, NULL, ({models})[1 + i % {len(MODELS)}], 'bench', 'chat',
                    100 + i % 900, 50 + i % 400, 0, 0, true, (i % 5000) * 10, 0,
                    200 + i % 1800, CASE WHEN i % 50 = 0 THEN 502 ELSE 200 END, NULL, i % 2 = 0, false, i % 7 = 0,
                    (now() at time zone 'utc') - (i * (interval '30 days' / :rows))
                FROM generate_series(1, :rows) AS i"""),
                {"user_id": user.id, "rows": args.rows},
            )
            conn.execute(
                text("""
                INSERT INTO usage_hourly (user_id, hour, model_id, requests, prompt_tokens, completion_tokens,
                    cost, latency_ms)
                SELECT user_id, date_trunc('hour', created_at), model_id, count(*), sum(input_tokens),
                    sum(output_tokens), sum(cost), sum(latency_ms)
                FROM usage_records WHERE user_id = :user_id GROUP BY 1, 2, 3"""),
                {"user_id": user.id},
            )
            conn.execute(text("ANALYZE usage_records; ANALYZE usage_hourly"))
        print(f"generated {args.rows:,} usage rows in {time.perf_counter() - started:.1f} s")

    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    cases = {
        "no filters": "/v1/usage",
        "model filter": "/v1/usage?model=gpt-5.2",
        "date range (7 days)": "/v1/usage?start_date={d7}&end_date={d0}",
        "page 100 of 50": "/v1/usage?page=100",
        "limit 100, page 50, model": "/v1/usage?limit=100&page=50&model=nova_1_1",
        "date-time bounds (raw rows)": "/v1/usage?start_date={t1}",
    }
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("America/New_York")).date()
    values = {
        "d0": today.isoformat(),
        "d7": (today - timedelta(days=7)).isoformat(),
        "t1": (datetime.now(UTC) - timedelta(days=1, minutes=17)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    print(f"{'case':32} {'median ms':>10} {'p90 ms':>8}")
    for name, path in cases.items():
        path = path.format(**values)
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        samples = []
        for _ in range(args.calls):
            start = time.perf_counter()
            client.get(path, headers=headers)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(f"{name:32} {statistics.median(samples):10.1f} {samples[int(len(samples) * 0.9)]:8.1f}")
    print("total requests reported:", client.get("/v1/usage", headers=headers).json["summary"]["total_requests"])


if __name__ == "__main__":
    main()
