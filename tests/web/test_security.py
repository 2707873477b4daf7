"""The web pages' safety: CSP without inline script, security headers, cookie flags,
CSRF on every form and HTMX request, who may see what."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from lumyx.web.docs import SECTIONS

PUBLIC_PAGES = ["/", "/login", "/register", "/models", "/models/gpt-5.2", "/models/lumyx-local-embed"] + [
    f"/docs/{slug}" for slug, _ in SECTIONS
]
ACCOUNT_PAGES = [
    "/dashboard/usage",
    "/dashboard/keys",
    "/dashboard/credits",
    "/dashboard/settings",
    "/dashboard/credits/success",
    "/dashboard/credits/cancel",
]
ADMIN_PAGES = ["/admin/users", "/admin/providers"]


class ScriptAudit(HTMLParser):
    """Collects inline scripts, inline event handlers, javascript: URLs and style attributes."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if (
            tag == "script"
            and "src" not in attrs
            and attrs.get("type", "text/javascript") in ("text/javascript", "module", "application/javascript")
        ):
            self._in_inline_script = True
            self.problems.append("inline <script>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"inline handler {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if value and name in ("href", "src", "action") and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")
            if name.startswith("hx-on") or (name in ("hx-vals", "hx-headers") and value and value.startswith("js:")):
                self.problems.append(f"{name} runs script on <{tag}>")


def audit(html: str) -> list[str]:
    parser = ScriptAudit()
    parser.feed(html)
    return parser.problems


def test_no_page_has_inline_script_and_each_sends_a_strict_csp(web, make_user):
    for path in PUBLIC_PAGES + ACCOUNT_PAGES + ADMIN_PAGES:
        if path == ACCOUNT_PAGES[0]:
            web.login_as(make_user(credits=5, admin=True)[0])
        response = web.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert audit(response.get_data(as_text=True)) == [], path


def test_error_pages_are_html_with_the_csp_and_the_api_is_untouched(web, key):
    missing = web.get("/no/such/page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "script-src 'self'" in missing.headers["Content-Security-Policy"]
    api = web.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200 and "Content-Security-Policy" not in api.headers


def test_scripts_are_static_files_that_exist(web):
    html = web.get("/").get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert "/static/vendor/htmx-2.0.11.min.js" in sources and "/static/app.js" in sources
    for source in sources + ["/static/vendor/chart-4.6.1.umd.min.js", "/static/lumyx.css"]:
        assert web.get(source).status_code == 200, source


def test_htmx_may_not_eval(web):
    html = web.get("/").get_data(as_text=True)
    assert '"allowEval": false' in html and '"allowScriptTags": false' in html


def _cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


@pytest.mark.parametrize(
    "base_url, secure",
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost", False),
        ("https://lumyx.example.com", True),
        ("http://lumyx.example.com", True),
    ],
)
def test_the_session_cookie_is_httponly_lax_and_secure_off_loopback(web, app, monkeypatch, base_url, secure):
    monkeypatch.setitem(app.config, "LUMYX_ALLOWED_HOSTS", ("lumyx.example.com",))
    response = web.get("/login", base_url=base_url)
    cookie = _cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_a_form_without_its_csrf_token_is_refused(web, user):
    response = web.post("/login", data={"email": user[1], "password": "correct horse battery"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_htmx_posts_carry_the_token_in_a_header(signed_in, app):
    from lumyx.accounts import keys
    from lumyx.db import db
    from lumyx.db.models import User

    user_id = int(signed_in.client.get("/dashboard/keys") and _user_id(signed_in))
    with app.app_context():
        row, _ = keys.create_key(db.session.get(User, user_id), "htmx")
        key_id = row.id
    page = signed_in.get("/dashboard/keys").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    assert signed_in.post(f"/dashboard/keys/{key_id}/revoke", headers={"HX-Request": "true"}).status_code == 400
    response = signed_in.post(f"/dashboard/keys/{key_id}/revoke", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200 and "Revoked" in response.get_data(as_text=True)


def _user_id(web) -> str:
    with web.client.session_transaction() as session:
        return session["_user_id"]


@pytest.mark.parametrize("path", ACCOUNT_PAGES + ADMIN_PAGES)
def test_account_pages_send_visitors_to_log_in(web, path):
    response = web.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES + ["/admin/users/1"])
def test_admin_pages_are_forbidden_to_other_users(signed_in, path):
    assert signed_in.get(path).status_code == 403


def test_admin_posts_are_forbidden_to_other_users(signed_in, user):
    token = signed_in.csrf("/dashboard/settings")
    assert (
        signed_in.post(f"/admin/users/{user[0]}/plan", data={"csrf_token": token, "plan": "enterprise"}).status_code
        == 403
    )
    assert (
        signed_in.post(
            f"/admin/users/{user[0]}/credits", data={"csrf_token": token, "amount": "1000", "note": "free money"}
        ).status_code
        == 403
    )


def test_account_pages_are_not_cached(signed_in):
    for path in ACCOUNT_PAGES:
        assert signed_in.get(path).headers["Cache-Control"] == "private, no-store", path
