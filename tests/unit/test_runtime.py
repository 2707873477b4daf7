"""The worker's runtime (lumyx.runtime): one per app, each piece made once and
then the same on every request, renewed as its module docstring says, and a
forked worker making its own caches, clients and connections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, update

from lumyx import runtime
from lumyx.accounts import keys
from lumyx.accounts import users as accounts
from lumyx.catalog import file as catalog_file
from lumyx.catalog import snapshot as snapshots
from lumyx.db import db, driver, models
from lumyx.db.models._types import utcnow
from lumyx.limits import plans
from lumyx.providers import http
from lumyx.usage import health

ROOT = Path(__file__).resolve().parents[2]
CATALOG = """
providers:
  - {id: local, kind: local}
models:
  - {id: rt-local, name: Runtime Local, pricing: {input: 0, output: 0}, routes: [{provider: local, model: rt-local}]}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app with the runtime and the database only, on a SQLite file of its own."""
    folder = tmp_path_factory.mktemp("runtime")
    app = Flask("runtime_test")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'runtime.db'}",
        LUMYX_CATALOG_REFRESH_SECONDS=3600,
        LUMYX_AUTH_CACHE_SECONDS=10,
        LUMYX_FREE_DAILY_LIMIT=50,
        LUMYX_LIMITS_PRO="5/minute;50/day",
    )
    db.init_app(app)
    plans.configure(app)
    runtime.init_app(app)
    catalog = folder / "catalog.yaml"
    catalog.write_text(CATALOG)
    with app.app_context():
        db.create_all()
        catalog_file.load(catalog)
    yield app
    health.clear_cache()  # the process's: other tests read their own app's


@pytest.fixture
def context(app):
    with app.app_context():
        yield app


def _account(plan: str = "pro") -> tuple[models.User, str]:
    user = accounts.create_user(f"rt-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", plan=plan)
    _row, key = keys.create_key(user, "runtime")
    return user, key


def _later(monkeypatch, seconds: float) -> None:
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + seconds)


def test_one_runtime_per_app_each_piece_made_once(context):
    state = runtime.get()
    assert runtime.get() is state
    made = {name: getattr(state, name) for name in ("catalog", "keys", "plan_limits")}
    assert all(getattr(runtime.get(), name) is piece for name, piece in made.items())
    assert made["catalog"].refresh_seconds == 3600 and made["keys"].ttl == 10
    assert state.free_daily_limit == 50
    # The pieces the lower layers use are theirs, one per process.
    assert state.health is health.cache
    assert state.upstreams is http.clients
    assert state.db_connections is driver.connections


def test_another_app_has_a_runtime_of_its_own(app):
    other = Flask("another")
    other.config.update(
        LUMYX_CATALOG_REFRESH_SECONDS=1, LUMYX_AUTH_CACHE_SECONDS=1, LUMYX_FREE_DAILY_LIMIT=0, LUMYX_LIMITS_PRO=None
    )
    runtime.init_app(other)
    with other.app_context():
        mine = runtime.get()
    with app.app_context():
        assert runtime.get() is not mine
        assert runtime.get().keys is not mine.keys


def test_the_plan_limits_are_the_apps_settings(context):
    limiter = runtime.get().plan_limits
    assert limiter.limits == {"free": plans.DEFAULT_LIMITS["free"], "pro": "5/minute;50/day"}
    assert limiter.table() == [("Free", "10", "1,000"), ("Pro", "5", "50"), ("Enterprise", "Unlimited", "Unlimited")]
    assert plans.DEFAULT_LIMITS["pro"] == "60/minute;50000/day", "no setting changes the defaults"
    assert [limiter.count(1, "pro").verdict().exceeded for _ in range(6)] == [False] * 5 + [True]


def test_a_plan_limit_setting_that_does_not_parse_stops_the_app():
    with pytest.raises(SystemExit, match="LUMYX_LIMITS_FREE"):
        plans.limits_of({"LUMYX_LIMITS_FREE": "lots"})


def test_the_catalog_snapshot_is_read_again_only_when_the_catalog_changed(context):
    cache = runtime.get().catalog
    snapshot = cache.current()
    assert snapshot.get("rt-local").name == "Runtime Local"
    cache.invalidate()
    assert cache.current() is snapshot, "checked, unchanged: the same snapshot"
    db.session.execute(
        update(models.CatalogModel)
        .where(models.CatalogModel.id == "rt-local")
        .values(name="Renamed", updated_at=utcnow())
    )
    db.session.commit()
    assert cache.current() is snapshot, "not checked again before the refresh interval"
    cache.invalidate()
    assert cache.current().get("rt-local").name == "Renamed"


def test_the_catalog_is_checked_again_after_its_refresh_interval(context, monkeypatch):
    cache = runtime.get().catalog
    snapshot = cache.current()
    db.session.execute(
        update(models.CatalogModel)
        .where(models.CatalogModel.id == "rt-local")
        .values(name="Later", updated_at=utcnow())
    )
    db.session.commit()
    _later(monkeypatch, 3601)
    assert cache.current() is not snapshot and cache.current().get("rt-local").name == "Later"


def test_a_catalog_committed_while_the_check_reads_is_seen_one_interval_after_the_check_began(context, monkeypatch):
    cache = runtime.get().catalog
    cache.invalidate()
    cache.current()  # up to date with the database
    cache.invalidate()
    began = 1000.0  # a monotonic reading of its own: (began + 3600) - began is exactly 3600 in floats
    clock = {"now": began}
    monkeypatch.setattr(time, "monotonic", lambda: clock["now"])
    read_stamp = snapshots._stamp

    def slow_read():
        stamp = read_stamp()
        db.session.execute(
            update(models.CatalogModel)
            .where(models.CatalogModel.id == "rt-local")
            .values(name="Committed mid-check", updated_at=utcnow())
        )
        db.session.commit()
        clock["now"] += 5  # the read took five seconds; the change landed behind it
        return stamp

    monkeypatch.setattr(snapshots, "_stamp", slow_read)
    assert cache.current().get("rt-local").name != "Committed mid-check"
    monkeypatch.setattr(snapshots, "_stamp", read_stamp)
    clock["now"] = began + 3600  # the interval, counted from the start of the check
    assert cache.current().get("rt-local").name == "Committed mid-check"


def test_a_cached_key_lasts_its_ttl_and_clear_drops_it_at_once(context, monkeypatch):
    cache = runtime.get().keys
    user, key = _account()
    assert cache.authenticate(key).user_id == user.id
    db.session.execute(update(models.ApiKey).where(models.ApiKey.user_id == user.id).values(revoked_at=utcnow()))
    db.session.commit()
    assert cache.authenticate(key) is not None, "still cached"
    cache.clear()
    assert cache.authenticate(key) is None
    other, other_key = _account()
    assert cache.authenticate(other_key).user_id == other.id
    db.session.execute(update(models.ApiKey).where(models.ApiKey.user_id == other.id).values(revoked_at=utcnow()))
    db.session.commit()
    _later(monkeypatch, 11)
    assert cache.authenticate(other_key) is None, "expired after LUMYX_AUTH_CACHE_SECONDS"


def test_model_health_is_read_again_after_30_seconds_or_a_clear(context, monkeypatch):
    user, _key = _account()
    model = "health-" + uuid.uuid4().hex[:8]

    def record(status: int) -> None:
        db.session.add(
            models.UsageRecord(
                id=uuid.uuid4().hex,
                user_id=user.id,
                model_id=model,
                operation="chat",
                status_code=status,
                created_at=utcnow() - timedelta(minutes=1),
            )
        )
        db.session.commit()

    health.clear_cache()
    record(200)
    assert health.of(model).requests == 1
    record(502)
    assert health.of(model).requests == 1, "remembered"
    health.clear_cache()
    assert (health.of(model).requests, health.of(model).upstream_errors) == (2, 1)
    record(200)
    _later(monkeypatch, 31)
    assert health.of(model).requests == 3


def test_a_forked_child_forgets_the_parents_pieces(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'forget.db'}")
    connections = driver.DriverConnections()
    with connections.connection(engine) as used:
        pass
    connections.forget()
    assert connections.engine is None and connections.idle == []
    assert [pooled.driver_connection for pooled, _since in connections.inherited] == [used], "kept, never closed"
    with connections.connection(engine) as fresh:
        assert fresh is not used
    clients = http.UpstreamClients()
    client, path = clients.target("http://127.0.0.1:9/v1/chat/completions", 5.0)
    assert path == "/v1/chat/completions" and clients.target("http://127.0.0.1:9/v1/embeddings", 5.0)[0] is client
    clients.forget()
    assert clients.by_address == {} and clients.by_url == {}
    assert clients.target("http://127.0.0.1:9/v1/chat/completions", 5.0)[0] is not client


FORKED_WORKER = """
import json, os
from lumyx import create_app, runtime
from lumyx.catalog import file as catalog_file
from lumyx.db import db, driver
from lumyx.providers import http
from lumyx.usage import health

app = create_app()
with app.app_context():
    db.create_all()
    catalog_file.load(app.config["LUMYX_CATALOG"])
    state = runtime.get()
    pieces = {name: getattr(state, name) for name in ("catalog", "keys", "plan_limits")}
    models = len(state.catalog.current().models)
    parents_connection = driver.sqlite_write(lambda conn: conn)
    http.clients.target("http://127.0.0.1:9/v1/chat/completions", 5.0)
    health.of("lumyx-local")
    engine_pool = db.engine.pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        seen = {
            "same runtime": runtime.get() is state,
            "made anew": sorted(name for name, piece in pieces.items() if getattr(state, name) is not piece),
            "catalog read again": len(state.catalog.current().models) == models,
            "upstream clients": len(http.clients.by_address),
            "health read": len(health.cache._read),
            "parent's driver connections kept aside": len(driver.connections.inherited),
            "new database pool": db.engine.pool is not engine_pool,
        }
        seen["own driver connection"] = driver.sqlite_write(lambda conn: conn) is not parents_connection
        os.write(write, json.dumps(seen).encode())
        os._exit(0)
    os.close(write)
    child = json.loads(os.read(read, 1 << 16).decode())
    os.waitpid(pid, 0)
    parent = {
        "kept": sorted(name for name, piece in pieces.items() if getattr(state, name) is piece),
        "upstream clients": len(http.clients.by_address),
        "driver connections": len(driver.connections.idle),
    }
print(json.dumps({"child": child, "parent": parent}))
"""


def test_a_forked_worker_makes_its_own_caches_clients_and_connections(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_"))}
    env.pop("REDIS_URL", None)
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'forked.db'}", SECRET_KEY="runtime-test")
    done = subprocess.run(
        [sys.executable, "-c", FORKED_WORKER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["child"] == {
        "same runtime": True,
        "made anew": ["catalog", "keys", "plan_limits"],
        "catalog read again": True,
        "upstream clients": 0,
        "health read": 0,
        "parent's driver connections kept aside": 1,
        "new database pool": True,
        "own driver connection": True,
    }
    assert seen["parent"] == {
        "kept": ["catalog", "keys", "plan_limits"],
        "upstream clients": 1,
        "driver connections": 1,
    }
