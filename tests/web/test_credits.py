"""Credits: balance, the four packages and a custom amount through Stripe Checkout
(the stand-in), the return pages, and the ledger history with HTMX pages."""

from __future__ import annotations

import re

import pytest


def test_the_page_shows_available_credits_packages_and_history(signed_in, app, user):
    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        db.session.get(User, user[0]).held = 5 * 1_000_000
        db.session.commit()
    html = signed_in.get("/dashboard/credits").get_data(as_text=True)
    assert re.search(r'id="balance-available">20\.00<', html), "balance − held"
    assert re.search(r'id="balance-total">25\.00<', html) and "5.00 held by requests in flight" in html
    for text in (
        "Starter",
        "$5",
        "500 credits",
        "Popular",
        "Best value",
        "$15",
        "2,000 credits",
        "Pro",
        "$30",
        "5,000 credits",
        "Power",
        "$75",
        "15,000 credits",
        "From $2 to $1,000",
    ):
        assert text in html, text
    assert "initial credits" in html and "+25.0000" in html
    assert "payments-not-configured" not in html


def _checkout(signed_in, data: dict):
    return signed_in.post_form("/dashboard/credits/checkout", data, token_from="/dashboard/credits")


@pytest.mark.parametrize("package, cents", [("starter", 500), ("popular", 1500), ("pro", 3000), ("power", 7500)])
def test_buying_a_package_goes_to_stripe_checkout(signed_in, stripe_fake, package, cents):
    response = _checkout(signed_in, {"package": package})
    assert response.status_code == 303
    url = response.headers["Location"]
    assert url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    session = stripe_fake.session(url.rsplit("/", 1)[1])
    assert session["amount_subtotal"] == cents
    assert session["success_url"] == "http://localhost/dashboard/credits/success?session_id={CHECKOUT_SESSION_ID}"
    assert session["cancel_url"] == "http://localhost/dashboard/credits/cancel"


def test_a_custom_amount_goes_to_checkout_and_bad_ones_are_refused(signed_in, stripe_fake):
    response = _checkout(signed_in, {"amount": "12.34"})
    assert response.status_code == 303
    session = stripe_fake.session(response.headers["Location"].rsplit("/", 1)[1])
    assert session["amount_subtotal"] == 1234
    for amount, message in (
        ("1.99", "From $2 to $1,000."),
        ("1000.01", "From $2 to $1,000."),
        ("ten", "Not a valid decimal"),
        ("", "This field is required"),
    ):
        response = _checkout(signed_in, {"amount": amount})
        assert response.status_code == 400, amount
        assert message in response.get_data(as_text=True), amount


def test_an_unknown_package_is_explained(signed_in):
    response = _checkout(signed_in, {"package": "gold"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/credits"
    assert "unknown package" in signed_in.get("/dashboard/credits").get_data(as_text=True)


def test_without_stripe_keys_the_page_says_payments_are_not_configured(signed_in, app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    html = signed_in.get("/dashboard/credits").get_data(as_text=True)
    assert 'id="payments-not-configured"' in html and "Payments are not configured" in html
    assert html.count("disabled") >= 5
    response = _checkout(signed_in, {"package": "starter"})
    assert response.headers["Location"] == "/dashboard/credits"
    assert "Payments are not configured on this instance" in signed_in.get("/dashboard/credits").get_data(as_text=True)


def test_the_return_pages(signed_in):
    success = signed_in.get("/dashboard/credits/success?session_id=cs_test_x").get_data(as_text=True)
    assert "Thank you" in success and "25.00" in success
    assert "Checkout cancelled" in signed_in.get("/dashboard/credits/cancel").get_data(as_text=True)


def test_the_history_is_paginated_with_htmx(signed_in, app, user):
    from lumyx.billing import ledger

    with app.app_context():
        for i in range(45):
            ledger.post(user[0], 1_000_000, "grant", note=f"gift {i}")
    first = signed_in.get("/dashboard/credits").get_data(as_text=True)
    assert "gift 44" in first and "gift 25" in first and "gift 24" not in first
    assert "Page 1 of 3" in first and 'hx-get="/dashboard/credits?page=2"' in first
    partial = signed_in.htmx("/dashboard/credits?page=3")
    html = partial.get_data(as_text=True)
    assert html.startswith('<div id="ledger">') and "<html" not in html
    assert "gift 0" in html and "initial credits" in html and "Page 3 of 3" in html
    assert "Page 3 of 3" in signed_in.get("/dashboard/credits?page=99").get_data(as_text=True)


def test_checkouts_are_throttled_per_account_with_a_message(signed_in, app, make_user, stripe_fake):
    for _ in range(10):
        response = _checkout(signed_in, {"package": "no-such-package"})
        assert response.status_code == 303 and response.headers["Location"] == "/dashboard/credits"
    response = _checkout(signed_in, {"package": "starter"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/credits", "not to Stripe"
    assert "many checkouts in a short time" in signed_in.get("/dashboard/credits").get_data(as_text=True)

    from tests.web.support import WebClient

    other = WebClient(app)
    other.login_as(make_user()[0])
    response = _checkout(other, {"package": "starter"})
    assert response.headers["Location"].startswith("https://checkout.stripe.com/"), "another account is not held back"


def test_best_value_sits_on_the_lowest_price_per_credit(signed_in, web):
    for html in (
        signed_in.get("/dashboard/credits").get_data(as_text=True),
        web.get("/docs/credits").get_data(as_text=True),
    ):
        assert html.count("Best value") == 1
        marked = html[: html.index("Best value")]
        assert marked.rindex("Power") > max(marked.rfind(name) for name in ("Starter", "Popular", "Pro<"))
    page = signed_in.get("/dashboard/credits").get_data(as_text=True)
    assert '<div class="package best">\n      <h3>Power</h3>' in page and "$0.0050 per credit" in page
