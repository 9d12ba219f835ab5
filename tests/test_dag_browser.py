"""Real browser: the DAG page with script payloads in node names, edge rationales and CSV column names.

A payload that runs calls ``alert()``, which Chromium reports as a ``dialog`` event; the test listens
on the page (the component iframe's alerts surface there too) and asserts none fires while the graph
renders, on hover of every node and on a double click (the agraph frontend's window.open sink).
"""

from __future__ import annotations

import os

import pytest

from tests.test_browser import _choose_dataset, _free_port, _launch, _open_page, _serve, _wait_for_script

pytestmark = pytest.mark.slow
PAYLOAD = "<img src=x onerror=alert(1)>"
JS_URL = "javascript:alert(2)//"


@pytest.fixture(scope="module")
def server(artifacts_dir):
    from tests.test_browser import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (CI installs the Debian package)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(artifacts_dir / "streamlit-server-dag.log", "w") as log:
        yield from _serve(_free_port(), env, log)


def _payload_project(tmp_path):
    """The retention project with a payload node (confounder), a javascript: URL node and payload rationales."""
    from causal_core import dag
    from causal_core.data import project_for_builtin
    from causal_core.project_file import project_to_json

    project, _ = project_for_builtin("retention")
    spec = dag.default_dag("retention")
    spec = dag.add_node(spec, PAYLOAD, latent=True, x=100.0, y=300.0)
    spec = dag.add_node(spec, JS_URL, latent=True, x=300.0, y=300.0)
    spec = dag.add_edge(spec, PAYLOAD, "outreach", f"model says {PAYLOAD}")
    spec = dag.add_edge(spec, PAYLOAD, "churn", "<svg onload=alert(3)>")
    spec = dag.add_edge(spec, JS_URL, "churn", "x")
    saved = tmp_path / "payload_project.json"
    saved.write_text(project_to_json(project.model_copy(update={"dag": spec, "name": "payload"})))
    return saved


def _wait_for_text(page, where: str, text: str, timeout_ms: int = 180_000) -> None:
    """Wait for ``text`` in a page region (a loaded machine can take a minute for one rerun)."""
    page.locator(f'[data-testid="{where}"]').get_by_text(text).first.wait_for(timeout=timeout_ms)


def _wait_for_graph(page) -> None:
    page.wait_for_selector('[data-testid="stMain"] iframe', state="visible", timeout=180_000)
    page.frame_locator('[data-testid="stMain"] iframe').first.locator("canvas").first.wait_for(timeout=180_000)
    page.wait_for_timeout(2000)


def _hover_and_double_click_everywhere(page) -> None:
    """Move over the whole canvas (tooltips) and double-click its centre area (window.open of a title)."""
    frame = page.locator('[data-testid="stMain"] iframe').first
    box = frame.bounding_box()
    for fx in (0.1, 0.3, 0.5, 0.7, 0.9):
        for fy in (0.2, 0.5, 0.8):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(150)
    page.mouse.dblclick(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(1000)


def test_payload_names_in_an_opened_project_never_run(server, artifacts_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    saved = _payload_project(tmp_path)
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.context.on("page", lambda popup: dialogs.append(f"popup {popup.url}"))
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        page.locator('[data-testid="stSidebar"]').get_by_text("Save / open project").click()
        page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(saved))
        _wait_for_text(page, "stSidebar", "Opened")
        _open_page(page, "DAG")
        _wait_for_text(page, "stMain", "Selected node")
        _wait_for_graph(page)
        _hover_and_double_click_everywhere(page)
        page.screenshot(path=str(artifacts_dir / "dag-payload-project.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert PAYLOAD in page.locator('[data-testid="stMain"]').inner_text()  # shown, as text
        browser.close()
    assert [d for d in dialogs if not d.startswith("popup")] == []
    assert not [d for d in dialogs if "javascript" in d]


def test_payload_column_from_a_csv_never_runs(server, artifacts_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    csv = tmp_path / "payload.csv"
    csv.write_text(f'"{PAYLOAD}",treat,outcome\n1.5,1,2.5\n0.5,0,1.5\n2.0,1,3.0\n0.1,0,1.0\n')
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        _choose_dataset(page, "Upload CSV / Parquet…")
        page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(csv))
        _wait_for_text(page, "stSidebar", "Loaded 4 rows")
        _open_page(page, "DAG")
        _wait_for_text(page, "stMain", "Selected node")
        page.get_by_role("button", name="Add node").first.click()  # the first free column: the payload
        _wait_for_text(page, "stMain", "Added node")
        _wait_for_graph(page)
        _hover_and_double_click_everywhere(page)
        page.screenshot(path=str(artifacts_dir / "dag-payload-column.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert PAYLOAD in page.locator('[data-testid="stMain"]').inner_text()  # the selected node, shown as text
        browser.close()
    assert dialogs == []


def test_ai_draft_section_stays_selected_after_its_rerun(server, artifacts_dir):
    """Issue 17 §19: after a draft's rerun the page showed two tab bars and went back to the first tab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        _open_page(page, "DAG")
        _wait_for_text(page, "stMain", "Selected node")
        page.get_by_role("tab", name="AI draft").click()
        _wait_for_script(page)
        page.get_by_role("button", name="Load the notebook's example draft").click()
        _wait_for_text(page, "stMain", "Discard draft")  # the draft is on the page: its rerun has happened
        _wait_for_script(page)
        page.screenshot(path=str(artifacts_dir / "dag-draft-section.png"), full_page=True)
        page.get_by_text("Presentation (large)").first.click()
        _wait_for_script(page)
        _wait_for_graph(page)
        page.screenshot(path=str(artifacts_dir / "dag-presentation.png"), full_page=True)
        bars = page.locator('[role="tablist"]').filter(has=page.get_by_role("tab", name="Add / remove"))
        assert bars.count() == 1
        assert page.get_by_role("tab", name="AI draft").get_attribute("aria-selected") == "true"
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
