"""Stripe's webhook on the live server: signatures, exactly-once crediting under
duplicate, concurrent and out-of-order delivery, async payments, expiry, and
sessions that are not ours."""

from __future__ import annotations

import copy
import json
import threading
import time

import pytest
import stripe

from tests.payments.conftest import MICRO, START_CREDITS, sign

pytestmark = pytest.mark.live

STARTER = 500 * MICRO


def test_a_bad_signature_is_refused_and_credits_nothing(shop, stripe_fake):
    session_id = shop.buy(package="starter")
    event = stripe_fake.complete(session_id)
    payload = json.dumps(event).encode()
    now = int(time.time())
    attempts = {
        "wrong secret": shop.deliver(event, secret="whsec_not_the_secret"),
        "tampered body": shop.deliver(payload.replace(b'"paid"', b'"paid" '), header=sign(payload, shop.secret)),
        "no header": shop.deliver(payload, header=""),
        "garbage header": shop.deliver(payload, header="hello"),
        "stale timestamp": shop.deliver(event, timestamp=now - 3600),
        "other scheme": shop.deliver(payload, header=sign(payload, shop.secret).replace("v1=", "v0=")),
        "not utf-8": shop.deliver(b"\xff\xfe" + payload, header=sign(b"\xff\xfe" + payload, shop.secret)),
    }
    for name, response in attempts.items():
        assert response.status_code == 400, name
        assert response.headers["Content-Type"] == "application/json", name
        assert "error" in response.json(), name
    books = shop.books()
    assert books.balance == START_CREDITS and books.purchases() == []
    assert books.payments[session_id][0] == "open"


def test_a_signed_payload_that_is_not_a_session_event_is_refused(shop):
    not_a_session = {"object": "event", "type": "checkout.session.completed", "data": {"object": {"object": "charge"}}}
    for payload in (b"not json", b"[1, 2]", json.dumps(not_a_session).encode()):
        response = shop.deliver(payload)
        assert response.status_code == 400 and "error" in response.json(), payload


@pytest.mark.parametrize(
    "kind", ["payment_intent.succeeded", "customer.created", "checkout.session.async_payment_failed"]
)
def test_other_event_types_are_acknowledged_and_ignored(shop, stripe_fake, kind):
    session_id = shop.buy(package="starter")
    stripe_fake.complete(session_id)
    assert shop.delivered(stripe_fake.event(session_id, kind)) == "ignored"
    assert shop.books().balance == START_CREDITS


def test_a_duplicate_delivery_credits_once(shop, stripe_fake):
    session_id = shop.buy(package="starter")
    event = stripe_fake.complete(session_id)
    assert shop.delivered(event) == "credited"
    assert shop.delivered(event) == "already credited"
    assert shop.delivered(event) == "already credited", "re-signed later, same event"
    books = shop.books()
    assert books.balance == START_CREDITS + STARTER
    assert books.purchases() == [(STARTER, "purchase", f"stripe:{session_id}")]


def test_ten_concurrent_deliveries_credit_once(shop, stripe_fake):
    session_id = shop.buy(package="power")
    payload = json.dumps(stripe_fake.complete(session_id)).encode()
    header = sign(payload, shop.secret)
    barrier, results = threading.Barrier(10), []

    def deliver():
        barrier.wait()
        response = shop.deliver(payload, header=header)
        results.append((response.status_code, response.json().get("result")))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == sorted([(200, "credited")] + [(200, "already credited")] * 9)
    books = shop.books()
    assert books.balance == START_CREDITS + 15_000 * MICRO
    assert books.purchases() == [(15_000 * MICRO, "purchase", f"stripe:{session_id}")]


def test_concurrent_deliveries_of_different_events_for_one_session_credit_once(shop, stripe_fake):
    session_id = shop.buy(package="pro")
    completed_unpaid = stripe_fake.complete(session_id, payment_status="unpaid")
    succeeded = stripe_fake.async_payment_succeeded(session_id)
    completed_paid = stripe_fake.event(session_id, "checkout.session.completed")
    events = [completed_unpaid, succeeded, completed_paid] * 4
    barrier, results = threading.Barrier(len(events)), []

    def deliver(event):
        barrier.wait()
        results.append(shop.deliver(event).json()["result"])

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results.count("credited") == 1 and results.count("not paid yet") == 4
    assert shop.books().balance == START_CREDITS + 5_000 * MICRO


def test_an_async_payment_credits_when_it_succeeds(shop, stripe_fake):
    session_id = shop.buy(amount_usd=25)
    completed = stripe_fake.complete(session_id, payment_status="unpaid")
    assert shop.delivered(completed) == "not paid yet"
    assert shop.books().balance == START_CREDITS and shop.books().payments[session_id][0] == "open"

    succeeded = stripe_fake.async_payment_succeeded(session_id)
    assert shop.delivered(succeeded) == "credited"
    assert shop.delivered(succeeded) == "already credited"
    assert shop.delivered(completed) == "not paid yet"
    books = shop.books()
    assert books.balance == START_CREDITS + 2_500 * MICRO
    assert books.purchases() == [(2_500 * MICRO, "purchase", f"stripe:{session_id}")]


def test_out_of_order_deliveries_credit_once(shop, stripe_fake):
    # async_payment_succeeded arrives before completed.
    first = shop.buy(package="starter")
    completed = stripe_fake.complete(first, payment_status="unpaid")
    succeeded = stripe_fake.async_payment_succeeded(first)
    assert shop.delivered(succeeded) == "credited"
    assert shop.delivered(completed) == "not paid yet"
    assert shop.delivered(stripe_fake.event(first, "checkout.session.completed")) == "already credited"
    # A stray expired event after crediting changes nothing.
    assert shop.delivered(stripe_fake.event(first, "checkout.session.expired")) == "already credited"

    # A paid completed event arriving after the session was marked expired still credits.
    second = shop.buy(package="popular")
    expired = stripe_fake.expire(second)
    assert shop.delivered(expired) == "expired"
    late = copy.deepcopy(expired)
    late["type"] = "checkout.session.completed"
    late["data"]["object"].update(status="complete", payment_status="paid")
    assert shop.delivered(late) == "credited"
    assert shop.delivered(expired) == "already credited"

    books = shop.books()
    assert books.balance == START_CREDITS + STARTER + 2_000 * MICRO
    assert sorted(books.purchases()) == sorted(
        [(STARTER, "purchase", f"stripe:{first}"), (2_000 * MICRO, "purchase", f"stripe:{second}")]
    )
    assert books.payments[first][0] == books.payments[second][0] == "credited"


def test_an_expired_session_is_marked_and_credits_nothing(shop, stripe_fake):
    session_id = shop.buy(package="pro")
    expired = stripe_fake.expire(session_id)
    assert shop.delivered(expired) == "expired"
    assert shop.delivered(expired) == "already expired"
    books = shop.books()
    assert books.payments[session_id] == ("expired", 5_000 * MICRO, False)
    assert books.balance == START_CREDITS and books.purchases() == []


def test_a_session_we_never_created_credits_nothing(shop, stripe_fake):
    # Made straight at Stripe (another app on the same account), naming our user.
    client = stripe.StripeClient(stripe_fake.key, base_addresses={"api": stripe_fake.url})
    foreign = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://elsewhere.test/ok",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {"currency": "usd", "unit_amount": 100_000, "product_data": {"name": "not Lumyx"}},
                }
            ],
            "client_reference_id": str(shop.user_id),
            "metadata": {"user_id": str(shop.user_id), "payment_id": "1"},
        }
    )
    assert shop.delivered(stripe_fake.complete(foreign.id)) == "unknown session"
    made_up = stripe_fake.event(foreign.id, "checkout.session.completed")
    made_up["data"]["object"]["id"] = "cs_test_neverexisted"
    assert shop.delivered(made_up) == "unknown session"
    assert foreign.id in shop.live.logs(), "an unknown session is logged"
    assert shop.books().balance == START_CREDITS and shop.books().purchases() == []


def test_a_session_of_another_account_credits_nobody(shop, other_shop, stripe_fake):
    session_id = shop.buy(package="power")
    event = stripe_fake.complete(session_id)
    stolen = copy.deepcopy(event)
    stolen["data"]["object"]["client_reference_id"] = str(other_shop.user_id)
    stolen["data"]["object"]["metadata"]["user_id"] = str(other_shop.user_id)
    assert shop.delivered(stolen) == "session does not match our payment"
    # Another of our sessions' ids with this payment's metadata does not match either.
    other_session = other_shop.buy(package="starter")
    swapped = copy.deepcopy(event)
    swapped["data"]["object"]["id"] = other_session
    assert shop.delivered(swapped) == "session does not match our payment"
    assert other_shop.books().balance == START_CREDITS and other_shop.books().purchases() == []
    assert shop.books().balance == START_CREDITS and shop.books().payments[session_id][0] == "open"
    # The genuine event still credits the buyer, once.
    assert shop.delivered(event) == "credited"
    assert shop.books().balance == START_CREDITS + 15_000 * MICRO
    assert other_shop.books().balance == START_CREDITS


def test_the_ledger_sums_to_the_balance_after_a_mix_of_purchases(shop, stripe_fake):
    sessions = [shop.buy(package="starter"), shop.buy(amount_usd="3.21"), shop.buy(package="popular")]
    for session_id in sessions:
        event = stripe_fake.complete(session_id)
        shop.delivered(event)
        shop.delivered(event)
    expired = shop.buy(package="power")
    shop.delivered(stripe_fake.expire(expired))
    books = shop.books()  # asserts sum(ledger) == balance
    assert books.balance == START_CREDITS + (500 + 321 + 2_000) * MICRO
    assert len(books.purchases()) == 3
    assert {s: p[0] for s, p in books.payments.items()} == {**dict.fromkeys(sessions, "credited"), expired: "expired"}


def test_the_server_logs_no_stripe_secrets(shop, stripe_fake, server_env):
    session_id = shop.buy(package="starter")
    shop.delivered(stripe_fake.complete(session_id))
    shop.deliver(stripe_fake.event(session_id, "checkout.session.completed"), secret="whsec_wrong")
    logs = shop.live.logs()
    assert server_env["STRIPE_SECRET_KEY"] not in logs and server_env["STRIPE_WEBHOOK_SECRET"] not in logs
