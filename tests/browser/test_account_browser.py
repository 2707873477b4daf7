"""The account basics in headless Chromium: sign-up takes the browser's time zone, the
new key's box takes the focus, and the catalog's checkboxes apply at once with a URL
that leaves out the empty filters."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.live
PASSWORD = "correct horse battery"


@pytest.fixture
def tokyo_page(browser, live):
    """A browser whose time zone is Asia/Tokyo."""
    context = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844}, timezone_id="Asia/Tokyo")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def test_sign_up_takes_the_time_zone_and_the_new_key_takes_the_focus(tokyo_page):
    page = tokyo_page
    page.goto("/register")
    page.get_by_label("Email").fill(f"browser-tz-{uuid.uuid4().hex[:10]}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/keys")

    page.get_by_label("Name").fill("phone " + "x" * 94)
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("section.new-key")).to_be_focused()
    assert page.locator("#new-key-value").inner_text().startswith("lx-")
    # The 100-character name wraps, in the new key's heading and in the list (the list's
    # table scrolls inside its own box on a phone).
    heading = page.locator("#new-key-title").bounding_box()
    assert heading["x"] + heading["width"] <= 390, heading
    cell = page.locator("#keys-table td.key-name").first
    assert cell.bounding_box()["width"] <= 300 and cell.bounding_box()["height"] > 40, cell.bounding_box()

    page.goto("/dashboard/settings")
    expect(page.get_by_label("Timezone")).to_have_value("Asia/Tokyo")


def test_catalog_checkboxes_apply_at_once_and_the_url_leaves_out_empty_filters(page):
    page.goto("/models")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/models?" in request.url else None)

    page.get_by_label("Free models only").check()
    page.wait_for_url(re.compile(r".*/models\?free=1$"))
    expect(page.locator("#results-count")).to_contain_text("match the filters")
    page.wait_for_timeout(400)  # past the typing delay: a second, delayed request would show here
    assert len(sent) == 1 and sent[0].endswith("/models?free=1"), sent

    page.get_by_label("Search").fill("local")
    page.wait_for_url(re.compile(r".*/models\?q=local&free=1$"))
    assert all(
        row.startswith("lumyx-local")
        for row in page.eval_on_selector_all("#results tbody tr", "rows => rows.map(r => r.dataset.modelId)")
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_the_account_pages_read_at_phone_and_desktop_width(app, browser, live, width):
    """Settings, the delete confirmation and the error page: axe-core finds nothing, and
    nothing scrolls sideways."""
    from axe_playwright_python.sync_playwright import Axe

    from lumyx.accounts import users as accounts

    email = f"browser-axe-{uuid.uuid4().hex[:10]}@example.com"
    with app.app_context():  # (sign-up itself is the test above; its form is limited per address)
        accounts.create_user(email, PASSWORD)
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/dashboard/**")
        for path in ("/dashboard/settings", "/dashboard/settings/delete", "/no/such/page"):
            page.goto(path)
            violations = Axe().run(page).response["violations"]
            assert not violations, f"{path} at {width} px: " + "; ".join(v["id"] for v in violations)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} is {scroll} px wide at {width} px"
    finally:
        context.close()
