"""The web pages through Flask's test client, on the suite's database and catalog."""

from __future__ import annotations

import uuid

import pytest

from tests.web.support import PASSWORD, WebClient


@pytest.fixture(autouse=True)
def provider_keys(server_env, monkeypatch):
    """The upstream keys the live server has, so this process sees the same models as available."""
    for name in ("FAKE_OPENAI_KEY", "FAKE_ANTHROPIC_KEY", "WRONG_UPSTREAM_KEY"):
        monkeypatch.setenv(name, server_env[name])


@pytest.fixture
def web(app):
    return WebClient(app)


@pytest.fixture
def make_user(app):
    """make_user(credits=0, plan="free", admin=False) -> the user's id and email."""
    from lumyx.accounts import users as accounts

    def make(credits: float = 0, plan: str = "free", admin: bool = False, email: str | None = None):
        with app.app_context():
            user = accounts.create_user(
                email or f"web-{uuid.uuid4().hex[:10]}@example.com",
                PASSWORD,
                plan=plan,
                credits_micro=int(credits * 1_000_000),
                is_admin=admin,
            )
            return user.id, user.email

    return make


@pytest.fixture
def user(make_user):
    return make_user(credits=25)


@pytest.fixture
def signed_in(web, user):
    web.login_as(user[0])
    return web


@pytest.fixture
def admin(web, make_user):
    user_id, email = make_user(admin=True)
    web.login_as(user_id)
    return web
