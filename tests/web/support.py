"""Helpers for the web tests: Flask's test client with CSRF tokens and log-in.

Each client comes from its own (random) client address, so the log-in and sign-up
throttles (per address) never leak from one test into another."""

from __future__ import annotations

import re
import secrets

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "correct horse battery"


def new_address() -> str:
    n = secrets.randbits(24)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class WebClient:
    """Flask's test client, plus the page's CSRF token and a log-in."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = new_address()

    def __getattr__(self, name):
        return getattr(self.client, name)

    def csrf(self, path: str = "/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post_form(self, path: str, data: dict, *, token_from: str | None = None, **kwargs):
        data = {"csrf_token": self.csrf(token_from or path), **data}
        return self.client.post(path, data=data, **kwargs)

    def login_as(self, user_id: int) -> None:
        with self.client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True

    def htmx(self, path: str, **headers):
        return self.client.get(path, headers={"HX-Request": "true", **headers})
