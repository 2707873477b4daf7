"""`make screenshots`: refreshes docs/screenshots/ with each main page, as a
person sees it in Chromium, on the live server with a little realistic data.

Not part of `make test` (the file name does not start with test_); run it with
`pytest tests/browser/screenshots.py`."""

from __future__ import annotations

import uuid
from pathlib import Path

from openai import OpenAI

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct horse battery"


def _seed(app, live) -> str:
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"ada-{uuid.uuid4().hex[:6]}@example.com",
            PASSWORD,
            plan="pro",
            credits_micro=2_500 * 1_000_000,
            is_admin=True,
        )
        _row, key = keys.create_key(user, "laptop")
        keys.create_key(user, "ci")
        email = user.email
    client = OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0)
    for i in range(6):
        client.chat.completions.create(model="gpt-5.2", messages=[{"role": "user", "content": f"Hello {i}"}])
    for i in range(3):
        client.chat.completions.create(
            model="lumyx-local", messages=[{"role": "user", "content": f"Hi {i}"}], reasoning_effort="low"
        )
    client.chat.completions.create(model="lumyx-plus_v1", messages=[{"role": "user", "content": "Bonjour"}])
    return email


def test_screenshots(app, live, browser):
    OUT.mkdir(parents=True, exist_ok=True)
    email = _seed(app, live)
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()

    def shot(name: str, path: str | None = None, full: bool = True) -> None:
        if path:
            page.goto(path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)

    shot("home", "/")
    shot("docs-getting-started", "/docs/getting-started")
    shot("docs-integrations", "/docs/integrations", full=False)
    shot("models", "/models")
    page.check("input[name=capability][value=reasoning]")
    page.wait_for_url("**capability=reasoning**")
    shot("models-filtered")
    shot("model-detail", "/models/gpt-5.2")
    shot("register", "/register")
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/dashboard/usage")
    page.wait_for_selector("canvas[data-chart-ready]")
    shot("usage")
    page.goto("/dashboard/keys")
    page.fill("#name", "staging")
    page.click("#submit")
    page.wait_for_selector("#new-key-value")
    shot("keys")
    shot("credits", "/dashboard/credits")
    shot("settings", "/dashboard/settings")
    shot("admin-users", "/admin/users")
    shot("admin-providers", "/admin/providers")
    context.close()

    # The same pages on a 390×844 phone, first screen only: *-phone.png.
    phone = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = phone.new_page()
    shot("home-phone", "/", full=False)
    shot("models-phone", "/models", full=False)
    page.get_by_role("button", name="Filters and sort").click()
    shot("models-filters-phone", full=False)
    shot("model-detail-phone", "/models/gpt-5.2", full=False)
    shot("docs-phone", "/docs/chat-completions", full=False)
    page.get_by_role("button", name="Sections").click()
    shot("docs-sections-phone", full=False)
    shot("register-phone", "/register", full=False)
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/dashboard/usage")
    page.wait_for_selector("canvas[data-chart-ready]")
    shot("usage-phone", full=False)
    page.get_by_role("button", name="Menu").click()
    shot("menu-phone", full=False)
    shot("keys-phone", "/dashboard/keys")
    shot("credits-phone", "/dashboard/credits", full=False)
    shot("admin-providers-phone", "/admin/providers", full=False)
    phone.close()
