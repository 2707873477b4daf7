"""Accounts with a chosen balance, and reads of what the database recorded."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

MICRO = 1_000_000


@pytest.fixture
def make_account(app):
    """make_account(credits) -> (user id, key)."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    def make(credits: float, plan: str = "enterprise") -> tuple[int, str]:
        with app.app_context():
            user = accounts.create_user(
                f"bill-{uuid.uuid4().hex[:10]}@example.com",
                "correct horse battery",
                plan=plan,
                credits_micro=int(credits * MICRO),
            )
            _row, key = keys.create_key(user, "billing")
            return user.id, key

    return make


@pytest.fixture
def books(app):
    """Reads an account's money and usage as the database has them."""
    from lumyx.db import db
    from lumyx.db.models import Hold, LedgerEntry, UsageRecord, User

    class Books:
        def balance(self, user_id: int) -> tuple[int, int]:
            with app.app_context():
                user = db.session.get(User, user_id)
                return user.balance, user.held

        def ledger_sum(self, user_id: int) -> int:
            with app.app_context():
                return db.session.scalar(
                    select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.user_id == user_id)
                )

        def ledger(self, user_id: int) -> list:
            with app.app_context():
                return db.session.scalars(
                    select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
                ).all()

        def usage(self, request_id: str):
            with app.app_context():
                return db.session.get(UsageRecord, request_id)

        def usage_rows(self, user_id: int) -> list:
            with app.app_context():
                return db.session.scalars(select(UsageRecord).where(UsageRecord.user_id == user_id)).all()

        def holds(self, user_id: int) -> list:
            with app.app_context():
                return db.session.scalars(select(Hold).where(Hold.user_id == user_id)).all()

        def settled(self, user_id: int, seconds: float = 10.0) -> tuple[int, int]:
            """The balance once every hold is settled (settlement follows the response)."""
            deadline = time.monotonic() + seconds
            while True:
                balance, held = self.balance(user_id)
                if held == 0 or time.monotonic() > deadline:
                    return balance, held
                time.sleep(0.05)

        def consistent(self, user_id: int) -> None:
            balance, held = self.settled(user_id)
            assert balance >= 0 and held == 0
            assert self.holds(user_id) == []
            assert self.ledger_sum(user_id) == balance

    return Books()


@pytest.fixture
def post(live):
    def call(key: str, path: str, body: dict, **kwargs) -> requests.Response:
        return requests.post(
            live.url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs
        )

    return call
