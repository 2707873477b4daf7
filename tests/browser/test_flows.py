"""A person's day with Lumyx, in headless Chromium against the live server: sign up,
create a key, call the API with the openai SDK, see the request in the usage table
and chart, filter the catalog, buy credits through Stripe Checkout (the stand-in)
and see the balance change, revoke the key.

The pages' Content-Security-Policy stays on: waits use locators, never evaluated strings."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import requests
from openai import OpenAI
from playwright.sync_api import expect

from tests.payments.conftest import sign

pytestmark = pytest.mark.live
PASSWORD = "correct horse battery"


def sign_up(page) -> str:
    email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/keys")
    return email


def test_sign_up_create_a_key_use_it_and_see_the_usage(page, live):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    email = sign_up(page)
    assert page.get_by_text(email).is_visible()

    page.get_by_label("Name").fill("browser")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value").inner_text()
    assert key.startswith("lx-")
    page.get_by_role("button", name="Copy the new API key").click()
    # The label changes once the clipboard has the key (a promise), and back after two seconds.
    expect(page.get_by_role("button", name="Copy the new API key")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key

    client = OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0, timeout=30)
    answer = client.chat.completions.create(
        model="lumyx-local", messages=[{"role": "user", "content": "Hello from the browser test"}]
    )
    assert answer.choices[0].message.content

    page.get_by_role("link", name="Usage", exact=True).click()
    page.wait_for_url("**/dashboard/usage")
    row = page.locator("#activity-table tbody tr").first
    assert "lumyx-local" in row.inner_text() and "200" in row.inner_text()
    page.wait_for_selector("#chart-requests[data-chart-ready]")
    requests_per_day = page.evaluate("Chart.getChart(document.getElementById('chart-requests')).data.datasets[0].data")
    assert sum(requests_per_day) == 1 and requests_per_day[-1] == 1
    page.wait_for_selector("#chart-tokens[data-chart-ready]")
    by_model = page.evaluate("Chart.getChart(document.getElementById('chart-models')).data.labels")
    assert by_model == ["lumyx-local"]
    assert page.locator("#total-requests").inner_text() == "1"
    # A free request spent nothing: the cost chart says so rather than drawing an empty axis.
    expect(page.locator("#chart-cost-empty")).to_have_text("Nothing spent in the last 30 days.")

    # A click on the request's row opens its detail in place, and focus moves to it.
    row.locator("td").nth(2).click()
    detail = page.locator("#request-detail")
    expect(detail.locator("#detail-cost")).to_have_text("$0.000000 · 0.0000 credits")
    expect(detail).to_be_focused()
    assert "lumyx-local" in detail.inner_text()

    # The recent-activity filter swaps the table in place and keeps the URL.
    page.select_option("#filter-model", "gpt-5.2")
    page.wait_for_url("**model=gpt-5.2**")
    assert "No requests match these filters" in page.locator("#activity").inner_text()
    page.select_option("#filter-model", "")
    expect(page.locator("#activity-table tbody tr")).to_have_count(1)

    # Revoke through HTMX (confirm dialog, CSRF header): the API refuses the key shortly after.
    page.goto("/dashboard/keys")
    page.get_by_role("button", name="Revoke the key browser").click()
    page.locator(f"tr[data-key-prefix='{key[:10]}'] .badge.bad").wait_for()
    deadline = time.monotonic() + 5
    status = None
    while time.monotonic() < deadline:
        status = requests.get(
            live.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10
        ).status_code
        if status == 401:
            break
        time.sleep(0.2)
    assert status == 401


def _rows(page) -> list[str]:
    return page.eval_on_selector_all("#results tbody tr", "rows => rows.map(r => r.dataset.modelId)")


def test_filter_the_catalog_live_and_share_the_view(page):
    page.goto("/models")
    everything = _rows(page)
    assert "gpt-5.2" in everything and len(everything) >= 10

    page.get_by_label("Search").fill("embed")
    page.wait_for_url("**q=embed**")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert set(_rows(page)) == {"lumyx-local-embed", "fake-embed"}

    page.get_by_label("Search").fill("")
    page.get_by_label("Reasoning").check()
    page.get_by_label("Sort by").select_option("price_desc")
    page.wait_for_url(re.compile(r".*capability=reasoning.*sort=price_desc.*"))
    expect(page.locator("#results tbody tr").first).to_have_attribute("data-model-id", "lumyx-plus_v1")
    assert _rows(page) == ["lumyx-plus_v1", "gpt-5.2", "responses-pro", "lumyx-local"]
    assert page.locator("#results-count").inner_text().startswith("4 of")

    shared = page.url
    page.goto("/")
    page.goto(shared)
    assert _rows(page) == ["lumyx-plus_v1", "gpt-5.2", "responses-pro", "lumyx-local"], "the URL reproduces the view"
    assert page.get_by_label("Reasoning").is_checked()

    page.go_back()
    page.go_forward()
    assert _rows(page) == ["lumyx-plus_v1", "gpt-5.2", "responses-pro", "lumyx-local"]

    page.locator("#results a", has_text="GPT-5.2").click()
    page.wait_for_url("**/models/gpt-5.2")
    assert page.get_by_role("heading", name="GPT-5.2", level=1).is_visible()


def test_buy_credits_through_stripe_checkout_and_see_the_balance(page, live, stripe_fake, server_env):
    sign_up(page)
    page.goto("/dashboard/credits")
    assert page.locator("#balance-available").inner_text() == "0.00"

    # Stripe's hosted page is out of reach here: the browser lands on a stand-in for it.
    page.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Stripe Checkout</title><h1>Pay</h1>"
        ),
    )
    page.get_by_role("button", name=re.compile("Buy the Starter package")).click()
    page.wait_for_url("https://checkout.stripe.com/c/pay/cs_test_*")
    session_id = page.url.rsplit("/", 1)[1]
    session = stripe_fake.session(session_id)
    assert session["amount_subtotal"] == 500 and session["metadata"]["payment_id"]

    # The buyer pays; Stripe tells the server with a signed webhook and sends the buyer back.
    event = stripe_fake.complete(session_id)
    payload = json.dumps(event).encode()
    delivered = requests.post(
        live.url + "/webhooks/stripe",
        data=payload,
        timeout=30,
        headers={
            "Stripe-Signature": sign(payload, server_env["STRIPE_WEBHOOK_SECRET"]),
            "Content-Type": "application/json",
        },
    )
    assert delivered.status_code == 200 and delivered.json()["result"] == "credited"
    page.goto(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
    assert page.get_by_role("heading", name="Thank you").is_visible()
    assert page.locator("#balance-available").inner_text() == "500.00"

    page.get_by_role("link", name="Back to credits").click()
    assert page.locator("#balance-available").inner_text() == "500.00"
    assert "Stripe purchase" in page.locator("#ledger-table").inner_text()

    # A custom amount takes the same road.
    page.get_by_label("Amount in USD").fill("12.34")
    page.get_by_role("button", name="Buy credits", exact=True).click()
    page.wait_for_url("https://checkout.stripe.com/c/pay/cs_test_*")
    assert stripe_fake.session(page.url.rsplit("/", 1)[1])["amount_subtotal"] == 1234


def test_keyboard_users_can_skip_to_the_content_and_reach_the_filters(page):
    page.goto("/models")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id || document.activeElement.textContent")
    assert focused == "q", "after the skip link, the first control is the search box"
    page.keyboard.type("gpt")
    page.wait_for_url("**q=gpt**")
    assert _rows(page) == ["gpt-5.2", "cache-gpt"]


def test_docs_copy_button_copies_the_sample(page, live):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.goto("/docs/getting-started")
    sample = page.locator("#sample-quickstart-curl").inner_text()
    assert sample.startswith(f"curl {live.url}/v1/chat/completions")
    page.locator("[data-copy-target='sample-quickstart-curl']").click()
    assert page.evaluate("navigator.clipboard.readText()") == sample
    page.get_by_role("navigation", name="Documentation").get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/docs/integrations")
    assert page.locator(".docs-nav a[aria-current=page]").inner_text() == "Integrations"
