"""The dictionary grid keeps every edit and says what it cannot save (issue 25, item 7).

A row added at the end without a variable name stays in the grid with a warning quoting its content on every
run (it was shown once, then the row sat there unsaved without a word); the grid is a fragment, so a committed
cell reruns only the grid, not the whole Overview page. The Chromium test types five cells in a row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from causal_core.audit.dictionary_io import editor_table
from causal_core.ui import dictionary_editor
from tests.test_browser import _launch, _wait_for_script, server  # noqa: F401 - the live-server fixture


@pytest.fixture
def base(retention):
    return editor_table(retention[0].dictionary)  # (project, frame)


def test_a_nameless_added_row_is_warned_with_its_content(base):
    delta = {"edited_rows": {}, "added_rows": [{"description": "weekend flag", "timing": "unknown"}],
             "deleted_rows": []}
    warning = dictionary_editor.unsaved_rows_warning(base, delta)
    assert warning.startswith("1 row(s) without a variable name are not saved (weekend flag)")


def test_a_named_added_row_or_no_delta_needs_no_warning(base):
    named = {"added_rows": [{"variable": "churn_v2", "description": "x"}]}
    assert dictionary_editor.unsaved_rows_warning(base, named) == ""
    assert dictionary_editor.unsaved_rows_warning(base, None) == ""


def test_the_editor_body_is_a_fragment():
    """A fragment reruns alone: an edit no longer waits for the whole page (tables, preview, roles)."""
    import inspect

    source = inspect.getsource(dictionary_editor.render_dictionary_editor)
    assert "_dictionary_fragment(" in source
    assert "@st.fragment" in inspect.getsource(dictionary_editor)


@pytest.mark.slow
def test_five_cells_typed_in_a_row_are_all_saved(server):  # noqa: F811 - the imported fixture
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        grid = page.locator('[data-testid="stDataFrame"]').nth(2)
        grid.scroll_into_view_if_needed()
        for row in range(5):
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 440, box["y"] + 35 + row * 35 + 17)  # the description cell
            page.wait_for_timeout(250)  # a person reads the cell before typing
            page.keyboard.type(f"edit{row}", delay=90)
            page.keyboard.press("Enter")
            page.wait_for_timeout(150)
        _wait_for_script(page)
        page.get_by_text("Bulk set-up", exact=False).click()
        with page.expect_download() as info:
            page.get_by_text("Export the dictionary (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
        browser.close()
    assert [row["description"] for row in rows[:5]] == [f"edit{row}" for row in range(5)]
