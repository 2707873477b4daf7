"""Helpers for the Stripe tests: buying through the service (in-process, on the
test database, against the Stripe stand-in), signing events as Stripe does,
delivering them to the live server, and reading the books."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

import pytest
import requests

MICRO = 1_000_000
START_CREDITS = 100 * MICRO  # what the `account` fixture grants


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Books:
    balance: int
    entries: list  # (amount, kind, ref) in order
    payments: dict  # session id -> (status, credits, credited_at is set)

    def purchases(self) -> list:
        return [e for e in self.entries if e[1] == "purchase"]


class Shop:
    """One account buying credits and Stripe telling the live server about it."""

    def __init__(self, app, live, stripe_fake, server_env, user_id: int):
        self.app, self.live, self.stripe, self.user_id = app, live, stripe_fake, user_id
        self.secret = server_env["STRIPE_WEBHOOK_SECRET"]

    def buy(self, *, package=None, amount_usd=None) -> str:
        """start_checkout for this account; returns the Stripe session id."""
        from sqlalchemy import select

        from lumyx.billing import payments
        from lumyx.db import db
        from lumyx.db.models import Payment, User

        with self.app.app_context():
            url = payments.start_checkout(
                db.session.get(User, self.user_id),
                package=package,
                amount_usd=amount_usd,
                success_url="https://lumyx.test/billing?ok=1",
                cancel_url="https://lumyx.test/billing",
            )
            session_id = db.session.scalar(
                select(Payment.stripe_session_id)
                .where(Payment.user_id == self.user_id)
                .order_by(Payment.id.desc())
                .limit(1)
            )
        assert url.endswith(session_id)
        return session_id

    def deliver(
        self, event: dict | bytes, *, secret: str | None = None, header: str | None = None, timestamp: int | None = None
    ) -> requests.Response:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        if header is None:
            header = sign(payload, secret or self.secret, timestamp)
        return requests.post(
            self.live.url + "/webhooks/stripe",
            data=payload,
            timeout=30,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def delivered(self, event: dict) -> str:
        response = self.deliver(event)
        assert response.status_code == 200, response.text
        assert response.json()["received"] is True
        return response.json()["result"]

    def books(self, user_id: int | None = None) -> Books:
        from sqlalchemy import select

        from lumyx.db import db
        from lumyx.db.models import LedgerEntry, Payment, User

        user_id = self.user_id if user_id is None else user_id
        with self.app.app_context():
            balance = db.session.get(User, user_id).balance
            entries = db.session.execute(
                select(LedgerEntry.amount, LedgerEntry.kind, LedgerEntry.ref)
                .where(LedgerEntry.user_id == user_id)
                .order_by(LedgerEntry.id)
            ).all()
            rows = db.session.execute(select(Payment).where(Payment.user_id == user_id)).scalars()
            payments = {p.stripe_session_id: (p.status, p.credits, p.credited_at is not None) for p in rows}
        books = Books(balance, [tuple(e) for e in entries], payments)
        assert sum(e[0] for e in books.entries) == books.balance, "the ledger must sum to the balance"
        return books


def new_user(app) -> int:
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"buyer-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery", credits_micro=START_CREDITS
        )
        return user.id


@pytest.fixture
def shop(app, live, stripe_fake, server_env, account):
    return Shop(app, live, stripe_fake, server_env, account[0])


@pytest.fixture
def other_shop(app, live, stripe_fake, server_env):
    return Shop(app, live, stripe_fake, server_env, new_user(app))
