"""Buying credits with Stripe Checkout: the packages, checkout sessions, the
webhook, and reconciliation for webhooks that never arrived.

Exactly once: a paid session is credited by one conditional UPDATE that flips
our ``payments`` row to ``credited`` (only if it is not already), followed in
the same transaction by a ledger posting with the unique ref
``stripe:<session id>``. A second delivery, a concurrent one, or a reconcile
run finds the row already credited and changes nothing; the database's row
lock (PostgreSQL) or write lock (SQLite) orders concurrent attempts, and the
unique ledger ref is the last line of defence. The amount credited is always
the one stored in our row, never one read from Stripe.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import delete, select, update

from lumyx import money
from lumyx.billing import ledger
from lumyx.db import db
from lumyx.db.models import Payment
from lumyx.db.models._types import utcnow

log = logging.getLogger("lumyx.payments")

CURRENCY = "usd"
MIN_CUSTOM_CENTS = 2 * 100
MAX_CUSTOM_CENTS = 1_000 * 100
CREDITS_PER_CENT = money.CREDITS_PER_USD // 100
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
EXPIRED_EVENT = "checkout.session.expired"


@dataclass(frozen=True)
class Package:
    id: str
    name: str
    credits: int  # whole credits
    cents: int  # price before tax

    @property
    def micro(self) -> int:
        return self.credits * money.MICRO_PER_CREDIT


PACKAGES: dict[str, Package] = {
    p.id: p
    for p in (
        Package("starter", "Starter", 500, 500),
        Package("popular", "Popular", 2_000, 1_500),
        Package("pro", "Pro", 5_000, 3_000),
        Package("power", "Power", 15_000, 7_500),
    )
}


def best_value(packages: Iterable[Package]) -> Package | None:
    """The package with the lowest price per credit (of equals, the first listed);
    None when there are none. Compared as exact fractions: cents / credits."""
    best = None
    for package in packages:
        if best is None or package.cents * best.credits < best.cents * package.credits:
            best = package
    return best


class NotConfigured(RuntimeError):
    def __init__(self, message: str = "payments are not configured (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)"):
        super().__init__(message)


class StripeUnavailable(RuntimeError):
    """Stripe refused or could not be reached; the message is safe to show."""


class InvalidPurchase(ValueError):
    """A bad package or amount; the message says what."""


class InvalidWebhook(ValueError):
    """A webhook that is not signed by Stripe with our secret, or not an event."""


@dataclass(frozen=True)
class Credited:
    session_id: str
    payment_id: int
    user_id: int
    credits: int  # µcr


@dataclass(frozen=True)
class Choice:
    """What is being bought: a package id (None for a custom amount), a product name, the price, the µcr."""

    package: str | None
    name: str
    cents: int
    micro: int


# --------------------------------------------------------------------------- configuration


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def _client():
    if not is_configured():
        raise NotConfigured()
    config = current_app.config
    return _client_for(config["STRIPE_SECRET_KEY"], (config.get("STRIPE_API_BASE") or "").rstrip("/"))


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str):
    import stripe

    base = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=base, max_network_retries=2)


def _stripe_failure(action: str, exc: Exception) -> StripeUnavailable:
    # Log the kind of failure only: Stripe's messages can echo request details.
    log.warning(
        "Stripe %s failed: %s (http %s, code %s)",
        action,
        type(exc).__name__,
        getattr(exc, "http_status", None),
        getattr(exc, "code", None),
    )
    return StripeUnavailable(f"Stripe {action} failed; try again in a moment")


# --------------------------------------------------------------------------- checkout


def choose(package: str | None = None, amount_usd=None) -> Choice:
    """The package, or the custom amount in USD, validated."""
    if (package is None) == (amount_usd is None):
        raise InvalidPurchase("choose either a package or a custom amount")
    if package is not None:
        found = PACKAGES.get(str(package).strip().lower())
        if found is None:
            raise InvalidPurchase(f"unknown package {package!r} (one of {', '.join(PACKAGES)})")
        return Choice(found.id, f"{found.credits:,} Lumyx credits ({found.name})", found.cents, found.micro)
    try:
        cents = money.to_decimal(amount_usd) * 100
    except ValueError:
        raise InvalidPurchase(f"the amount must be a number of dollars, not {amount_usd!r}") from None
    if cents != cents.to_integral_value():
        raise InvalidPurchase("the amount must be in whole cents")
    if not MIN_CUSTOM_CENTS <= cents <= MAX_CUSTOM_CENTS:
        raise InvalidPurchase(f"the amount must be from ${MIN_CUSTOM_CENTS // 100} to ${MAX_CUSTOM_CENTS // 100:,}")
    cents = int(cents)
    credits = cents * CREDITS_PER_CENT
    return Choice(None, f"{credits:,} Lumyx credits", cents, credits * money.MICRO_PER_CREDIT)


def start_checkout(user, *, package: str | None = None, amount_usd=None, success_url: str, cancel_url: str) -> str:
    """Creates a Stripe Checkout session for ``user`` and returns its URL."""
    client = _client()
    choice = choose(package, amount_usd)
    user_id, email = user.id, user.email
    # Our row first, so the session can carry our payment id; no transaction
    # stays open while Stripe is called.
    payment = Payment(
        user_id=user_id,
        stripe_session_id=f"pending:{uuid.uuid4().hex}",
        package=choice.package,
        credits=choice.micro,
        amount_cents=choice.cents,
        currency=CURRENCY,
        status="open",
    )
    db.session.add(payment)
    db.session.flush()
    payment_id = payment.id
    db.session.commit()
    import stripe

    try:
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": CURRENCY,
                            "unit_amount": choice.cents,
                            "tax_behavior": "exclusive",
                            "product_data": {"name": choice.name},
                        },
                    }
                ],
                "automatic_tax": {"enabled": True},
                "client_reference_id": str(user_id),
                "metadata": {"user_id": str(user_id), "payment_id": str(payment_id)},
                "customer_email": email,
                "success_url": success_url,
                "cancel_url": cancel_url,
            }
        )
    except Exception as exc:
        # No session exists for the row, so nobody can pay it: drop it.
        db.session.rollback()
        db.session.execute(delete(Payment).where(Payment.id == payment_id))
        db.session.commit()
        if isinstance(exc, stripe.StripeError):
            raise _stripe_failure("checkout", exc) from None
        raise
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(stripe_session_id=session.id))
    db.session.commit()
    log.info("checkout %s started for user %s: payment %s, %s cents", session.id, user_id, payment_id, choice.cents)
    return session.url


# --------------------------------------------------------------------------- crediting


def _claims(session: dict) -> tuple[int, int] | None:
    """(user id, payment id) the session says it belongs to, or None."""
    metadata = session.get("metadata") or {}
    try:
        user_id, payment_id = int(metadata["user_id"]), int(metadata["payment_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if str(session.get("client_reference_id")) != str(user_id):
        return None
    return user_id, payment_id


def _ours(session_id: str, claims: tuple[int, int] | None):
    """The WHERE clause of our row for this session, if the session's claims match it."""
    if claims is None:
        return None
    user_id, payment_id = claims
    return (Payment.stripe_session_id == session_id, Payment.id == payment_id, Payment.user_id == user_id)


def _why_not(session_id: str, claims) -> str:
    """Why a conditional update changed nothing (a read for the answer only)."""
    payment = db.session.scalar(select(Payment).where(Payment.stripe_session_id == session_id))
    if payment is None:
        return "unknown session"
    if claims != (payment.user_id, payment.id):
        return "session does not match our payment"
    return f"already {payment.status}"


def credit_session(session: dict) -> Credited | str:
    """Credits a paid session of ours exactly once: a Credited, or why not."""
    session_id, claims = session["id"], _claims(session)
    where = _ours(session_id, claims)
    if where is None:
        return _why_not(session_id, claims)
    try:
        row = db.session.execute(
            update(Payment)
            .where(*where, Payment.status != "credited")
            .values(status="credited", credited_at=utcnow())
            .returning(Payment.id, Payment.user_id, Payment.credits, Payment.package)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is None:
            db.session.rollback()
            return _why_not(session_id, claims)
        note = f"Stripe purchase: {money.format_credits(row.credits, 2)} credits" + (
            f" ({PACKAGES[row.package].name})" if row.package in PACKAGES else ""
        )
        ledger.post(row.user_id, row.credits, "purchase", note=note, ref=f"stripe:{session_id}", commit=False)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("credited Stripe session %s: payment %s, user %s, %s µcr", session_id, row.id, row.user_id, row.credits)
    return Credited(session_id, row.id, row.user_id, row.credits)


def expire_session(session: dict) -> str:
    session_id, claims = session["id"], _claims(session)
    where = _ours(session_id, claims)
    if where is None:
        return _why_not(session_id, claims)
    result = db.session.execute(
        update(Payment)
        .where(*where, Payment.status == "open")
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return "expired" if result.rowcount == 1 else _why_not(session_id, claims)


# --------------------------------------------------------------------------- webhook and reconciliation


def _event_session(event: dict) -> dict:
    data = event.get("data")
    session = data.get("object") if isinstance(data, dict) else None
    if (
        not isinstance(session, dict)
        or session.get("object") != "checkout.session"
        or not isinstance(session.get("id"), str)
    ):
        raise InvalidWebhook("the event does not carry a checkout session")
    return session


def handle_webhook(payload: bytes, signature_header: str) -> str:
    """Verifies and applies one Stripe event; returns what it did, in words."""
    client = _client()
    import stripe

    try:
        event = client.construct_event(payload, signature_header, current_app.config["STRIPE_WEBHOOK_SECRET"])
        event = event.to_dict()
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("the Stripe signature does not verify") from None
    except (ValueError, TypeError, AttributeError, KeyError):
        raise InvalidWebhook("the payload is not a Stripe event") from None
    kind = event.get("type")
    if kind not in PAID_EVENTS and kind != EXPIRED_EVENT:
        return "ignored"
    session = _event_session(event)
    if kind == EXPIRED_EVENT:
        outcome = expire_session(session)
    elif session.get("payment_status") != "paid":
        outcome = "not paid yet"
    else:
        done = credit_session(session)
        outcome = "credited" if isinstance(done, Credited) else done
    if outcome in ("unknown session", "session does not match our payment"):
        log.warning(
            "Stripe event %s (%s) for session %r: %s; nothing done", event.get("id"), kind, session["id"], outcome
        )
    return outcome


def reconcile(since: datetime) -> list[Credited]:
    """Credits our paid sessions created since ``since`` that were never credited."""
    client = _client()
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    import stripe

    fixed: list[Credited] = []
    try:
        page = client.v1.checkout.sessions.list(
            params={"created": {"gte": int(since.timestamp())}, "status": "complete", "limit": 100}
        )
        for item in page.auto_paging_iter():
            session = item.to_dict()
            if session.get("payment_status") != "paid":
                continue
            done = credit_session(session)
            if isinstance(done, Credited):
                fixed.append(done)
            elif done == "session does not match our payment":
                log.warning("reconcile: Stripe session %r does not match our payment; not credited", session["id"])
    except stripe.StripeError as exc:
        raise _stripe_failure("session listing", exc) from None
    if fixed:
        log.info("reconcile credited %d Stripe session(s)", len(fixed))
    return fixed
