"""Open a page in the system's Chromium through Playwright, for browser tests.

Playwright's own browser downloads are never used (`playwright install` is not run): the tests
drive Debian's `chromium` package at /usr/bin/chromium (`apt-get install -y chromium`).

Browser tests are plain (sync) tests using `open_page()`: Playwright's sync API refuses to run
inside a running event loop.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path(os.environ.get("LIFEBOAT_CHROMIUM", "/usr/bin/chromium"))

# Headless, no sandbox (tests may run as root in containers), and none of the background traffic
# (updates, sync, first-run pages) that would make runs slower or flaky.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    """The Chromium executable, or a clear error telling how to install it."""
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's Chromium (`apt-get install -y chromium`) "
            "or point LIFEBOAT_CHROMIUM at a Chromium binary."
        )
    return str(CHROMIUM)


@contextmanager
def open_page(*, color_scheme: str = "light") -> Generator[Page]:
    """A fresh page in a new headless Chromium, closed (with the browser) on exit."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
                color_scheme="dark" if color_scheme == "dark" else "light",
            )
            yield context.new_page()
        finally:
            browser.close()
