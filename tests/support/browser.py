"""Debian's chromium driven by Playwright (the machine cannot download Playwright's own
browsers): headless, no sandbox (root in CI), nothing phoning home, a fresh profile."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1400


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[BrowserContext]:
    """A browser context with a fresh --user-data-dir at `profile`, 1400 px wide."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            headless=True,
            args=FLAGS,
            viewport={"width": WIDTH, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Console:
    """What a page logged as an error (a CSP violation, an exception): tests expect none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda message: self._add(message.type, message.text))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _add(self, kind: str, text: str) -> None:
        if kind == "error":
            self.errors.append(text)
