"""A gunicorn worker on SQLite checkpoints the write-ahead log beside the request
path (lumyx.db.checkpoints): moments after the requests stop, everything they
wrote is in the database file itself, not only in the log (SQLite's own automatic
checkpoint would leave up to 1,000 pages of it in the log until a later commit)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time

import pytest
import requests

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite's log"),
]


def rows_in_the_database_file(database: str, user_id: int, into) -> int:
    """Usage rows of ``user_id`` in a copy of the database file alone (the log left out);
    -1 when the copy caught a checkpoint halfway."""
    copy = into / "file-only.db"
    shutil.copyfile(database, copy)
    try:
        with sqlite3.connect(f"file:{copy}?immutable=1", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM usage_records WHERE user_id = ?", (user_id,)).fetchone()[0]
    except sqlite3.DatabaseError:
        return -1


def test_what_requests_wrote_reaches_the_database_file_moments_later(live, account, server_env, tmp_path):
    user_id, _email, key = account
    # A small max_tokens keeps each credit hold small: each request comes on a new connection,
    # which may reach the other worker while the last one's settlement is still being written.
    for _ in range(20):
        answer = requests.post(
            live.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-5.2", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16},
            timeout=30,
        )
        assert answer.status_code == 200
    database = server_env["DATABASE_URL"].removeprefix("sqlite:///")
    deadline = time.monotonic() + 2
    while (found := rows_in_the_database_file(database, user_id, tmp_path)) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found == 20
