"""Real browser: `streamlit run` on a free port, every page opened in headless Chromium.

Fails on any Streamlit exception block; screenshots go to test-artifacts/. Skips only when
Chromium is absent (CI installs it). Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_app import registered_pages

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CW_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def server(artifacts_dir):
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (CI installs the Debian package)")
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(artifacts_dir / "streamlit-server.log", "w") as log:
        yield from _serve(port, env, log)


def _serve(port: int, env: dict, log):
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_script(page, timeout_ms: int = 120_000) -> None:
    """Streamlit shows a 'running' status widget while the script runs; wait until it is gone."""
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_ms)
    page.wait_for_timeout(1500)
    deadline = time.time() + timeout_ms / 1000
    while time.time() < deadline:
        # done = no 'running' widget and no skeleton left (a lazily loaded element, e.g. st.metric, draws a
        # skeleton first; on a loaded machine that can outlast the script by seconds)
        if page.locator('[data-testid="stStatusWidget"]').count() == 0 and page.locator(".stSkeleton").count() == 0:
            return
        page.wait_for_timeout(500)
    raise TimeoutError("the page script did not finish")


def _launch(playwright):
    """Debian's Chromium (never a downloaded one) with the flags this sandbox needs; one 1400×1000 page."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
    )
    return browser, browser.new_page(viewport={"width": 1400, "height": 1000})


def test_every_page_renders_in_chromium(server, artifacts_dir):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        failures = []
        for page_file in registered_pages():
            stem = Path(page_file).stem
            path = "" if stem == "overview" else stem
            page.goto(f"{server}/{path}", wait_until="domcontentloaded")
            _wait_for_script(page)
            page.screenshot(path=str(artifacts_dir / f"page-{stem}.png"), full_page=True)
            exceptions = page.locator('[data-testid="stException"]')
            if exceptions.count():
                failures.append(f"{stem}: {exceptions.first.inner_text()[:300]}")
            guarded = page.get_by_text("Something went wrong in")  # app.py's guard turned a crash into st.error
            if guarded.count():
                failures.append(f"{stem}: {guarded.first.inner_text()[:300]}")
            assert page.locator('[data-testid="stSidebar"]').count() == 1
        browser.close()
    assert failures == []


def _choose_dataset(page, label: str, attempts: int = 4) -> None:
    """Open the sidebar's Dataset box and pick `label`.

    Retried because a rerun that lands between the click and the option list (seen on a loaded CI
    machine) closes the list again; each attempt waits for the script to settle first.
    """
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Dataset").first
    option = page.get_by_role("option", name=label)
    for _ in range(attempts):
        _wait_for_script(page)
        box.click()
        try:
            option.wait_for(state="visible", timeout=10_000)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; close the list and try again
            page.keyboard.press("Escape")
            continue
        option.click()
        _wait_for_script(page)
        return
    raise AssertionError(f"the Dataset box never offered {label!r}")


def test_upload_through_the_sidebar(server, artifacts_dir, tmp_path):
    """A bad file shows its message and keeps the project; a good CSV becomes the current dataset."""
    from playwright.sync_api import sync_playwright

    header_only = tmp_path / "header_only.csv"
    header_only.write_text("treat,outcome\n")
    good = tmp_path / "trial.csv"
    good.write_text("treat,outcome,age\n1,2.5,30\n0,1.5,40\n1,3.0,35\n0,1.0,50\n")
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        _choose_dataset(page, "Upload CSV / Parquet…")
        uploader = page.locator('[data-testid="stSidebar"] input[type="file"]').first
        uploader.set_input_files(str(header_only))
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("The file has a header but no data rows.").wait_for(timeout=90_000)
        uploader.set_input_files(str(good))
        sidebar.get_by_text("Loaded 4 rows × 3 columns", exact=False).wait_for(timeout=90_000)
        _wait_for_script(page)
        sidebar_text = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Loaded 4 rows × 3 columns from trial.csv" in sidebar_text
        assert "upload: trial.csv" in page.locator('[data-testid="stMain"]').inner_text()
        page.screenshot(path=str(artifacts_dir / "upload-trial.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def _open_page(page, title: str) -> None:
    """Navigate inside the same browser session (a fresh URL would start a new, empty session)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    _wait_for_script(page)


def test_worked_example_project_opens_and_every_page_shows_its_artifacts(server, artifacts_dir, tmp_path):
    """The headless worked example, saved as JSON and opened through the sidebar, fills every page.

    Its screenshots (worked-*.png) are the README's; `make screenshots` copies them to docs/screenshots/.
    """
    from playwright.sync_api import sync_playwright

    from causal_core.headless import build_project
    from causal_core.project_file import project_to_json

    project, _ = build_project("retention")
    saved = tmp_path / "retention_worked_example.json"
    saved.write_text(project_to_json(project))
    aipw = next(row for row in project.estimation.estimates if row.method == "aipw")
    truth = f"{project.estimation.true_effect:+.4f}"
    expectations = {
        "Overview": ["Dataset overview (N01 §4)", "Data dictionary"],
        "Question": ["Approved", "12 / 12"],
        "DAG": ["health_score"],
        "Data audit": ["Evidence bundle"],
        "Estimation": [f"the true {aipw.estimand} is {truth}", "Benchmarked on the strongest observed covariate"],
        "Specification curve": [project.multiverse.summary["sentences"][0]],
        "Memo": ["Main estimate.", f"{aipw.estimate * 100:.1f}".replace("-", "")],
        "Model lab": ["Model lab"],
    }
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(server, wait_until="domcontentloaded")
        _wait_for_script(page)
        page.locator('[data-testid="stSidebar"]').get_by_text("Save / open project").click()
        page.locator('[data-testid="stSidebar"] input[type="file"]').first.set_input_files(str(saved))
        _wait_for_script(page)
        page.wait_for_timeout(1500)
        assert "Opened" in page.locator('[data-testid="stSidebar"]').inner_text()
        missing = {}
        for title, needles in expectations.items():
            _open_page(page, title)
            page.wait_for_timeout(1000)
            if title == "DAG":  # the graph is a component iframe drawn after the script: wait for it, then its canvas
                page.wait_for_selector('[data-testid="stMain"] iframe', state="visible", timeout=60_000)
                page.frame_locator('[data-testid="stMain"] iframe').first.locator("canvas").first.wait_for(
                    timeout=60_000
                )
                page.wait_for_timeout(1500)
            stem = title.lower().replace(" ", "_")
            page.screenshot(path=str(artifacts_dir / f"worked-{stem}.png"), full_page=True)
            if title == "DAG":  # the classroom view below the graph: the path list, then the DAG tested on data
                for heading, shot in (("Paths between treatment and outcome", "dag_paths"),
                                      ("Test the DAG against the data", "dag_tests")):
                    page.get_by_text(heading).first.scroll_into_view_if_needed()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(artifacts_dir / f"worked-{shot}.png"))
            assert page.locator('[data-testid="stException"]').count() == 0, f"{title} raised"
            text = page.locator('[data-testid="stMain"]').inner_text()
            absent = [needle for needle in needles if needle not in text]
            if absent:
                missing[title] = absent
        browser.close()
    assert missing == {}
