"""Web sessions end: log-out ends every copy of the session cookie (and the account's
other sessions), "log out everywhere else" ends the other browsers' and keeps this one."""

from __future__ import annotations

from tests.web.support import PASSWORD, WebClient


def _logged_in(app, email: str) -> WebClient:
    browser = WebClient(app)
    response = browser.post_form("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/usage"
    return browser


def _with_cookie(app, cookie: str) -> WebClient:
    browser = WebClient(app)
    browser.client.set_cookie("session", cookie)
    return browser


def _is_logged_in(browser: WebClient) -> bool:
    response = browser.get("/dashboard/usage")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")
        return False
    assert response.status_code == 200
    return True


def test_a_copied_session_cookie_stops_working_at_log_out(app, user):
    browser = _logged_in(app, user[1])
    cookie = browser.client.get_cookie("session").value
    copy = _with_cookie(app, cookie)
    assert _is_logged_in(copy), "the copy works while the session lasts"

    response = browser.post_form("/logout", {}, token_from="/dashboard/usage")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not _is_logged_in(browser)
    assert not _is_logged_in(copy)
    assert not _is_logged_in(_with_cookie(app, cookie)), "the cookie as it was before log-out, sent again"


def test_log_out_ends_the_accounts_sessions_in_other_browsers_too(app, user):
    laptop, phone = _logged_in(app, user[1]), _logged_in(app, user[1])
    laptop.post_form("/logout", {}, token_from="/dashboard/usage")
    assert not _is_logged_in(phone)
    assert _is_logged_in(_logged_in(app, user[1])), "a new log-in works"


def test_log_out_everywhere_else_keeps_this_browser_only(app, user, make_user):
    here, there = _logged_in(app, user[1]), _logged_in(app, user[1])
    copy_of_here = _with_cookie(app, here.client.get_cookie("session").value)
    someone_else = _logged_in(app, make_user()[1])

    page = here.get("/dashboard/settings").get_data(as_text=True)
    assert "Log out everywhere else" in page
    response = here.post_form("/dashboard/settings/log-out-everywhere-else", {}, token_from="/dashboard/settings")
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/settings"
    assert "Every other browser and device is logged out" in here.get("/dashboard/settings").get_data(as_text=True)

    assert _is_logged_in(here)
    assert not _is_logged_in(there)
    assert not _is_logged_in(copy_of_here), "a copy of this browser's cookie taken before ends too"
    assert _is_logged_in(someone_else), "other accounts are not touched"


def test_log_out_everywhere_else_needs_the_csrf_token(signed_in):
    assert signed_in.post("/dashboard/settings/log-out-everywhere-else").status_code == 400
    assert _is_logged_in(signed_in)


def test_a_forged_or_malformed_session_id_is_no_session(app, user):
    for session_id in (f"{user[0]}:7", f"{user[0]}:x", "x", ":", ""):
        browser = WebClient(app)
        with browser.client.session_transaction() as session:
            session["_user_id"] = session_id
        assert not _is_logged_in(browser), session_id
