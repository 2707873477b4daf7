"""Every page of the portal on a 390×844 phone and a 1280×800 desktop, in headless Chromium
against the live server: nothing scrolls sideways, the header stays at most 64 px tall,
axe-core finds no accessibility violation, and on the phone the folded parts (the menu,
the docs sections, the catalog filters) open from their buttons. Then the keyboard path
on the phone: sign up, create a key, filter the catalog with Tab, Space and Enter."""

from __future__ import annotations

import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from openai import OpenAI
from playwright.sync_api import expect

from lumyx.web.docs import SECTIONS

pytestmark = pytest.mark.live
PASSWORD = "correct horse battery"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
HEADER_MAX_PX = 64

PUBLIC = ["/", "/models", "/models?capability=reasoning&sort=price_desc", "/models/gpt-5.2", "/login", "/register"]
DOCS = [f"/docs/{slug}" for slug, _title in SECTIONS]
SIGNED_IN = [
    "/dashboard/keys",
    "/dashboard/usage",
    "/dashboard/credits",
    "/dashboard/settings",
    "/dashboard/personas",
    "/admin/users",
    "/admin/providers",
]

axe = Axe()


@pytest.fixture(scope="module")
def reader(app, live):
    """An admin with credits, two keys, a persona and a few requests behind them: (email, user id)."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"phone-{uuid.uuid4().hex[:8]}@example.com",
            PASSWORD,
            plan="pro",
            credits_micro=50 * 1_000_000,
            is_admin=True,
        )
        _row, key = keys.create_key(user, "a key name long enough to need more than one line on a phone screen")
        keys.create_key(user, "ci")
        email, user_id = user.email, user.id
    client = OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0, timeout=30)
    for model in ("lumyx-local", "gpt-5.2", "lumyx-local"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}])
    client.post(
        "/personas",
        body={"name": "Reviewer", "model": "lumyx-local", "system_prompt": "Review the code."},
        cast_to=object,
    )
    return email, user_id


def _context(browser, live, size: str):
    context = browser.new_context(base_url=live.url, viewport=SIZES[size])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.on("dialog", lambda dialog: dialog.accept())
    return context, tab


@pytest.fixture(scope="module", params=list(SIZES))
def visitor(request, browser, live, reader):
    """Per screen size: a tab that nobody signed in on, and a tab of the admin reader."""
    size = request.param
    anonymous, anonymous_tab = _context(browser, live, size)
    signed_in, tab = _context(browser, live, size)
    tab.goto("/login")
    tab.get_by_label("Email").fill(reader[0])
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url("**/dashboard/**")
    yield size, anonymous_tab, tab
    problems = anonymous_tab.problems + tab.problems
    anonymous.close()
    signed_in.close()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


def check_layout(tab, where: str) -> list[str]:
    """What is wrong with the page as it is shown now: sideways scroll, a tall header, axe violations."""
    found = []
    width, inner = tab.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    if width > inner:
        wide = tab.evaluate(
            """() => Array.from(document.querySelectorAll('body *'))
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                 .slice(0, 3).map(e => e.outerHTML.slice(0, 120))"""
        )
        found.append(f"{where}: scrolls sideways ({width} px wide in {inner} px): {wide}")
    header = tab.locator("header.top").bounding_box()["height"]
    if header > HEADER_MAX_PX:
        found.append(f"{where}: the header is {header:.0f} px tall")
    results = axe.run(tab)
    if results.violations_count:
        found.append(f"{where}: {results.generate_report()}")
    return found


def visit(tab, path: str) -> None:
    """Opens the page; the load event comes after the deferred scripts (menus, cards, charts) ran."""
    tab.goto(path, wait_until="load")


def test_every_page_fits_and_passes_axe(visitor, reader):
    size, anonymous, tab = visitor
    problems: list[str] = []
    for path in PUBLIC:
        visit(anonymous, path)
        problems += check_layout(anonymous, f"{size} {path}")
    for path in DOCS + SIGNED_IN + [f"/admin/users/{reader[1]}", "/"]:
        visit(tab, path)
        problems += check_layout(tab, f"{size} {path} (signed in)")
    assert not problems, "\n".join(problems)


def test_folded_parts_open_from_their_buttons_on_a_phone(visitor):
    size, anonymous, tab = visitor
    menu = tab.get_by_role("button", name="Menu")
    filters = tab.get_by_role("button", name="Filters and sort")
    sections = tab.get_by_role("button", name=re.compile("^Sections"))
    visit(tab, "/models")
    if size == "desktop":
        expect(menu).to_be_hidden()
        expect(filters).to_be_hidden()
        expect(tab.get_by_role("link", name="API keys")).to_be_visible()
        expect(tab.get_by_label("Reasoning")).to_be_visible()
        return

    problems: list[str] = []
    expect(tab.get_by_role("link", name="API keys")).to_be_hidden()
    expect(tab.get_by_label("Reasoning")).to_be_hidden()
    first_result = tab.locator("#results tbody tr").first.bounding_box()
    assert first_result["y"] < 844, "the first model shows on the first screen"

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(tab.get_by_role("link", name="API keys")).to_be_visible()
    problems += check_layout_without_header_limit(tab, "phone menu open")
    tab.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(tab.get_by_role("link", name="API keys")).to_be_hidden()

    filters.click()
    expect(filters).to_have_attribute("aria-expanded", "true")
    expect(tab.get_by_label("Reasoning")).to_be_visible()
    problems += check_layout(tab, "phone filters open")

    visit(tab, "/docs/streaming")
    expect(sections).to_contain_text("Streaming")
    expect(tab.get_by_role("link", name="Integrations")).to_be_hidden()
    sections.click()
    expect(tab.get_by_role("navigation", name="Documentation").get_by_role("link", name="Integrations")).to_be_visible()
    problems += check_layout(tab, "phone docs sections open")

    # Tables read as cards: each value under its column's name, nothing cut off.
    visit(tab, "/dashboard/keys")
    card = tab.locator("#keys-table tbody tr").first
    created = card.locator("td[data-label='Created']")
    expect(created).to_be_visible()
    assert created.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Created"'
    assert card.bounding_box()["width"] <= 390
    assert not problems, "\n".join(problems)


def check_layout_without_header_limit(tab, where: str) -> list[str]:
    """As check_layout, for the one state where the header holds the open menu."""
    return [p for p in check_layout(tab, where) if "header is" not in p]


def test_keyboard_path_on_a_phone(browser, live):
    """Sign up, create a key and filter the catalog from the keyboard alone at 390 px."""
    context, tab = _context(browser, live, "phone")
    try:
        email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
        tab.goto("/register")
        # Chromium applies autofocus at its next rendering update, which a loaded machine can
        # run after the load event that goto() waits for.
        expect(tab.locator("#email"), "the form starts in the email box").to_be_focused()
        tab.keyboard.type(email)
        tab.keyboard.press("Tab")
        tab.keyboard.type(PASSWORD)
        tab.keyboard.press("Tab")
        tab.keyboard.type(PASSWORD)
        tab.keyboard.press("Enter")
        tab.wait_for_url("**/dashboard/keys")

        tab.keyboard.press("Tab")
        tab.keyboard.press("Enter")  # skip to the content
        focused = ""
        for _ in range(10):
            tab.keyboard.press("Tab")
            focused = tab.evaluate("document.activeElement.id")
            if focused == "name":
                break
        assert focused == "name", "the key's name box is reachable by Tab"
        tab.keyboard.type("phone")
        tab.keyboard.press("Enter")
        expect(tab.locator("#new-key-value")).to_contain_text("lx-")
        tab.wait_for_load_state("load")

        # The menu button opens the navigation; Enter on a link follows it.
        menu = tab.get_by_role("button", name="Menu")
        menu.focus()
        tab.keyboard.press("Enter")
        expect(menu).to_have_attribute("aria-expanded", "true")
        tab.keyboard.press("Tab")
        tab.keyboard.press("Tab")
        assert tab.evaluate("document.activeElement.textContent") == "Models"
        tab.keyboard.press("Enter")
        tab.wait_for_url("**/models")

        tab.keyboard.press("Tab")
        tab.keyboard.press("Enter")  # skip to the content
        tab.keyboard.press("Tab")
        assert tab.evaluate("document.activeElement.id") == "q"
        tab.keyboard.press("Tab")
        assert tab.evaluate("document.activeElement.textContent") == "Filters and sort"
        tab.keyboard.press("Space")
        expect(tab.get_by_label("Reasoning")).to_be_visible()
        for _ in range(8):
            tab.keyboard.press("Tab")
            if tab.evaluate("document.activeElement.value") == "reasoning":
                break
        tab.keyboard.press("Space")
        tab.wait_for_url("**capability=reasoning**")
        expect(tab.locator("#results-count")).to_contain_text("match the filters")
        assert check_layout(tab, "phone catalog filtered by keyboard") == []
        assert not tab.problems, tab.problems
    finally:
        context.close()


def test_without_javascript_focus_opens_the_folded_parts(browser, live):
    """With scripts off, the menu and the docs sections open when their button has the focus."""
    context = browser.new_context(base_url=live.url, viewport=SIZES["phone"], java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto("/docs/errors")
        main_menu = tab.locator("#main-menu")
        expect(main_menu).to_be_hidden()
        tab.get_by_role("button", name="Menu").focus()
        expect(main_menu.get_by_role("link", name="Models")).to_be_visible()
        tab.get_by_role("button", name=re.compile("^Sections")).focus()
        expect(
            tab.get_by_role("navigation", name="Documentation").get_by_role("link", name="Integrations")
        ).to_be_visible()
        assert tab.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
