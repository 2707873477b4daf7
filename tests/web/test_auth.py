"""Sign-up, log-in, log-out: Flask-Login sessions, scrypt hashes, throttled per address."""

from __future__ import annotations

import uuid

from tests.web.support import PASSWORD, WebClient


def _email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.com"


def test_sign_up_logs_in_and_sends_you_to_your_keys(web, app):
    email = _email()
    response = web.post_form("/register", {"email": email, "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/keys"
    page = web.get("/dashboard/keys").get_data(as_text=True)
    assert email in page and "Welcome to Lumyx" in page

    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.find_by_email(email)
        assert user.plan == "free" and user.balance == 0 and not user.is_admin
        assert user.password_hash.startswith("scrypt:"), "a current KDF"


def test_sign_up_explains_what_is_wrong(web, user):
    cases = [
        ({"email": user[1], "password": PASSWORD, "confirm": PASSWORD}, "exists already"),
        ({"email": _email(), "password": "short", "confirm": "short"}, "at least 8"),
        ({"email": _email(), "password": PASSWORD, "confirm": PASSWORD + "x"}, "The passwords differ"),
        ({"email": "not-an-email", "password": PASSWORD, "confirm": PASSWORD}, "Not a valid email address"),
        ({"email": "", "password": PASSWORD, "confirm": PASSWORD}, "This field is required"),
    ]
    for data, message in cases:
        response = web.post_form("/register", data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), data
        assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_log_in_and_out(web, user):
    response = web.post_form("/login", {"email": user[1].upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/usage"
    assert web.get("/dashboard/usage").status_code == 200
    response = web.post_form("/logout", {}, token_from="/dashboard/usage")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert web.get("/dashboard/usage").status_code == 302


def test_wrong_password_or_unknown_email_says_the_same(web, user):
    for email, password in ((user[1], "wrong password"), (_email(), PASSWORD)):
        response = web.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 400
        assert "Wrong email or password." in response.get_data(as_text=True)
    assert web.get("/dashboard/usage").status_code == 302


def test_an_unknown_email_costs_a_hash_check_of_the_default_method_and_cost():
    """The hash an unknown email is checked against (so that a log-in takes as long
    either way) is written out in the code: it must be what a password gets hashed with."""
    from werkzeug.security import check_password_hash, generate_password_hash

    from lumyx.accounts import users

    method = generate_password_hash("any password").split("$")[0]
    assert users._DUMMY_HASH.split("$")[0] == method == "scrypt:32768:8:1"
    assert check_password_hash(users._DUMMY_HASH, "lumyx-no-such-user")


def test_log_in_returns_to_the_page_asked_for_but_only_on_this_site(web, user):
    page = web.get("/dashboard/credits")
    assert page.headers["Location"] == "/login?next=%2Fdashboard%2Fcredits"
    response = web.post_form(
        "/login?next=%2Fdashboard%2Fcredits", {"email": user[1], "password": PASSWORD}, token_from="/login"
    )
    assert response.headers["Location"] == "/dashboard/credits"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        other = WebClient(web.app)
        response = other.post_form(f"/login?next={evil}", {"email": user[1], "password": PASSWORD}, token_from="/login")
        assert response.headers["Location"] == "/dashboard/usage", evil


def test_logged_in_users_skip_the_forms(signed_in):
    assert signed_in.get("/login").headers["Location"] == "/dashboard/usage"
    assert signed_in.get("/register").headers["Location"] == "/dashboard/usage"


def test_log_in_is_throttled_per_address(app, user):
    web = WebClient(app)
    statuses = [
        web.post_form("/login", {"email": _email(), "password": "wrong password"}).status_code for _ in range(11)
    ]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429
    refused = web.post_form("/login", {"email": user[1], "password": PASSWORD})
    assert refused.status_code == 429 and "Too many log-ins from your address; try again in" in refused.get_data(
        as_text=True
    )
    assert web.get("/login").status_code == 200, "reading the form is not throttled"
    other = WebClient(app)
    assert other.post_form("/login", {"email": user[1], "password": PASSWORD}).status_code == 302


def test_sign_up_is_throttled_per_address(app):
    web = WebClient(app)
    statuses = [
        web.post_form("/register", {"email": "bad", "password": "x", "confirm": "y"}).status_code for _ in range(6)
    ]
    assert statuses == [400] * 5 + [429]


def test_the_dashboard_opens_on_usage(signed_in):
    assert signed_in.get("/dashboard").headers["Location"] == "/dashboard/usage"


def test_sign_up_takes_only_an_email_address_never_markup(app):
    from lumyx.accounts import users as accounts

    for address in (
        "<script>alert(1)</script>@x.io",
        "a<b>c@x.io",
        '"<img src=x onerror=alert(1)>"@x.io',
        "Ann <ann@x.io>",
        "ann@x.io<script>",
        "ann@[127.0.0.1]",
    ):
        web = WebClient(app)  # (sign-ups are throttled per address)
        response = web.post_form("/register", {"email": address, "password": PASSWORD, "confirm": PASSWORD})
        assert response.status_code == 400, address
        assert "Not a valid email address" in response.get_data(as_text=True), address
        with app.app_context():
            assert accounts.find_by_email(address) is None, address
            try:
                accounts.create_user(address, PASSWORD)
            except accounts.AccountError as exc:
                assert "not a valid email address" in str(exc)
            else:
                raise AssertionError(f"{address} was taken as an account's email")
