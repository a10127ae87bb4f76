"""Headless Debian Chromium driven by Playwright, as every browser test launches it, and the
windows a test opens in it (tests/live/conftest.py has the fixtures)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flag Chromium keeps trying the (absent) internet.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 30_000  # one assistant turn can run several custom actions
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 860}


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/install_system_deps.sh (as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Windows:
    """The browser windows one test opens, each a context of its own (own cookies, own
    localStorage, so its own conversation). A JavaScript error on any of them fails the test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: List[BrowserContext] = []
        self.errors: List[str] = []

    def open(self, base_url: str, viewport: Dict[str, int] = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport, base_url=base_url)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert self.errors == [], f"JavaScript errors on the page: {self.errors}"
