"""The usage page on a 390-pixel phone and on a desktop, in headless Chromium against
the live server: after a paid and a free request, the figures match the Usage API's,
every chart draws, the page never scrolls sideways, and a tap on a request opens its
detail (GET /generation's fields) with focus on it."""

from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.live
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def reader(app, live):
    """An account with two recorded requests: (email, the Usage API's report)."""
    from tests.conftest import _new_account

    _user_id, email, key = _new_account(app, "phone", 20, "phone")
    headers = {"Authorization": f"Bearer {key}"}
    for model in ("gpt-5.2", "lumyx-local"):
        body = {"model": model, "messages": [{"role": "user", "content": f"a question for {model}"}]}
        assert requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30).ok
    deadline = time.monotonic() + 10
    while True:
        report = requests.get(live.url + "/api/v1/usage", headers=headers, timeout=30).json()
        if report["pagination"]["total"] == 2 or time.monotonic() > deadline:
            return email, report
        time.sleep(0.1)


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_usage_page_reads_on_a_phone_and_a_desktop(page, reader, width, height):
    email, report = reader
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/**")
    page.goto("/dashboard/usage")

    assert page.locator("#total-cost").inner_text() == f"${report['summary']['total_cost']:.6f}"
    for name in ("requests", "tokens", "cost", "models"):
        page.wait_for_selector(f"#chart-{name}[data-chart-ready]")
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"the page scrolls {wide} px sideways at {width} px"

    paid = next(r for r in report["recent_activity"] if r["model_id"] == "gpt-5.2")
    opener = page.locator(f"tr[data-request-id='{paid['id']}'] td").first.locator("a")
    opener.click()
    detail = page.locator("#request-detail")
    expect(detail.locator("#detail-cost")).to_have_text(f"${paid['cost']:.6f} · {paid['cost'] * 100:.4f} credits")
    expect(detail).to_be_focused()
    box = detail.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    # Closing the detail gives focus back to the request it came from.
    detail.get_by_role("button", name="Close").click()
    expect(detail.locator("#detail-cost")).to_have_count(0)
    expect(opener).to_be_focused()
