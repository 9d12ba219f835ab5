"""Drafting an artifact with the sidebar's model: stream the raw text, log the call, return it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from causal_core import runtime
from causal_core.project import AIInteraction
from causal_core.runtime import generate as _generate
from causal_core.runtime import registry, sessions
from causal_core.structured import DecodingSettings, StructuredTask
from causal_core.ui import state

MODEL_KEY = "cw_model_key"  # set by the sidebar model picker; "bundled" by default
DECODING_KEY = "cw_decoding"  # dict of DecodingSettings fields, set by the sidebar


def current_model_key() -> str:
    return st.session_state.get(MODEL_KEY, "bundled")


def current_settings() -> DecodingSettings:
    return DecodingSettings(**st.session_state.get(DECODING_KEY, {}))


def _needs_loading(model_key: str) -> bool:
    """A local model not loaded yet, with the real runtime in place (tests that patch run_task never load)."""
    return (
        runtime.run_task is _generate.run_task
        and registry.key_source(model_key) != "endpoint"
        and sessions.find_session(model_key) is None
    )


def draft_artifact(task: StructuredTask, inputs: dict[str, Any]) -> AIInteraction:
    """Run ``task`` on the selected model, streaming into the page; the call is appended to the AI log.

    Never raises for model or parse failures: the interaction says what failed (see runtime.run_task).
    A model that is not loaded yet is loaded first through the sidebar's cached loader, with progress.
    Clicking Stop (or any other widget) while it generates abandons the draft; nothing is saved.
    """
    model_key = current_model_key()
    if _needs_loading(model_key):
        from causal_core.ui.model_picker import load_model

        load_model(model_key)  # failures are shown; run_task below then records a model_error
    with st.status(f"Drafting {task.artifact.replace('_', ' ')} with `{model_key}`…", expanded=True) as status:
        stops = st.session_state.get("cw_stop_counter", 0) + 1  # unique key even for two drafts in one run
        st.session_state["cw_stop_counter"] = stops
        st.button("Stop", key=f"cw_stop_{stops}", help="Abandon this draft; the project is left unchanged.")
        stream = st.empty()
        received: list[str] = []

        def show(text: str) -> None:
            received.append(text)
            stream.code("".join(received)[-4000:], language="json")

        interaction = runtime.run_task(task, inputs, model_key, current_settings(), on_text=show)
        if interaction.schema_valid:
            status.update(label=f"Draft ready ({interaction.duration_s:.1f} s, {interaction.tokens_per_s:.1f} tokens/s)"
                          + (f" — repaired ({interaction.repair_stage})" if interaction.repair_stage != "none" else ""),
                          state="complete")
        else:
            status.update(label=f"The model's output failed: {interaction.failure_type}", state="error")
    state.set_project(state.get_project().with_interaction(interaction))
    return interaction
