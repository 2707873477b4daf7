"""A serving worker loads what it serves with: the libraries of features it does not
use are imported where they are used, since each weighs on every worker's memory
(the ceiling in bench/RESULTS.md is 100 MB a worker after the soak)."""

from __future__ import annotations

from tests.support import servers

# What each weighs in a worker, imported after Flask, SQLAlchemy and gevent.
NOT_ON_SQLITE = {
    "redis": "8 MB: the rate-limit counters on Redis (REDIS_URL)",
    "psycopg": "9 MB: PostgreSQL's driver",
    "alembic": "10 MB: the migrations, `flask db`",
    "requests": "5 MB: a persona's HTTP tools",
}


def test_a_sqlite_worker_loads_none_of_them(tmp_path):
    code = "import json, sys; import wsgi; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(servers.run_in_child(code, f"sqlite:///{tmp_path / 'lumyx.db'}"))
    assert {name: NOT_ON_SQLITE[name] for name in loaded & NOT_ON_SQLITE.keys()} == {}
    assert {"flask", "sqlalchemy", "gevent"} <= loaded
