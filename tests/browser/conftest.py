"""Headless Chromium (Debian's chromium package) driven by Playwright, against the
live gunicorn server. Chromium missing is a failure, not a skip — `make browser`
installs it — unless LUMYX_SKIP_BROWSER=1 says to leave these tests out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LUMYX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LUMYX_SKIP_BROWSER") == "1":
        skip = pytest.mark.skip(reason="LUMYX_SKIP_BROWSER=1")
        for item in items:
            if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(skip)


@pytest.fixture(scope="package")
def browser():
    """Chromium, for the tests of this folder. Playwright's sync API keeps an event loop
    running in this thread while it is open, so it is closed when the folder is done:
    a test after it may run asyncio itself (bench/loadgen.py does)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser` (or set LUMYX_SKIP_BROWSER=1 to leave the browser tests out)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live):
    """A fresh browser context (no cookies) with the live server as its base URL.
    Any page error or CSP violation fails the test."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: problems.append(f"console {message.type}: {message.text}") if message.type == "error" else None,
    )
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.set_default_timeout(10_000)
    tab.problems = problems
    yield tab
    context.close()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)
