"""The account's basics as its owner meets them: changing the password (the other
sessions end), changing the e-mail, deleting the account (balance shown first, keys
refused after), the time zone taken from the browser at sign-up, key names refused
past their length, the catalog's notice of an ignored filter, the docs for a
logged-in reader and the error pages in the site's words."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from tests.web.support import PASSWORD, WebClient

NEW_PASSWORD = "a different long passphrase"


def _logged_in(app, email: str, password: str = PASSWORD) -> WebClient:
    browser = WebClient(app)
    response = browser.post_form("/login", {"email": email, "password": password})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/usage", "log-in works"
    return browser


def _can_log_in(app, email: str, password: str) -> bool:
    response = WebClient(app).post_form("/login", {"email": email, "password": password})
    assert response.status_code in (302, 400), "logged in, or the form says the password is wrong"
    return response.status_code == 302


def _is_logged_in(browser: WebClient) -> bool:
    return browser.get("/dashboard/usage").status_code == 200


def _user(app, user_id: int):
    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_changing_the_password_ends_the_other_sessions(app, user):
    here, there = _logged_in(app, user[1]), _logged_in(app, user[1])
    page = here.get("/dashboard/settings").get_data(as_text=True)
    assert "Change password" in page and 'autocomplete="current-password"' in page

    response = here.post_form(
        "/dashboard/settings/password",
        {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/dashboard/settings",
    )
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/settings"
    assert "Every other browser and device is logged out" in here.get("/dashboard/settings").get_data(as_text=True)
    assert _is_logged_in(here), "the browser that changed it stays logged in"
    assert not _is_logged_in(there), "the second logged-in browser is logged out"
    assert not _can_log_in(app, user[1], PASSWORD)
    assert _can_log_in(app, user[1], NEW_PASSWORD)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"current": "not my password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "The current password is wrong.",
        ),
        ({"current": PASSWORD, "new": "short", "confirm": "short"}, "Use at least 8 characters"),
        ({"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "The passwords differ."),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(app, user, form, message):
    browser = _logged_in(app, user[1])
    response = browser.post_form("/dashboard/settings/password", form, token_from="/dashboard/settings")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _is_logged_in(browser) and _can_log_in(app, user[1], PASSWORD)


def test_the_email_changes_with_the_password_and_log_in_follows_it(app, user, make_user):
    browser = _logged_in(app, user[1])
    taken = make_user()[1]
    new_email = f"Moved-{uuid.uuid4().hex[:8]}@Example.com"

    for data, message in (
        ({"email": new_email, "password": "wrong password"}, "The current password is wrong."),
        ({"email": taken, "password": PASSWORD}, "Another account uses that address."),
        ({"email": "not an address", "password": PASSWORD}, "Not a valid email address."),
    ):
        response = browser.post_form("/dashboard/settings/email", data, token_from="/dashboard/settings")
        assert response.status_code == 400 and message in response.get_data(as_text=True), data
    assert _user(app, user[0]).email == user[1]

    response = browser.post_form(
        "/dashboard/settings/email", {"email": new_email, "password": PASSWORD}, token_from="/dashboard/settings"
    )
    assert response.status_code == 303
    assert f"Log in with {new_email.lower()} from now on" in browser.get("/dashboard/settings").get_data(as_text=True)
    assert _user(app, user[0]).email == new_email.lower()
    assert _can_log_in(app, new_email, PASSWORD) and not _can_log_in(app, user[1], PASSWORD)


@pytest.mark.live
def test_deleting_the_account_shows_the_balance_then_revokes_keys_and_log_in(app, user, live):
    browser = _logged_in(app, user[1])
    other_browser = _logged_in(app, user[1])
    created = browser.post_form("/dashboard/keys", {"name": "to be closed"}).get_data(as_text=True)
    key = re.search(r'<code id="new-key-value">([^<]+)</code>', created).group(1)
    call = {"model": "lumyx-local", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.post(live.url + "/v1/chat/completions", json=call, headers=headers, timeout=30).status_code == 200

    confirm = browser.get("/dashboard/settings/delete")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert re.search(r'id="closing-balance">25\.00 credits \(\$0\.25\)', html), "the balance before confirming"
    assert "1 active" in html and "not refunded" in html

    refused = browser.post_form("/dashboard/settings/delete", {"password": "wrong password"})
    assert refused.status_code == 400 and "The current password is wrong." in refused.get_data(as_text=True)
    assert _user(app, user[0]).deleted_at is None

    response = browser.post_form("/dashboard/settings/delete", {"password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Your account is deleted" in browser.get("/").get_data(as_text=True)
    assert not _is_logged_in(browser) and not _is_logged_in(other_browser)
    assert not _can_log_in(app, user[1], PASSWORD), "log-in refused"

    deadline = time.monotonic() + 5  # the live server caches keys for LUMYX_AUTH_CACHE_SECONDS=1
    while True:
        status = requests.post(live.url + "/v1/chat/completions", json=call, headers=headers, timeout=30).status_code
        if status == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 401

    closed = _user(app, user[0])
    assert closed.deleted_at is not None and closed.email.endswith("@closed.invalid")
    assert closed.balance == 25_000_000, "ledger and balance stay for the operator's accounts"
    signup = WebClient(app).post_form("/register", {"email": user[1], "password": PASSWORD, "confirm": PASSWORD})
    assert signup.status_code == 302, "the address is free for a new account"


@pytest.mark.parametrize(("sent", "stored"), [("Asia/Tokyo", "Asia/Tokyo"), ("Mars/Olympus_Mons", "America/New_York")])
def test_the_browsers_time_zone_is_stored_at_sign_up(app, web, sent, stored):
    page = web.get("/register").get_data(as_text=True)
    assert re.search(r'<input data-browser-timezone[^>]*name="timezone" type="hidden"', page)
    email = f"tz-{uuid.uuid4().hex[:10]}@example.com"
    response = web.post_form("/register", {"email": email, "password": PASSWORD, "confirm": PASSWORD, "timezone": sent})
    assert response.status_code == 302
    assert stored in web.get("/dashboard/settings").get_data(as_text=True)

    from lumyx.accounts import users as accounts

    with app.app_context():
        assert accounts.find_by_email(email).timezone == stored


def test_a_pasted_ten_thousand_character_key_name_is_refused_with_its_length(signed_in):
    form = signed_in.get("/dashboard/keys").get_data(as_text=True)
    name_input = re.search(r'<input[^>]*id="name"[^>]*>', form).group(0)
    assert "maxlength" not in name_input, "the browser must not cut a pasted name silently"
    response = signed_in.post_form("/dashboard/keys", {"name": "n" * 10_000})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "new-key-value" not in html
    assert "A key name is at most 100 characters; this one has 10,000." in html
    assert signed_in.post_form("/dashboard/keys", {"name": "n" * 100}).status_code == 200


def test_the_catalog_says_which_filter_it_ignored(web):
    html = web.get("/models?min_context=abc").get_data(as_text=True)
    assert "Ignored min_context: not a number" in html
    assert 'name="min_context"' in html and 'value=""' in re.search(r'<input[^>]*id="min_context"[^>]*>', html).group(0)
    assert "Ignored min_context" not in web.get("/models?min_context=128000").get_data(as_text=True)


def test_a_logged_in_reader_sees_their_keys_prefix_in_the_docs(app, web, signed_in):
    logged_out = WebClient(app).get("/docs/getting-started").get_data(as_text=True)
    assert "Create an account" in logged_out and "lx-your-api-key" in logged_out

    assert "Create an account" not in signed_in.get("/docs/getting-started").get_data(as_text=True)
    created = signed_in.post_form("/dashboard/keys", {"name": "docs"}).get_data(as_text=True)
    key = re.search(r'<code id="new-key-value">([^<]+)</code>', created).group(1)
    html = signed_in.get("/docs/getting-started").get_data(as_text=True)
    assert f"Bearer {key[:10]}…" in html and "lx-your-api-key" not in html and key not in html
    assert "Create an account" not in html


def test_the_anthropic_typescript_sample_is_in_the_docs(web):
    html = web.get("/docs/anthropic-messages").get_data(as_text=True)
    assert "import Anthropic from &#34;@anthropic-ai/sdk&#34;;" in html and "npm install @anthropic-ai/sdk" in html
    assert "import anthropic" in html, "beside the Python one"


def test_a_missing_page_speaks_the_sites_words_and_leads_back(web):
    response = web.get("/no/such/page", headers={"Referer": "http://localhost/models?free=1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "<h1>Page not found</h1>" in html
    assert "There is no page at this address" in html and "requested URL was not found" not in html
    assert '<a href="/models?free=1">Back to the page you were on</a>' in html
    assert '<a href="/docs">Documentation</a>' in html

    elsewhere = web.get("/no/such/page", headers={"Referer": "https://elsewhere.example/x"}).get_data(as_text=True)
    assert "Back to the page you were on" not in elsewhere and "The start page" in elsewhere
    model = web.get("/models/no-such-model").get_data(as_text=True)
    assert "There is no model &#39;no-such-model&#39; in this catalog." in model, "a page's own reason is kept"


def test_a_forbidden_page_speaks_the_sites_words(signed_in):
    response = signed_in.get("/admin/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "<h1>Not allowed</h1>" in html
    assert "Your account cannot open this page" in html and "Your dashboard" in html


def test_the_api_keeps_its_json_errors(web):
    response = web.get("/v1/no-such-endpoint")
    assert response.status_code == 404 and response.is_json


def test_the_personas_form_starts_on_a_working_model_and_marks_the_others(signed_in):
    html = signed_in.get("/dashboard/personas").get_data(as_text=True)
    select = html[html.index("<select", html.index('for="model"')) : html.index("</select>")]
    options = re.findall(r'<option( selected)? value="([^"]+)">([^<]*)</option>', select)
    assert options[0][0] == " selected" and "needs a provider key" not in options[0][2], "a model this instance serves"
    labels = {value: label for _, value, label in options}
    assert labels["nokey-chat"].endswith("— needs a provider key") and "needs" not in labels["gpt-5.2"]
    served = [value for _, value, label in options if "needs a provider key" not in label]
    assert [value for _, value, _ in options][: len(served)] == served, "the models served come first"


def test_the_admin_sees_a_deleted_account_as_deleted(app, make_user, admin):
    user_id, email = make_user(credits=3)
    from lumyx.accounts import owner_changes
    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        owner_changes.close(db.session.get(User, user_id), PASSWORD)
    listing = admin.get(f"/admin/users?q=closed-{user_id}@").get_data(as_text=True)
    assert f"closed-{user_id}@closed.invalid" in listing and ">Deleted</span>" in listing
    page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert 'id="account-deleted"' in page and "3.00" in page
