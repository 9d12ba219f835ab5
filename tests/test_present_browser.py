"""Present mode in Chromium at a projector's 1280×720: readable type, keyboard navigation, nothing fetched.

The exported deck (retention and support, built headless) is opened from a file in Debian's Chromium (never a
downloaded browser); a route recorder sees every request the page makes. Each slide is screenshotted into
test-artifacts/present-*.png for a person to look at. A hostile deck must run no handler (no dialog) and fetch
nothing; the PDF export must give one page per slide.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from causal_core.cli import main
from causal_core.present import build_deck
from causal_core.present.html import deck_html
from causal_core.present.pdf import deck_pdf
from tests.test_browser import CHROMIUM, _launch
from tests.test_present import hostile_project

pytestmark = pytest.mark.slow
MIN_BODY_PX = 24.0
VIEWPORT = {"width": 1280, "height": 720}
# Text a stakeholder reads on the active slide (SVG chart labels are pictures, measured by eye on the screenshots).
MEASURE = """() => {
  const slide = document.querySelector('.slide.active');
  const sizes = [...slide.querySelectorAll('p, li, figcaption, .count')]
    .filter(el => el.innerText.trim() && el.getClientRects().length)
    .map(el => parseFloat(getComputedStyle(el).fontSize));
  const body = slide.querySelector('.body');
  return {key: slide.dataset.key, sizes, overflow: body.scrollHeight - body.clientHeight,
          slideOverflow: slide.scrollHeight - slide.clientHeight};
}"""


@pytest.fixture(scope="module", autouse=True)
def chromium_present():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (CI installs the Debian package)")


@pytest.fixture(scope="module", params=["retention", "support"])
def deck_file(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"present-{request.param}")
    project_path = folder / "project.json"
    assert main(["project", "--dataset", request.param, "--out", str(project_path), "--format", "json"]) == 0
    deck_path = folder / "deck.html"
    assert main(["present", "--project", str(project_path), "--out", str(deck_path)]) == 0
    return request.param, deck_path


def _open(playwright, path: Path):
    """The deck in Chromium at 1280×720, every request recorded and only the deck file itself allowed."""
    browser, _ = _launch(playwright)
    page = browser.new_page(viewport=VIEWPORT)
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def record(route):
        requests.append(route.request.url)
        route.continue_() if route.request.url == path.as_uri() else route.abort()

    page.route("**/*", record)
    page.goto(path.as_uri(), wait_until="load")
    return browser, page, requests, dialogs


def _current(page) -> int:
    return int(page.evaluate("() => document.querySelector('.cw-deck') && document.body.dataset.slide"))


def test_each_slide_is_readable_at_1280x720(deck_file, artifacts_dir):
    from playwright.sync_api import sync_playwright

    dataset, path = deck_file
    measured = []
    with sync_playwright() as playwright:
        browser, page, requests, dialogs = _open(playwright, path)
        for number in range(1, 6):
            assert _current(page) == number
            page.screenshot(path=str(artifacts_dir / f"present-{dataset}-{number}.png"))
            measured.append(page.evaluate(MEASURE))
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Home")
        page.keyboard.press("n")
        page.screenshot(path=str(artifacts_dir / f"present-{dataset}-notes.png"))
        notes_visible = page.locator(".slide.active .notes").is_visible()
        browser.close()
    assert [m["key"] for m in measured] == ["question", "dag", "estimate", "curve", "recommendation"]
    for item in measured:
        assert item["sizes"] and min(item["sizes"]) >= MIN_BODY_PX, item
        assert item["overflow"] <= 1 and item["slideOverflow"] <= 1, item  # nothing cut off at the bottom
    assert notes_visible
    assert requests == [path.as_uri()] and not dialogs


def test_keyboard_moves_the_slides(deck_file):
    from playwright.sync_api import sync_playwright

    _, path = deck_file
    with sync_playwright() as playwright:
        browser, page, requests, _ = _open(playwright, path)
        steps = []
        for key in ("ArrowRight", "PageDown", "Space", "ArrowLeft", "PageUp", "End", "ArrowRight", "Home",
                    "ArrowLeft"):
            page.keyboard.press(key)
            steps.append(_current(page))
        visible = page.locator(".slide:visible").count()
        page.get_by_role("button", name="Next").click()
        after_click = _current(page)
        browser.close()
    assert steps == [2, 3, 4, 3, 2, 5, 5, 1, 1]  # clamped at both ends
    assert visible == 1 and after_click == 2
    assert requests == [path.as_uri()]


def test_hostile_deck_runs_and_fetches_nothing(tmp_path, artifacts_dir):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "hostile.html"
    path.write_text(deck_html(build_deck(hostile_project())), encoding="utf-8")
    with sync_playwright() as playwright:
        browser, page, requests, dialogs = _open(playwright, path)
        texts = []
        for _ in range(5):
            texts.append(page.locator(".slide.active").inner_text())
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Home")
        page.screenshot(path=str(artifacts_dir / "present-hostile-1.png"))
        images = page.locator("img").count()
        browser.close()
    assert requests == [path.as_uri()] and not dialogs and images == 0
    assert "<img src=x onerror=alert(1)>" in " ".join(texts)  # the name is shown as text


def test_pdf_has_one_page_per_slide(deck_file):
    _, path = deck_file
    pdf = deck_pdf(path.read_text(encoding="utf-8"))
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 5


@pytest.fixture(scope="module")
def app_server(artifacts_dir):
    import os

    from tests.test_browser import _free_port, _serve

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(artifacts_dir / "streamlit-present-server.log", "w") as log:
        yield from _serve(_free_port(), env, log)


def test_present_page_in_the_app(app_server, artifacts_dir):
    """The page after the worked example: Next twice reaches the estimate slide, drawn at ≥ 24 px with its picture
    (an SVG data-URI image: st.html drops inline SVG) and nothing cut off."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import _wait_for_script

    with sync_playwright() as playwright:
        browser, page = _launch(playwright)
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(app_server, wait_until="domcontentloaded")
        _wait_for_script(page)
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Memo", exact=True).click()
        _wait_for_script(page)
        page.get_by_text("Shortcut: build the worked example without a model").click()
        page.get_by_role("button", name="Build the worked example").click()
        _wait_for_script(page)
        page.wait_for_selector("text=All artifacts agree", timeout=180_000)  # the memo page after the build
        page.screenshot(path=str(artifacts_dir / "present-page-memo.png"), full_page=True)
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Present", exact=True).click()
        _wait_for_script(page)
        for _ in range(2):
            page.get_by_role("button", name="Next").click()
            _wait_for_script(page)
        slide = page.locator(".cw-present .slide")
        sizes = slide.evaluate(
            "s => [...s.querySelectorAll('p, li, figcaption')].filter(e => e.innerText.trim())"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        page.screenshot(path=str(artifacts_dir / "present-page.png"), full_page=True)
        point = slide.locator(".point").inner_text()
        pictures = slide.locator("img.picture").evaluate_all("images => images.filter(i => i.naturalWidth > 0).length")
        page.screenshot(path=str(artifacts_dir / "present-page.png"), full_page=True)
        errors = page.locator('[data-testid="stException"]').count()
        browser.close()
    assert errors == 0 and pictures == 1
    assert sizes and min(sizes) >= MIN_BODY_PX, sizes
    assert point.endswith("percentage points")
