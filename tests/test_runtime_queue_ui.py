"""ui.ai.draft_artifact on the real runtime (tiny random model): progress, queue wait, Stop logged, outcome kept.

AppTest cannot click Stop while a script runs, so the interrupt is produced the way Streamlit produces
it: a StopException raised inside the run (here from a stand-in run_task). Everything else runs the real
path: queue → generate with live progress → parse → AI log.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.runtime import queue as request_queue
from causal_core.runtime import registry, sessions


def _draft_script() -> None:
    import streamlit as st
    from pydantic import BaseModel, Field

    from causal_core.ai.structured import StructuredTask
    from causal_core.ui import ai, state

    class Mini(BaseModel):
        answer: str = Field(max_length=8)

    task = StructuredTask(name="mini", artifact="mini_card", system_prompt="Return JSON.",
                          build_user_prompt=lambda inputs: f"Question: {inputs['q']}", schema=Mini)
    state.activate_builtin("retention")
    ai.render_last_outcome(task)
    if st.session_state.get("go"):
        st.session_state["go"] = False
        ai.draft_artifact(task, {"q": "hi"})


def _app(model_key: str) -> AppTest:
    at = AppTest.from_function(_draft_script, default_timeout=300)
    at.session_state["cw_model_key"] = model_key
    at.session_state["cw_decoding"] = {"max_new_tokens": 24, "repair_retry": False}
    return at


def _log(at: AppTest):
    return at.session_state["cw_projects"][at.session_state["cw_active"]].ai_log


@pytest.fixture
def tiny_key(tiny_model):
    key = registry.path_key(tiny_model)
    sessions.get_session(key)
    yield key


def test_a_draft_shows_live_progress_and_leaves_its_outcome_on_the_page(tiny_key):
    at = _app(tiny_key)
    at.session_state["go"] = True
    at.run()
    assert not at.exception
    interaction = _log(at)[-1]
    assert interaction.task == "mini" and interaction.new_tokens > 0
    labels = [status.label for status in at.status]
    expected = (f"Draft ready ({interaction.duration_s:.1f} s" if interaction.schema_valid
                else f"The draft failed: {interaction.failure_type} after")
    assert any(label.startswith(expected) for label in labels), labels
    progress = [caption.value for caption in at.caption if caption.value.startswith("Generating with")]
    assert progress and "/24 tokens" in progress[-1] and "tokens/s" in progress[-1] and "limit 3 min 00 s" in progress[-1]
    at.run()  # the next rerun still shows what happened
    assert at.session_state["cw_draft_outcomes"]["mini_card"]["label"] == labels[-1]
    assert any(status.label.startswith(labels[-1]) for status in at.status)


def test_a_queue_timeout_is_shown_and_logged(tiny_key, monkeypatch):
    session = sessions.find_session(tiny_key)
    holder = request_queue.Ticket(tiny_key, owner="the instructor's demo", session_id=id(session))
    session.queue.acquire(holder)
    monkeypatch.setenv(request_queue.TIMEOUT_ENV, "0.8")
    try:
        at = _app(tiny_key)
        at.session_state["go"] = True
        at.run()
    finally:
        session.queue.release(holder)
    assert not at.exception
    interaction = _log(at)[-1]
    assert interaction.failure_type == "timeout" and "CW_QUEUE_TIMEOUT_S" in interaction.error
    waits = [caption.value for caption in at.caption if caption.value.startswith("Waiting in the queue for")]
    assert waits and "1 request(s) ahead" in waits[-1] and "now running: the instructor's demo" in waits[-1]
    assert any(status.label.startswith("The draft failed: timeout") for status in at.status)


def test_a_stopped_draft_is_logged_as_stopped_and_stays_visible(tiny_key, monkeypatch):
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    def interrupted(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        on_text('{"answer": "par')
        raise StopException()

    monkeypatch.setattr(runtime, "run_task", interrupted)
    at = _app(tiny_key)
    at.session_state["go"] = True
    at.run()
    before = len(_log(at))
    stopped = _log(at)[-1]
    assert (stopped.task, stopped.failure_type, stopped.repair_stage) == ("mini", "stopped", "failed")
    assert stopped.raw_output == '{"answer": "par' and stopped.user_prompt == "Question: hi"
    assert stopped.error.startswith("stopped by the analyst (Stop, another widget, or the tab closed)")
    at.run()  # the rerun after Stop: the page shows the outcome where the draft was started
    assert len(_log(at)) == before
    assert any(status.label.startswith("Draft of mini card stopped") for status in at.status)
