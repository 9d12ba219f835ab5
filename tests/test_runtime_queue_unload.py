"""Unloading a shared model: an instructor action when CW_INSTRUCTOR_PASSWORD is set; never while in use."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from causal_core.ui.unload_guard import INSTRUCTOR_ENV, unload_decision

IDLE = {"model_key": "bundled", "busy": False, "busy_with": "", "waiting": 0}
BUSY = {"model_key": "bundled", "busy": True, "busy_with": "estimand-card from browser session 3fa2c1", "waiting": 2}


def test_without_a_configured_password_anyone_may_unload_an_idle_model():
    assert unload_decision(IDLE, "", configured="") == (True, "Unloaded `bundled`.")


def test_with_a_password_unloading_needs_the_right_one():
    assert unload_decision(IDLE, "", configured="s3cret") == (
        False, "Unloading a shared model is an instructor action: enter the instructor password "
               "(set by CW_INSTRUCTOR_PASSWORD) to unload `bundled`.")
    assert unload_decision(IDLE, "guess", configured="s3cret") == (
        False, "Wrong instructor password; `bundled` stays loaded.")
    assert unload_decision(IDLE, "s3cret", configured="s3cret")[0] is True


def test_a_model_in_use_is_never_unloaded_and_the_refusal_names_who_uses_it():
    allowed, message = unload_decision(BUSY, "s3cret", configured="s3cret")
    assert not allowed
    assert message == ("`bundled` is in use by estimand\\-card from browser session 3fa2c1, with 2 more "
                       "request(s) waiting. Unload it when they are done; nothing was changed.")


def _sidebar_script() -> None:
    import streamlit as st

    from causal_core.ui.unload_guard import render_unload

    row = {"model_key": "bundled", "busy": False, "busy_with": "", "waiting": 0}
    if render_unload(0, row):
        st.session_state["unloaded"] = st.session_state.get("unloaded", 0) + 1


def test_the_unload_block_asks_for_the_password_only_when_one_is_configured(monkeypatch):
    monkeypatch.delenv(INSTRUCTOR_ENV, raising=False)
    at = AppTest.from_function(_sidebar_script).run()
    assert len(at.text_input) == 0
    at.button(key="cw_unload_0").click().run()
    assert at.session_state["unloaded"] == 1 and not at.error

    monkeypatch.setenv(INSTRUCTOR_ENV, "s3cret")
    at = AppTest.from_function(_sidebar_script).run()
    assert at.text_input(key="cw_unload_password_0").label == "Instructor password"
    at.button(key="cw_unload_0").click().run()
    assert "unloaded" not in at.session_state
    assert at.error[0].value.startswith("Unloading a shared model is an instructor action")
    at.text_input(key="cw_unload_password_0").set_value("wrong").run()
    at.button(key="cw_unload_0").click().run()
    assert "unloaded" not in at.session_state and at.error[0].value == "Wrong instructor password; `bundled` stays loaded."
    at.text_input(key="cw_unload_password_0").set_value("s3cret").run()
    at.button(key="cw_unload_0").click().run()
    assert at.session_state["unloaded"] == 1 and not at.error
