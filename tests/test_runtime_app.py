"""AppTest on the real path (no patching): pick `bundled`, load, status shown, generate, unload.

Generation goes through the sidebar's quick test (a ~30-token schema-constrained task via
ui.ai.draft_artifact, logged to the project); the full estimand card on the bundled model is
exercised in test_runtime_bundled.py, so the slow suite pays for that long generation once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import runtime

ROOT = Path(__file__).resolve().parents[1]


def _captions(at) -> list[str]:
    return [caption.value for caption in at.sidebar.caption]


@pytest.mark.slow
def test_pick_load_generate_unload_with_the_bundled_model():
    runtime.unload("bundled")  # start cold so the load path (progress, status) really runs
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    assert not at.exception
    picker = at.sidebar.selectbox(key="cw_model_select")
    assert picker.value == "bundled"
    assert any(option.startswith("✗ Qwen2.5-7B-Instruct") for option in picker.options)  # not cached offline
    picker.set_value("Qwen/Qwen2.5-7B-Instruct").run()
    assert at.sidebar.button(key="cw_load_model").disabled
    assert "hf download Qwen/Qwen2.5-7B-Instruct" in [code.value for code in at.sidebar.code]
    at.sidebar.selectbox(key="cw_model_select").set_value("bundled").run()
    assert at.session_state["cw_model_key"] == "bundled"
    assert "✓ present (0.10 GB on disk)" in _captions(at)

    at.sidebar.button(key="cw_load_model").click().run()
    assert not at.exception
    assert "`bundled` is loaded and ready." in [message.value for message in at.sidebar.success]
    status = [text for text in _captions(at) if text.startswith("`bundled` — ")]
    assert len(status) == 1 and "cpu · float32 · none · 0.54 GB" in status[0]
    assert [row["model_key"] for row in runtime.loaded_sessions()] == ["bundled"]
    assert "cw_model_key" in at.session_state and "model" not in str(type(at.session_state["cw_model_key"]))

    at.sidebar.button(key="cw_quick_test").click().run()
    assert not at.exception
    project = at.session_state["cw_projects"][at.session_state["cw_active"]]
    interaction = project.ai_log[-1]
    assert (interaction.task, interaction.model_id, interaction.backend) == ("smoke-test", "bundled", "transformers")
    assert interaction.schema_valid, interaction.error
    assert set(interaction.parsed) == {"treatment", "outcome", "design"}
    assert interaction.parsed["design"] in {"randomised", "observational", "unclear"}
    assert interaction.new_tokens > 0 and interaction.tokens_per_s > 0
    assert any(message.value.startswith("Schema-valid in") for message in at.sidebar.success)
    at.run()  # the sessions list is drawn before the quick test in a run; the next run shows the call
    assert any(text.startswith("`bundled` — ") and "1 call(s)" in text for text in _captions(at))

    at.sidebar.button(key="cw_unload_0").click().run()
    assert not at.exception
    assert "Unloaded `bundled`." in [message.value for message in at.sidebar.success]
    assert runtime.loaded_sessions() == []
    assert any(text.startswith("No model loaded") for text in _captions(at))
