"""The address the server is reached at: only Host headers it serves are
answered (400 otherwise, in each side's format), LUMYX_PUBLIC_URL is the only base
URL of links when set, and pages rendered for someone logged in are never cached."""

from __future__ import annotations

import re
from html import unescape

import pytest

from lumyx.web.docs import SECTIONS
from tests.web.support import PASSWORD, WebClient

SAMPLE_RE = re.compile(r'data-sample-id="[^"]+"[^>]*>(.*?)</code>', re.S)


def _samples(html: str) -> str:
    return unescape("\n".join(SAMPLE_RE.findall(html)))


# -- which Host headers are answered --------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/docs/getting-started", "/models", "/login", "/no-such-page"])
def test_a_page_for_a_host_this_server_does_not_serve_is_refused(web, path):
    response = web.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html" and "does not answer for the host" in html
    assert "evil.example" not in html, "the host named is not echoed"
    assert "Content-Security-Policy" in response.headers


def test_a_form_post_to_an_unknown_host_is_refused_before_any_form_is_read(web, user):
    token = web.csrf("/login")
    response = web.post(
        "/login", data={"csrf_token": token, "email": user[1], "password": PASSWORD}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 400 and "does not answer for the host" in response.get_data(as_text=True)
    assert web.get("/dashboard/usage").status_code == 302, "not logged in"


@pytest.mark.parametrize("path", ["/v1/models", "/api/v1/models", "/v1/chat/completions", "/v1/nope"])
def test_the_api_answers_an_unknown_host_in_openai_format(web, key, path):
    response = web.post(
        path,
        json={"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Host": "evil.example", "Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request" and error["code"] == 400
    assert "does not answer for the host" in error["message"]
    assert "X-RateLimit-Limit" not in response.headers, "no key was identified or counted"


def test_the_api_answers_an_unknown_host_in_anthropic_format_on_messages(web, key):
    response = web.post(
        "/api/v1/messages",
        json={"model": "lumyx-local", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Host": "evil.example", "x-api-key": key},
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "does not answer for the host" in body["error"]["message"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "127.0.0.2", "[::1]:8000", "app.localhost:5000"])
def test_loopback_hosts_are_always_answered(web, key, host):
    assert web.get("/docs/getting-started", headers={"Host": host}).status_code == 200
    response = web.get("/v1/models", headers={"Host": host, "Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_allowed_hosts_are_answered_and_their_subdomains_when_named_with_a_dot(web, app, monkeypatch):
    monkeypatch.setitem(app.config, "LUMYX_ALLOWED_HOSTS", ("gateway.example.org", ".example.net"))
    for host, status in (
        ("gateway.example.org", 200),
        ("GATEWAY.example.org:8443", 200),
        ("llm.example.net", 200),
        ("example.net", 200),
        ("evil.gateway.example.org", 400),
        ("gateway.example.org.evil.example", 400),
        ("notexample.net", 400),
    ):
        assert web.get("/docs/getting-started", headers={"Host": host}).status_code == status, host
    html = web.get("/docs/getting-started", base_url="https://gateway.example.org").get_data(as_text=True)
    assert "curl https://gateway.example.org/v1/chat/completions" in _samples(html)


# -- LUMYX_PUBLIC_URL -----------------------------------------------------------------


@pytest.fixture
def public(app, monkeypatch):
    monkeypatch.setitem(app.config, "LUMYX_PUBLIC_URL", "https://llm.example.com")
    return "https://llm.example.com"


def test_with_a_public_url_the_docs_and_links_never_use_the_requests_host(web, public):
    everything = ""
    for slug, _ in SECTIONS:
        response = web.get(f"/docs/{slug}", headers={"Host": "127.0.0.1:8000"})
        assert response.status_code == 200
        everything += response.get_data(as_text=True)
    samples = _samples(everything)
    assert "127.0.0.1" not in samples and "localhost" not in samples
    assert "curl https://llm.example.com/v1/chat/completions" in samples
    assert 'base_url="https://llm.example.com/api/v1"' in samples
    home = web.get("/", headers={"Host": "localhost:5000"}).get_data(as_text=True)
    assert "https://llm.example.com/v1" in home and "localhost" not in home
    model = web.get("/models/gpt-5.2", headers={"Host": "localhost:5000"}).get_data(as_text=True)
    assert "https://llm.example.com/v1" in model and "localhost:5000" not in model
    catalog = web.get("/models?capability=tools", headers={"Host": "localhost:5000"}).get_data(as_text=True)
    assert 'href="https://llm.example.com/models?' in catalog and "localhost:5000" not in catalog


def test_with_a_public_url_a_forged_host_is_refused_and_its_own_host_answered(web, public):
    assert web.get("/docs/getting-started", headers={"Host": "evil.example"}).status_code == 400
    assert web.get("/docs/getting-started", headers={"Host": "llm.example.com"}).status_code == 200


def test_stripe_return_addresses_use_the_public_url(signed_in, stripe_fake, public):
    response = signed_in.post_form(
        "/dashboard/credits/checkout", {"package": "starter"}, token_from="/dashboard/credits"
    )
    assert response.status_code == 303
    session = stripe_fake.session(response.headers["Location"].rsplit("/", 1)[1])
    assert session["success_url"] == public + "/dashboard/credits/success?session_id={CHECKOUT_SESSION_ID}"
    assert session["cancel_url"] == public + "/dashboard/credits/cancel"


@pytest.mark.parametrize(
    "value, ok",
    [
        ("https://llm.example.com", "https://llm.example.com"),
        ("https://LLM.example.com:8443/", "https://llm.example.com:8443"),
        ("", None),
        ("llm.example.com", False),
        ("ftp://llm.example.com", False),
        ("https://llm.example.com/lumyx", False),
        ("https://user:pw@llm.example.com", False),
    ],
)
def test_a_public_url_that_is_not_a_sites_address_stops_the_server(monkeypatch, value, ok):
    from lumyx import config

    monkeypatch.setenv("LUMYX_PUBLIC_URL", value)
    if ok is False:
        with pytest.raises(SystemExit, match="LUMYX_PUBLIC_URL"):
            config._public_url()
    else:
        assert config._public_url() == ok


# -- caching ----------------------------------------------------------------------------

PAGES = ["/", "/docs/getting-started", "/models", "/models/gpt-5.2"]


def test_every_page_rendered_for_someone_logged_in_is_private_and_not_stored(signed_in):
    for path in PAGES + ["/dashboard/usage", "/dashboard/keys", "/dashboard/credits", "/dashboard/settings"]:
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
    assert "no-store" not in signed_in.get("/static/lumyx.css").headers.get("Cache-Control", ""), "files stay cacheable"


def test_admin_pages_are_private_and_not_stored(admin):
    for path in ("/admin/users", "/admin/providers"):
        assert admin.get(path).headers["Cache-Control"] == "private, no-store", path


def test_public_pages_for_visitors_keep_their_caching(app):
    web = WebClient(app)
    for path in PAGES:
        assert "no-store" not in web.get(path).headers.get("Cache-Control", ""), path
