"""A stopped or failed draft stays visible where it was started, on every drafting page.

Stop (or any widget) ends the run that was drafting; the next run must still say what happened,
so each page redraws the last outcome next to its draft button (ui.ai.render_last_outcome).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core.ui.ai import OUTCOMES_KEY

ROOT = Path(__file__).resolve().parents[1]


def _artifacts() -> dict[str, str]:
    from causal_core import memo, question
    from causal_core.audit.profile_review import PROFILE_TASK

    return {
        "app_pages/question.py": question.ESTIMAND_TASK.artifact,
        "app_pages/data_audit.py": PROFILE_TASK.artifact,
        "app_pages/memo.py": memo.MEMO_TASK.artifact,
    }


@pytest.mark.parametrize("page", ["app_pages/question.py", "app_pages/data_audit.py", "app_pages/memo.py"])
def test_the_last_stopped_draft_is_shown_after_the_rerun(page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    label = "Draft stopped before it finished (stopped)"
    at.session_state[OUTCOMES_KEY] = {
        _artifacts()[page]: {"label": label, "state": "error", "error": "Stop pressed after 41 tokens", "time": "12:00:00"}
    }
    at.switch_page(page).run()
    assert not at.exception
    labels = [status.label for status in at.status]
    assert any(label in text for text in labels), labels
