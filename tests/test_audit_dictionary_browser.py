"""Real browser: ten consecutive data-dictionary edits in the grid, and all ten reach the project.

Before the fix the grid's key changed after every saved edit without a rerun, so every second edit
landed on a dead widget and was silently lost (14 timing edits in a row kept only the alternate ones).
The project is read back through the dictionary's own CSV export, not from what the grid shows.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.test_browser import CHROMIUM, _free_port, _launch, _serve, _wait_for_script

pytestmark = pytest.mark.slow
EDITS = 10
ROW_HEIGHT = 35  # Streamlit's default data-editor row (and header) height in px


@pytest.fixture(scope="module")
def server(artifacts_dir):
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (CI installs the Debian package)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(artifacts_dir / "streamlit-dictionary-server.log", "w") as log:
        yield from _serve(_free_port(), env, log)


def _dictionary_grid(page):
    """The dictionary editor: the grid whose first column header is 'variable' and second 'description'."""
    page.wait_for_selector('[data-testid="stDataFrame"] [role="columnheader"]', state="attached", timeout=180_000)
    _wait_for_script(page)
    grids = page.locator('[data-testid="stDataFrame"]')
    for index in range(grids.count()):
        headers = grids.nth(index).locator('[role="columnheader"]').all_inner_texts()
        if headers[:2] == ["variable", "description"]:
            return grids.nth(index)
    raise AssertionError("the dictionary grid is not on the page")


def _edit_description(page, box, row: int, text: str) -> None:
    """Double-click the row's description cell, type into the cell editor, commit with Enter, wait for the run."""
    page.mouse.dblclick(box["x"] + 260, box["y"] + ROW_HEIGHT * (row + 1.5))
    editor = page.locator("#portal textarea").first
    editor.wait_for(state="visible", timeout=20_000)
    editor.fill(text)
    page.keyboard.press("Enter")
    editor.wait_for(state="detached", timeout=20_000)
    _wait_for_script(page)


def _exported_dictionary(page) -> pd.DataFrame:
    page.get_by_text("Bulk set-up: import / export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export the dictionary (CSV)").click()
    return pd.read_csv(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8")), keep_default_na=False)


def test_ten_consecutive_grid_edits_all_reach_the_project(server, artifacts_dir):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        grid = _dictionary_grid(page)
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        for number in range(1, EDITS + 1):
            _edit_description(page, box, row=number - 1, text=f"edit {number}")
        page.screenshot(path=str(artifacts_dir / "dictionary-ten-edits.png"), full_page=True)
        exported = _exported_dictionary(page)
        browser.close()
    assert exported["description"].head(EDITS).tolist() == [f"edit {n}" for n in range(1, EDITS + 1)]
