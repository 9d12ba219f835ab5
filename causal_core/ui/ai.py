"""Drafting an artifact with the sidebar's model: stream the raw text, log the call, return it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from causal_core import runtime
from causal_core.project import AIInteraction
from causal_core.structured import DecodingSettings, StructuredTask
from causal_core.ui import state

MODEL_KEY = "cw_model_key"  # set by the sidebar model picker; "bundled" by default
DECODING_KEY = "cw_decoding"  # dict of DecodingSettings fields, set by the sidebar


def current_model_key() -> str:
    return st.session_state.get(MODEL_KEY, "bundled")


def current_settings() -> DecodingSettings:
    return DecodingSettings(**st.session_state.get(DECODING_KEY, {}))


def draft_artifact(task: StructuredTask, inputs: dict[str, Any]) -> AIInteraction:
    """Run ``task`` on the selected model, streaming into the page; the call is appended to the AI log.

    Never raises for model or parse failures: the interaction says what failed (see runtime.run_task).
    """
    model_key = current_model_key()
    with st.status(f"Drafting {task.artifact.replace('_', ' ')} with `{model_key}`…", expanded=True) as status:
        stream = st.empty()
        received: list[str] = []

        def show(text: str) -> None:
            received.append(text)
            stream.code("".join(received)[-4000:], language="json")

        interaction = runtime.run_task(task, inputs, model_key, current_settings(), on_text=show)
        if interaction.schema_valid:
            status.update(label=f"Draft ready ({interaction.duration_s:.1f} s, {interaction.tokens_per_s:.1f} tokens/s)", state="complete")
        else:
            status.update(label=f"The model's output failed: {interaction.failure_type}", state="error")
    state.set_project(state.get_project().with_interaction(interaction))
    return interaction
