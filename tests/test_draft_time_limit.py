"""The AI-draft time limit is chosen next to the draft button (issue 25, item 5), not only by an environment variable.

The control's value reaches the runtime (``stopping.time_limit_s`` inside the draft), the expectation line and the
live progress line's "(limit …)"; ``CW_DRAFT_TIME_LIMIT_S`` stays the default, and in class mode it is the ceiling a
student cannot exceed, even by writing the session state directly.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.project import AIInteraction
from causal_core.runtime import registry, sessions, stopping
from causal_core.ui import ai

ARTIFACT = "mini_card"


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


@pytest.fixture
def seen(monkeypatch) -> list[float]:
    """A stand-in model that records the time limit in force while it "generates"."""
    limits: list[float] = []

    def stub(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        limits.append(stopping.time_limit_s("cpu"))
        return AIInteraction(id="stub", task=task.name, parsed={"answer": "ok"}, schema_valid=True, model_id=model_key)

    monkeypatch.setattr(runtime, "run_task", stub)
    return limits


def _app() -> AppTest:
    at = AppTest.from_function(_draft_script, default_timeout=120)
    at.session_state["cw_model_key"] = "endpoint-free-stub"
    return at


def _limit_slider(at: AppTest):
    return at.select_slider(key=f"cw_draft_limit_{ARTIFACT}")


def _expectations(at: AppTest) -> list[str]:
    return [caption.value for caption in at.caption if caption.value.startswith("Expected")]


def test_the_chosen_limit_reaches_the_draft_and_the_expectation_line(seen, monkeypatch):
    monkeypatch.delenv(stopping.TIME_LIMIT_ENV, raising=False)
    monkeypatch.delenv("CW_CLASS_MODE", raising=False)
    monkeypatch.delenv("CW_INSTRUCTOR_PASSWORD", raising=False)
    at = _app().run()
    assert not at.exception
    slider = _limit_slider(at)
    assert slider.value == 180.0  # the CPU default (3 min) when nothing is chosen
    assert slider.options[0] == "10 s" and slider.options[-1] == "30 min"
    slider.set_value(45.0).run()
    assert any("time limit of 45 s" in line for line in _expectations(at)), _expectations(at)
    at.session_state["go"] = True
    at.run()
    assert not at.exception
    assert seen == [45.0]
    assert at.session_state[ai.LIMITS_KEY][ARTIFACT] == 45.0
    assert stopping.time_limit_s("cpu") == 180.0  # the choice held only inside the draft


def test_class_mode_keeps_a_student_under_the_instructors_limit(seen, monkeypatch):
    monkeypatch.setenv("CW_CLASS_MODE", "1")
    monkeypatch.setenv(stopping.TIME_LIMIT_ENV, "75")
    at = _app().run()
    slider = _limit_slider(at)
    assert slider.options[-1] == "1 min 15 s" and slider.value == 75.0
    assert "30 min" not in slider.options
    at.session_state[ai.LIMITS_KEY] = {ARTIFACT: 1800.0}  # a forged choice past the ceiling
    at.session_state["go"] = True
    at.run()
    assert seen == [75.0]


@settings(max_examples=60, deadline=None)
@given(chosen=st.floats(min_value=0.5, max_value=10_000), env=st.integers(min_value=5, max_value=4000),
       classroom=st.booleans())
def test_the_limit_in_force_is_always_inside_its_bounds(chosen, env, classroom):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(stopping.TIME_LIMIT_ENV, str(env))
        patch.setenv("CW_CLASS_MODE", "1" if classroom else "0")
        patch.delenv("CW_INSTRUCTOR_PASSWORD", raising=False)
        with stopping.chosen_time_limit(chosen):
            limit = stopping.time_limit_s("cpu")
        ceiling = env if classroom else max(1800.0, env)
        assert limit <= ceiling
        assert limit == min(max(chosen, stopping.MIN_CHOSEN_S), ceiling)
        assert stopping.time_limit_s("cpu") == env  # outside the block: the server default


@pytest.fixture
def tiny_key(tiny_model):
    key = registry.path_key(tiny_model)
    sessions.get_session(key)
    yield key
    sessions.unload(key, wait_s=30)  # leave no session behind: later tests assert on what is loaded


def test_the_progress_line_shows_the_chosen_limit(tiny_key, monkeypatch):
    monkeypatch.delenv(stopping.TIME_LIMIT_ENV, raising=False)
    at = AppTest.from_function(_draft_script, default_timeout=300)
    at.session_state["cw_model_key"] = tiny_key
    at.session_state["cw_decoding"] = {"max_new_tokens": 24, "repair_retry": False}
    at.run()
    _limit_slider(at).set_value(20.0).run()
    at.session_state["go"] = True
    at.run()
    assert not at.exception
    progress = [caption.value for caption in at.caption if caption.value.startswith("Generating with")]
    assert progress and progress[-1].endswith("(limit 20 s)"), progress
