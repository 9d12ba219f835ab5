"""Issue 21, live: a class-mode server in Chromium, driven as a hostile student would, with a bystander on 127.0.0.1.

``streamlit run app.py`` starts with ``CW_CLASS_MODE=1`` and an instructor password; a recorder HTTP server on
127.0.0.1 counts every request it gets. The student types endpoint URLs into the sidebar: one aimed at the
recorder with ``?x=`` (the old SSRF), one that looks like the class server but is not on the allow-list, and the
recorder's plain URL. Each must be refused with its message, and the recorder must have heard nothing.
Debian's Chromium only (``tests/test_browser.py``'s launcher); never a downloaded browser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.openai_stub import start_recorder
from tests.test_browser import CHROMIUM, _free_port, _launch, _serve, _wait_for_script

pytestmark = pytest.mark.slow
PASSWORD = "instructor-only-7c1d"
ALLOWED = "http://gpu.class.example:8000"


@pytest.fixture(scope="module")
def recorder():
    origin, seen, stop = start_recorder()
    yield origin, seen
    stop()


@pytest.fixture(scope="module")
def class_server(artifacts_dir, recorder):
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (CI installs the Debian package)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CW_CLASS_MODE": "1", "CW_INSTRUCTOR_PASSWORD": PASSWORD,
           "CW_ALLOWED_ENDPOINTS": ALLOWED}
    env.pop("CW_ENDPOINT_BASE_URL", None)
    with open(artifacts_dir / "streamlit-security-server.log", "w") as log:
        yield from _serve(_free_port(), env, log)


def _try_endpoint(page, url: str) -> str:
    """Type an endpoint into the sidebar, click Add endpoint, return the sidebar's error text."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    field = sidebar.get_by_label("Endpoint base URL")
    if not field.is_visible():
        sidebar.get_by_text("Add a local folder or endpoint").click()
    field.fill(url)
    field.press("Enter")
    _wait_for_script(page)
    model = sidebar.get_by_label("Endpoint model name")
    model.fill("stub-model")
    model.press("Enter")
    _wait_for_script(page)
    sidebar.get_by_role("button", name="Add endpoint").click()
    _wait_for_script(page)
    return " ".join(sidebar.locator('[data-testid="stAlertContentError"]').all_inner_texts())


def test_a_student_cannot_aim_the_server_at_the_network(class_server, recorder, artifacts_dir):
    from playwright.sync_api import sync_playwright

    recorder_origin, seen = recorder
    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.goto(class_server, wait_until="domcontentloaded")
        _wait_for_script(page)
        ssrf = _try_endpoint(page, f"{recorder_origin}/secret?x=")
        lookalike = _try_endpoint(page, "http://gpu.class.example.evil.test:8000/v1")
        plain = _try_endpoint(page, f"{recorder_origin}/v1")
        page.screenshot(path=str(artifacts_dir / "security-class-mode.png"), full_page=True)
        picker = page.locator('[data-testid="stSidebar"]').inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
    assert "may not contain a '?' (query)" in ssrf and "Nothing was added" in ssrf
    assert "only the endpoints the instructor allowed" in lookalike
    assert "only the endpoints the instructor allowed" in plain
    assert "Instructor password" in picker  # class mode shows the one password field
    assert seen == []  # the bystander never heard from the server
