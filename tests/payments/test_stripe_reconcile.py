"""Reconciliation: paid sessions whose webhook never arrived are credited from
Stripe's session list, once, through the same path as the webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.payments.conftest import MICRO, START_CREDITS
from tests.support.servers import flask_cli

pytestmark = pytest.mark.live


def reconcile(app, **since):
    from lumyx.billing import payments
    from lumyx.db.models._types import utcnow

    with app.app_context():
        return payments.reconcile(utcnow() - timedelta(**since))


def test_reconcile_credits_a_paid_session_whose_webhook_never_arrived(app, shop, stripe_fake, server_env):
    lost = shop.buy(package="popular")
    stripe_fake.complete(lost)  # paid at Stripe; the webhook is lost
    unpaid = shop.buy(package="starter")
    stripe_fake.complete(unpaid, payment_status="unpaid")
    open_ = shop.buy(amount_usd=4)
    delivered = shop.buy(package="starter")
    shop.delivered(stripe_fake.complete(delivered))
    assert shop.books().balance == START_CREDITS + 500 * MICRO

    result = flask_cli(server_env, "reconcile-payments", "--days", "1")
    lines = result.stdout.strip().splitlines()
    assert [line for line in lines if lost in line] == [
        f"credited 2000.00 credits to {shop_email(app, shop.user_id)} (Stripe session {lost})"
    ]
    assert not any(s in result.stdout for s in (unpaid, open_, delivered))
    books = shop.books()
    assert books.balance == START_CREDITS + (500 + 2_000) * MICRO
    assert sorted(books.purchases()) == sorted(
        [(500 * MICRO, "purchase", f"stripe:{delivered}"), (2_000 * MICRO, "purchase", f"stripe:{lost}")]
    )
    assert books.payments[lost][0] == "credited" and books.payments[unpaid][0] == books.payments[open_][0] == "open"

    again = flask_cli(server_env, "reconcile-payments", "--days", "1")
    assert again.stdout.strip() == "0 payment(s) credited"
    assert reconcile(app, days=1) == []
    assert shop.delivered(stripe_fake.event(lost, "checkout.session.completed")) == "already credited"
    assert shop.books().balance == START_CREDITS + (500 + 2_000) * MICRO


def test_reconcile_looks_back_only_as_far_as_asked(app, shop, stripe_fake):
    old = shop.buy(package="pro")
    stripe_fake.complete(old)
    stripe_fake.backdate(old, 3 * 24 * 3600)
    assert all(c.session_id != old for c in reconcile(app, days=2))
    assert shop.books().balance == START_CREDITS
    fixed = reconcile(app, days=4)
    assert [(c.session_id, c.user_id, c.credits) for c in fixed if c.session_id == old] == [
        (old, shop.user_id, 5_000 * MICRO)
    ]
    assert reconcile(app, days=4) == []
    assert shop.books().balance == START_CREDITS + 5_000 * MICRO


def test_reconcile_pages_through_many_sessions(app, shop, stripe_fake):
    sessions = [shop.buy(amount_usd=2) for _ in range(105)]  # more than one page of 100
    for session_id in sessions:
        stripe_fake.complete(session_id)
    fixed = {c.session_id for c in reconcile(app, hours=1)}
    assert set(sessions) <= fixed
    pages = [r for r in stripe_fake.requests() if r["method"] == "GET" and "starting_after" in r["query"]]
    assert pages, "the stripe library asked for the next page"
    books = shop.books()
    assert books.balance == START_CREDITS + 105 * 200 * MICRO and len(books.purchases()) == 105


def shop_email(app, user_id: int) -> str:
    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        return db.session.get(User, user_id).email
