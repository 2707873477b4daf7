"""Fixtures: a fresh database, the upstream stand-in, the real gunicorn server,
and accounts with keys. The suite runs on SQLite by default and on PostgreSQL
(+ Redis) when DATABASE_URL (and REDIS_URL) point there."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.fakes import stripe_api
from tests.fakes.upstream import start_process
from tests.support.catalog import UPSTREAM_KEY, catalog_yaml
from tests.support.servers import LiveServer, TestDatabase, flask_cli


@pytest.fixture(autouse=True)
def routing_state_forgotten():
    """Each test starts with every route's breaker closed, no conversation
    remembered and no route measured (in this process's store, which the live
    server shares)."""
    from lumyx.routing import breakers, measurements, store

    store.shared.clear()
    breakers.board.seen.clear()
    measurements.measurements.forget()


@pytest.fixture(scope="session")
def upstream():
    server = start_process()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_fake():
    """The Stripe API stand-in (tests/fakes/stripe_api.py) the server's stripe library talks to."""
    server = stripe_api.start_process()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    db = TestDatabase(tmp_path_factory.mktemp("db"))
    yield db
    db.drop()


@pytest.fixture(scope="session")
def server_env(database, upstream, stripe_fake, tmp_path_factory):
    """The environment an operator would give `make run`."""
    catalog = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    catalog.write_text(catalog_yaml(upstream.url))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUMYX_", "STRIPE_"))}
    env.update(
        {
            "DATABASE_URL": database.url,
            "LUMYX_CATALOG": str(catalog),
            "SECRET_KEY": "test-secret-key",
            "FAKE_OPENAI_KEY": UPSTREAM_KEY,
            "FAKE_ANTHROPIC_KEY": UPSTREAM_KEY,
            "WRONG_UPSTREAM_KEY": "not-the-upstream-key",
            "LUMYX_CATALOG_REFRESH_SECONDS": "1",
            "LUMYX_AUTH_CACHE_SECONDS": "1",
            # Counters of this run apart from any other run sharing the Redis server.
            "LUMYX_RATELIMIT_PREFIX": "test-" + uuid.uuid4().hex[:8],
            "STRIPE_SECRET_KEY": stripe_fake.key,
            "STRIPE_WEBHOOK_SECRET": "whsec_lumyx_test_webhook_secret",
            "STRIPE_API_BASE": stripe_fake.url,
        }
    )
    return env


@pytest.fixture(scope="session")
def app(server_env):
    """The Flask app in this process, on the same database as the live server."""
    saved = dict(os.environ)
    os.environ.update(server_env)
    try:
        from lumyx import create_app

        application = create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    flask_cli(server_env, "db", "upgrade")
    flask_cli(server_env, "prepare")
    return application


@pytest.fixture(scope="session")
def live(app, server_env, tmp_path_factory):
    server = LiveServer(server_env, tmp_path_factory.mktemp("logs") / "gunicorn.log")
    yield server
    server.stop()


def _new_account(app, prefix: str, credits: int, key_name: str) -> tuple[int, str, str]:
    """A new enterprise-plan user with ``credits`` and one API key: (user id, email, key)."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"{prefix}-{uuid.uuid4().hex[:10]}@example.com",
            "correct horse battery",
            plan="enterprise",
            credits_micro=credits * 1_000_000,
        )
        _row, key = keys.create_key(user, key_name)
        return user.id, user.email, key


@pytest.fixture
def account(app):
    """A fresh user with credits and an API key: (user id, email, key). Enterprise
    plan, so that rate limits stay out of the way of tests about other things."""
    return _new_account(app, "user", 100, "test")


@pytest.fixture
def key(account):
    return account[2]


@pytest.fixture
def other_key(app):
    """A second account's key."""
    return _new_account(app, "other", 10, "other")[2]
