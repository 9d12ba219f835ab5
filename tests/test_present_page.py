"""AppTest of the Present page: an empty project shows honest "not done yet" slides; next/previous step through
the deck; after the worked example the estimate slide shows the memo's own numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import memo
from causal_core.present import NOT_DONE

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/present.py"


def slide_html(at: AppTest) -> str:
    """The body of the page's slide (the st.html element that holds the slide section)."""
    bodies = [element.proto.body for element in at.get("html") if "cw-present" in element.proto.body]
    assert len(bodies) == 1, bodies
    return bodies[0]


def status(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Slide "))


@pytest.fixture(scope="module")
def page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def test_empty_project_shows_not_done_slides_and_steps(page):
    at = page
    assert status(at).startswith("Slide 1 of 5")
    assert at.button(key="present_prev").disabled
    seen = []
    for expected in range(1, 6):
        assert status(at).startswith(f"Slide {expected} of 5"), status(at)
        seen.append(slide_html(at))
        if expected < 5:
            at.button(key="present_next").click().run()
            assert not at.exception, at.exception
    assert at.button(key="present_next").disabled
    # no estimation, no curve on a fresh project: those slides say so rather than crash or show a number
    for key in ("estimate", "curve", "recommendation"):
        body = next(html for html in seen if f'data-key="{key}"' in html)
        assert NOT_DONE in body and 'class="lead notdone"' in body
    assert "not done yet" in status(at)
    at.button(key="present_prev").click().run()
    assert status(at).startswith("Slide 4 of 5")


def test_speaker_notes_toggle_shows_the_memo_sections(page):
    at = page
    assert "Speaker notes" not in slide_html(at)
    at.toggle(key="present_notes").set_value(True).run()
    assert "Speaker notes" in slide_html(at)
    at.toggle(key="present_notes").set_value(False).run()


def test_after_the_worked_example_the_slide_quotes_the_memo(page):
    at = page
    at.switch_page("app_pages/memo.py").run()
    at.button(key="build_example").click().run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    at.session_state["present_slide"] = 2
    at.run()
    assert not at.exception, at.exception
    project = at.session_state["cw_projects"]["retention"]
    facts = memo.memo_facts(project)
    row = facts.primary
    body = slide_html(at)
    point = memo.effect_phrase(row.estimate, facts.binary, facts.unit)
    interval = memo.range_phrase(row.ci_low, row.ci_high, facts.binary, facts.unit)
    assert point in project.memo.deterministic["main_estimate"] and interval in project.memo.deterministic["main_estimate"]
    assert f'<p class="point">{point}</p>' in body and interval in body
    assert point.endswith("percentage points")
    assert 'src="data:image/svg+xml;base64,' in body  # the sensitivity picture, drawn offline, shown as an image
