"""Buying credits: packages, custom amounts, validation, configuration, and what
reaches Stripe (the stand-in) through the stripe library."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.fakes.stripe_api import decode_form
from tests.payments.conftest import MICRO, START_CREDITS
from tests.support.servers import flask_cli

PACKAGES = [("starter", 500, 500), ("popular", 2_000, 1_500), ("pro", 5_000, 3_000), ("power", 15_000, 7_500)]


def checkout_request(stripe_fake, session_id: str) -> dict:
    """The form body the stripe library posted for this session, decoded."""
    session = stripe_fake.session(session_id)
    for request in reversed(stripe_fake.requests()):
        if request["method"] == "POST" and request["path"] == "/v1/checkout/sessions":
            body = decode_form(request["body"])
            if body["metadata"] == session["metadata"]:
                return {**body, "_authorization": request["authorization"]}
    raise AssertionError("no checkout request for " + session_id)


def payment_count(app) -> int:
    from lumyx.db import db
    from lumyx.db.models import Payment

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Payment))


@pytest.mark.live
@pytest.mark.parametrize("package, credits, cents", PACKAGES)
def test_a_package_purchase_credits_exactly_the_package(shop, stripe_fake, package, credits, cents):
    session_id = shop.buy(package=package)
    assert shop.books().payments[session_id] == ("open", credits * MICRO, False)

    sent = checkout_request(stripe_fake, session_id)
    assert sent["_authorization"] == f"Bearer {stripe_fake.key}"
    assert sent["mode"] == "payment" and sent["automatic_tax"] == {"enabled": "true"}
    [item] = sent["line_items"]
    assert item["quantity"] == "1"
    assert item["price_data"]["currency"] == "usd" and item["price_data"]["unit_amount"] == str(cents)
    assert item["price_data"]["tax_behavior"] == "exclusive"
    assert sent["client_reference_id"] == str(shop.user_id) == sent["metadata"]["user_id"]
    assert sent["metadata"]["payment_id"].isdigit()

    event = stripe_fake.complete(session_id)
    tax = event["data"]["object"]["total_details"]["amount_tax"]
    assert tax > 0 and event["data"]["object"]["amount_total"] == cents + tax, "Stripe charged tax on top"
    assert shop.delivered(event) == "credited"

    books = shop.books()
    assert books.balance == START_CREDITS + credits * MICRO, "the package's credits, whatever the tax"
    assert books.purchases() == [(credits * MICRO, "purchase", f"stripe:{session_id}")]
    assert books.payments[session_id] == ("credited", credits * MICRO, True)


@pytest.mark.live
@pytest.mark.parametrize(
    "amount, credits", [("2", 200), (1000, 100_000), ("12.34", 1_234), (Decimal("999.99"), 99_999), (7.5, 750)]
)
def test_a_custom_amount_buys_100_credits_per_dollar(shop, stripe_fake, amount, credits):
    session_id = shop.buy(amount_usd=amount)
    assert checkout_request(stripe_fake, session_id)["line_items"][0]["price_data"]["unit_amount"] == str(credits)
    assert shop.delivered(stripe_fake.complete(session_id)) == "credited"
    books = shop.books()
    assert books.balance == START_CREDITS + credits * MICRO
    assert books.purchases() == [(credits * MICRO, "purchase", f"stripe:{session_id}")]


@pytest.mark.parametrize(
    "choice, message",
    [
        ({"package": "gold"}, "unknown package 'gold'"),
        ({"package": ""}, "unknown package"),
        ({"amount_usd": "1.99"}, "from $2 to $1,000"),
        ({"amount_usd": 1000.01}, "from $2 to $1,000"),
        ({"amount_usd": -5}, "from $2 to $1,000"),
        ({"amount_usd": "12.345"}, "whole cents"),
        ({"amount_usd": 0.1 + 0.2}, "whole cents"),
        ({"amount_usd": "ten"}, "number of dollars"),
        ({"amount_usd": "NaN"}, "number of dollars"),
        ({"amount_usd": True}, "number of dollars"),
        ({}, "either a package or a custom amount"),
        ({"package": "starter", "amount_usd": 5}, "either a package or a custom amount"),
    ],
)
def test_a_bad_package_or_amount_is_refused_before_stripe(app, account, stripe_fake, choice, message):
    from lumyx.billing import payments
    from lumyx.db import db
    from lumyx.db.models import User

    before, calls = payment_count(app), len(stripe_fake.requests())
    with app.app_context(), pytest.raises(payments.InvalidPurchase, match=re.escape(message)) as caught:
        payments.start_checkout(
            db.session.get(User, account[0]), success_url="https://x/ok", cancel_url="https://x/no", **choice
        )
    assert isinstance(caught.value, ValueError)
    assert payment_count(app) == before and len(stripe_fake.requests()) == calls


def test_without_stripe_keys_buying_says_payments_are_not_configured(app, account, monkeypatch):
    from lumyx.billing import payments
    from lumyx.db import db
    from lumyx.db.models import User

    before = payment_count(app)
    for missing in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        with monkeypatch.context() as patch, app.app_context():
            patch.setitem(app.config, missing, None)
            assert not payments.is_configured()
            with pytest.raises(payments.NotConfigured, match="payments are not configured"):
                payments.start_checkout(
                    db.session.get(User, account[0]),
                    package="starter",
                    success_url="https://x/ok",
                    cancel_url="https://x/no",
                )
            response = app.test_client().post("/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1"})
            assert response.status_code == 503 and "not configured" in response.get_json()["error"]
    assert payment_count(app) == before


def test_reconcile_command_without_stripe_keys_fails_with_one_line(app, server_env):
    env = {k: v for k, v in server_env.items() if not k.startswith("STRIPE_")}
    result = flask_cli(env, "reconcile-payments", check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Error: payments are not configured (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)"
    )


def test_when_stripe_is_unreachable_nothing_is_recorded(app, account, monkeypatch):
    from lumyx.billing import payments
    from lumyx.db import db
    from lumyx.db.models import User
    from tests.support.servers import free_port

    before = payment_count(app)
    with app.app_context():
        monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
        with pytest.raises(payments.StripeUnavailable, match="try again"):
            payments.start_checkout(
                db.session.get(User, account[0]), package="pro", success_url="https://x/ok", cancel_url="https://x/no"
            )
    assert payment_count(app) == before
