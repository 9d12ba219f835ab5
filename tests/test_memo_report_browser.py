"""Issue 17 §17 in a real browser: the HTML report opens offline and draws its charts with no request at all.

Chromium loads memo.html from a file with every network request recorded and refused; the forest plot and
the DAG must be drawn (non-empty SVG boxes) and nothing may be fetched or pop a dialog.
"""

from __future__ import annotations

import shutil

import pytest

from causal_core import memo
from causal_core.reporting import report
from tests.test_browser import CHROMIUM, _launch
from tests.test_memo_support import retention_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Chromium"),
]


def test_report_opens_offline_with_both_svgs_drawn(tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "memo.html"
    project = memo.with_deterministic_memo(retention_project())
    path.write_text(report.memo_html(project), encoding="utf-8")
    requests, dialogs = [], []
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        try:
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else (requests.append(route.request.url), route.abort()))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            sizes = {
                figure: page.eval_on_selector(f"#{figure} svg", "e => [e.getBoundingClientRect().width, "
                                                                "e.getBoundingClientRect().height]")
                for figure in ("forest-plot", "dag")
            }
            labels = page.eval_on_selector_all("#forest-plot svg text", "els => els.map(e => e.textContent)")
        finally:
            browser.close()
    assert requests == [] and dialogs == []
    assert all(width > 200 and height > 100 for width, height in sizes.values()), sizes
    from causal_core.display import project_unit
    from causal_core.estimation.charts import forest_frame

    rows = forest_frame(project.estimation, project_unit(project))["row"].tolist()  # the Estimation page's labels
    assert any(row.startswith("Doubly robust (AIPW)") for row in rows)
    assert [label for label in labels if label in rows] == rows  # every row drawn, as the page draws it
