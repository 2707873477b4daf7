"""Forms are sent from this site: a change with a valid CSRF token is still refused
(403) when the browser's Origin, or without one its Referer, names another site."""

from __future__ import annotations

import pytest

SITE = "http://localhost"


def _change_timezone(web, **headers):
    return web.post_form(
        "/dashboard/settings", {"timezone": "Asia/Tokyo"}, token_from="/dashboard/settings", headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "https://localhost"},  # another scheme is another origin
        {"Origin": "http://localhost:8080"},  # and so is another port
        {"Origin": "null"},
        {"Origin": "https://evil.example", "Referer": SITE + "/dashboard/settings"},
        {"Referer": "https://evil.example/page"},
    ],
)
def test_a_change_from_another_origin_is_refused_with_a_valid_token(signed_in, app, user, headers):
    response = _change_timezone(signed_in, **headers)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "sent from another site" in response.get_data(as_text=True)

    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        assert db.session.get(User, user[0]).timezone == "America/New_York"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": SITE},
        {"Origin": "HTTP://LOCALHOST"},
        {"Referer": SITE + "/dashboard/settings"},
        {"Origin": SITE, "Referer": "https://evil.example/"},
        {},  # neither header (not a browser): the CSRF token decides
    ],
)
def test_a_change_from_this_site_goes_through(signed_in, headers):
    response = _change_timezone(signed_in, **headers)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/settings"


def test_log_in_and_log_out_are_forms_too(web, user):
    from tests.web.support import PASSWORD

    data = {"email": user[1], "password": PASSWORD}
    assert web.post_form("/login", data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert web.post_form("/login", data, headers={"Origin": SITE}).status_code == 302
    logout = web.post_form("/logout", {}, token_from="/dashboard/usage", headers={"Origin": "https://evil.example"})
    assert logout.status_code == 403 and web.get("/dashboard/usage").status_code == 200


def test_the_api_and_stripes_webhook_are_not_checked(web, key):
    api = web.post(
        "/v1/embeddings",
        json={"model": "lumyx-local-embed", "input": "hi"},
        headers={"Authorization": f"Bearer {key}", "Origin": "https://evil.example"},
    )
    assert api.status_code == 200
    webhook = web.post("/webhooks/stripe", data=b"{}", headers={"Origin": "https://evil.example"})
    assert webhook.status_code == 400 and "error" in webhook.get_json(), "refused for its signature, not its origin"


def test_a_change_from_the_public_url_goes_through_when_no_proxy_passes_its_host(signed_in, app, monkeypatch):
    """Behind a proxy that sends the instance's own address as Host, the browser's
    Origin is the public URL: that is this site too; another site still is not."""
    monkeypatch.setitem(app.config, "LUMYX_PUBLIC_URL", "https://llm.example.com")
    assert _change_timezone(signed_in, Origin="https://llm.example.com").status_code == 302
    assert _change_timezone(signed_in, Origin="https://evil.example").status_code == 403
