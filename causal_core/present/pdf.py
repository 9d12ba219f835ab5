"""The deck as PDF pages, printed by the system Chromium (never a downloaded browser).

Why Chromium print: it lays out exactly the HTML a stakeholder would open, one 1280×720 page per slide
(html.STYLE's print rules), so the PDF and the HTML cannot disagree. Every request the page makes is refused
while printing: the deck references nothing outside itself, and this keeps it that way even if it ever did.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM_PATH = "/usr/bin/chromium"
PRINT_TIMEOUT_MS = 60_000


class PdfUnavailable(Exception):
    """Chromium or Playwright is missing or failed: the message says so and points to the HTML export."""


def chromium_path() -> str | None:
    """The system Chromium to print with, or None when it is not installed."""
    path = os.environ.get("CAUSAL_WORKBENCH_CHROMIUM", CHROMIUM_PATH)
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def deck_pdf(html: str) -> bytes:
    """Print the deck's HTML to PDF, one slide per 1280×720 page; PdfUnavailable with a clear reason otherwise."""
    executable = chromium_path()
    if executable is None:
        raise PdfUnavailable(
            f"Chromium is not installed at {CHROMIUM_PATH}, so the PDF cannot be printed; download the HTML deck "
            "instead (it opens offline in any browser and prints from there)."
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PdfUnavailable("Playwright is not installed, so the PDF cannot be printed; use the HTML deck.") from None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.route("**/*", lambda route: route.abort())  # the deck is self-contained: nothing to fetch
                page.set_content(html, wait_until="load", timeout=PRINT_TIMEOUT_MS)
                return page.pdf(width="1280px", height="720px", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except PlaywrightError as error:
        first_line = str(error).strip().splitlines()[:1]
        raise PdfUnavailable(
            f"Chromium could not print the deck ({' '.join(first_line) or 'no message'}); use the HTML deck."
        ) from None
