"""Log-in and sign-up limits: per account (failed log-ins, from any address) and
per client address (the real client's behind trusted proxies, never what a client
says of itself), each refusal the form again with a message and the e-mail kept."""

from __future__ import annotations

import re
import time
import uuid
from html import unescape

import pytest

from tests.web.support import PASSWORD, WebClient

WAIT_RE = re.compile(r"try again in (\d+) s\.")


def _email() -> str:
    return f"limits-{uuid.uuid4().hex[:10]}@example.com"


def _log_in(web: WebClient, email: str, password: str, **kwargs):
    return web.post_form("/login", {"email": email, "password": password}, **kwargs)


def _refusal(response) -> tuple[str, int]:
    html = unescape(response.get_data(as_text=True))
    match = WAIT_RE.search(html)
    assert match, html[:2000]
    return html, int(match.group(1))


def _fail_from_new_addresses(app, email: str, times: int) -> None:
    for _ in range(times):
        assert _log_in(WebClient(app), email, "wrong password").status_code == 400


def test_lock_out_grows_with_each_failure_and_is_bounded():
    from lumyx.limits.failed_logins import lock_seconds

    assert [lock_seconds(n) for n in range(1, 16)] == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert lock_seconds(10_000) == 300, "no failure count keeps the owner out longer than 5 minutes"


def test_failed_log_ins_are_counted_per_account_from_any_address(app, user):
    _fail_from_new_addresses(app, user[1], 5)
    response = _log_in(WebClient(app), user[1], PASSWORD)
    assert response.status_code == 429, "even the right password waits for the lock to end"
    html, wait = _refusal(response)
    assert "Too many failed log-ins for this account; try again in" in html
    assert 1 <= wait <= 2 and int(response.headers["Retry-After"]) >= wait
    assert f'value="{user[1]}"' in html, "the typed e-mail is kept"
    assert 'name="password"' in html and PASSWORD not in html


def test_the_lock_ends_by_itself_and_a_log_in_clears_the_count(app, user):
    _fail_from_new_addresses(app, user[1], 5)
    web = WebClient(app)
    deadline = time.monotonic() + 5
    while (response := _log_in(web, user[1], PASSWORD)).status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert response.status_code == 302, "the owner logs in once the lock (1 s) has ended"
    # The count started again: four more failures do not lock the account.
    _fail_from_new_addresses(app, user[1], 4)
    assert _log_in(WebClient(app), user[1], PASSWORD).status_code == 302


def test_unknown_addresses_are_locked_alike(app):
    email = _email()
    _fail_from_new_addresses(app, email, 5)
    response = _log_in(WebClient(app), email.upper(), PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-ins for this account" in _refusal(response)[0]


def test_the_address_limit_answers_the_form_with_the_email_kept(app):
    web = WebClient(app)
    for _ in range(10):
        assert _log_in(web, _email(), "wrong password").status_code == 400
    email = _email()
    response = _log_in(web, email, "wrong password")
    assert response.status_code == 429
    html, wait = _refusal(response)
    assert "Too many log-ins from your address; try again in" in html and 1 <= wait <= 60
    assert f'value="{email}"' in html and "<form" in html
    assert int(response.headers["Retry-After"]) >= 1


def test_the_sign_up_limit_answers_the_form_with_the_email_kept(app):
    web = WebClient(app)
    for _ in range(5):
        assert web.post_form("/register", {"email": "bad", "password": "x", "confirm": "y"}).status_code == 400
    email = _email()
    response = web.post_form("/register", {"email": email, "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 429
    html, wait = _refusal(response)
    assert "Too many sign-ups from your address; try again in" in html and 1 <= wait <= 60
    assert f'value="{email}"' in html


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app):
    web = WebClient(app)
    statuses = [
        _log_in(web, _email(), "wrong password", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(11)
    ]
    assert statuses == [400] * 10 + [429], "a client naming other addresses is still counted as itself"


@pytest.fixture(scope="module")
def proxied_app(app):
    """The app behind one trusted reverse proxy, as create_app sets it up for
    LUMYX_TRUSTED_PROXIES=1 (tests/reliability/test_behind_haproxy.py starts real
    instances with the setting): one app, so the form limiter keeps its own store."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "LUMYX_TRUSTED_PROXIES", 1)
        patch.setitem(app.config, "LUMYX_ALLOWED_HOSTS", ("llm.example.com",))
        patch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1))
        yield app


def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(proxied_app, user):
    proxy = "10.99.0.1"
    attacker, owner = WebClient(proxied_app), WebClient(proxied_app)
    for client in (attacker, owner):
        client.client.environ_base["REMOTE_ADDR"] = proxy
    attacker.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    owner.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.8"
    statuses = [_log_in(attacker, _email(), "wrong password").status_code for _ in range(11)]
    assert statuses == [400] * 10 + [429]
    assert _log_in(owner, user[1], PASSWORD).status_code == 302, "the other client behind the proxy logs in"
    # The proxy's own address answers to the address the proxy forwarded for, spoofed entries before it are not believed.
    spoofer = WebClient(proxied_app)
    spoofer.client.environ_base["REMOTE_ADDR"] = proxy
    spoofer.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.55, 198.51.100.7"
    assert _log_in(spoofer, _email(), "wrong password").status_code == 429


def test_behind_a_trusted_proxy_its_forwarded_scheme_and_host_build_the_links(proxied_app):
    web = WebClient(proxied_app)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "llm.example.com"}
    html = unescape(web.get("/docs/getting-started", headers=headers).get_data(as_text=True))
    assert "curl https://llm.example.com/v1/chat/completions" in html
    forged = web.get("/docs/getting-started", headers={"X-Forwarded-Host": "evil.example"})
    assert forged.status_code == 400, "a forwarded host is checked as a Host header is"
