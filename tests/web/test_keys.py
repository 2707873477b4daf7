"""API keys: created and shown once, listed by prefix and last use, revoked (the
live server refuses a revoked key within its key-cache time)."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.web.support import WebClient


def create(web: WebClient, name: str = "") -> tuple[str, str]:
    response = web.post_form("/dashboard/keys", {"name": name})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    return re.search(r'<code id="new-key-value">([^<]+)</code>', html).group(1), html


def test_a_new_key_is_shown_once_with_a_copy_button(signed_in):
    key, html = create(signed_in, "laptop")
    assert key.startswith("lx-") and len(key) == 46
    assert 'data-copy-target="new-key-value"' in html and "shown only this once" in html and "“laptop”" in html
    listing = signed_in.get("/dashboard/keys").get_data(as_text=True)
    assert key not in listing, "never shown again"
    row = listing[listing.index(f'data-key-prefix="{key[:10]}"') :].split("</tr>")[0]
    assert "laptop" in row and "Never" in row and "Active" in row and "Revoke" in row


def test_key_names_are_optional_and_bounded(signed_in):
    key, html = create(signed_in)
    assert key.startswith("lx-") and "Your new key</h2>" in html
    response = signed_in.post_form("/dashboard/keys", {"name": "x" * 101})
    assert response.status_code == 400 and "new-key-value" not in response.get_data(as_text=True)


@pytest.mark.live
def test_a_key_works_shows_its_last_use_and_stops_working_once_revoked(signed_in, live):
    key, _ = create(signed_in, "live")
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}
    assert requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30).status_code == 200
    deadline = time.monotonic() + 5  # the last use is recorded after the response
    while True:
        listing = signed_in.get("/dashboard/keys").get_data(as_text=True)
        row = listing[listing.index(f'data-key-prefix="{key[:10]}"') :].split("</tr>")[0]
        if "Never" not in row or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "Never" not in row, "last use is recorded"
    key_id = re.search(rf'id="key-(\d+)" data-key-prefix="{re.escape(key[:10])}"', listing).group(1)

    response = signed_in.post_form(f"/dashboard/keys/{key_id}/revoke", {}, token_from="/dashboard/keys")
    assert response.status_code == 302
    assert "The key is revoked" in signed_in.get("/dashboard/keys").get_data(as_text=True)
    deadline = time.monotonic() + 5  # the live server caches keys for LUMYX_AUTH_CACHE_SECONDS=1
    while True:
        status = requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30).status_code
        if status == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 401


def test_revoke_clears_this_workers_key_cache(signed_in, app):
    from lumyx import runtime

    key, _ = create(signed_in)
    with app.app_context():
        cache = runtime.get().keys
        assert cache.authenticate(key) is not None
        listing = signed_in.get("/dashboard/keys").get_data(as_text=True)
        key_id = re.search(rf'id="key-(\d+)" data-key-prefix="{re.escape(key[:10])}"', listing).group(1)
        token = signed_in.csrf("/dashboard/keys")
        response = signed_in.post(
            f"/dashboard/keys/{key_id}/revoke", headers={"HX-Request": "true", "X-CSRFToken": token}
        )
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert html.startswith(f'<tr id="key-{key_id}"') and "Revoked" in html and "<html" not in html
        assert cache.authenticate(key) is None, "refused at once by this worker"


def test_nobody_revokes_someone_elses_key(signed_in, make_user, app):
    from lumyx.accounts import keys
    from lumyx.db import db
    from lumyx.db.models import User

    other_id, _ = make_user()
    with app.app_context():
        row, _ = keys.create_key(db.session.get(User, other_id), "theirs")
        key_id = row.id
    response = signed_in.post_form(f"/dashboard/keys/{key_id}/revoke", {}, token_from="/dashboard/keys")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(keys.ApiKey, key_id).revoked_at is None
    again = signed_in.post_form(
        f"/dashboard/keys/{key_id}/revoke", {"csrf_token": "forged"}, token_from="/dashboard/keys"
    )
    assert again.status_code == 400, "a forged CSRF token is refused before the key is looked up"


def test_a_key_with_limits_is_listed_with_its_limit_models_and_expiry(signed_in):
    response = signed_in.post_form(
        "/dashboard/keys", {"name": "handed", "limit": "7.5", "models": "gpt-5.2,lumyx-local", "expires_days": "30"}
    )
    assert response.status_code == 200
    key = re.search(r'<code id="new-key-value">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    listing = signed_in.get("/dashboard/keys").get_data(as_text=True)
    row = listing[listing.index(f'data-key-prefix="{key[:10]}"') :].split("</tr>")[0]
    assert "0.00 / 7.50" in row and "<code>gpt-5.2</code>" in row and "<code>lumyx-local</code>" in row
    assert "Never" in row and "No expiry" not in row and "Active" in row  # never used; the expiry is a date
    unlimited, _ = create(signed_in, "plain")
    listing = signed_in.get("/dashboard/keys").get_data(as_text=True)
    row = listing[listing.index(f'data-key-prefix="{unlimited[:10]}"') :].split("</tr>")[0]
    assert "Any" in row and " / " not in row and "No expiry" in row


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"limit": "lots"}, "Bad limit"),
        ({"limit": "0"}, "Bad limit"),
        ({"models": "gpt-5.2, not-a-model"}, "Unknown model: not-a-model"),
        ({"expires_days": "-3"}, "Bad expiry"),
    ],
)
def test_bad_limits_are_refused_on_the_form_with_their_reason(signed_in, form, message):
    response = signed_in.post_form("/dashboard/keys", {"name": "bad", **form})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "new-key-value" not in html
    assert message in html and 'aria-invalid="true"' in html and '<details class="key-limits" open>' in html


def test_the_key_form_needs_its_csrf_token(signed_in):
    response = signed_in.post("/dashboard/keys", data={"name": "forged", "limit": "5", "csrf_token": "forged"})
    assert response.status_code == 400 and "new-key-value" not in response.get_data(as_text=True)
