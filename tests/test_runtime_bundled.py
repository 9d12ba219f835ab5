"""Real CPU generation with the bundled SmolLM2-135M (loaded once for this module)."""

from __future__ import annotations

import threading

import pytest

from causal_core import runtime
from causal_core.ai.structured import DecodingSettings
from causal_core.ai.tasks import get_task
from causal_core.data import project_for_builtin
from causal_core.project import EstimandCard
from causal_core.runtime import sessions
from causal_core.runtime.smoke import SMOKE_TASK, SmokeCheck

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_wall_clock_limit(monkeypatch):
    """These tests are about validity and threads; the 3-minute CPU limit (tested in test_runtime_queue.py)
    must not turn a slow but valid draft on a loaded machine into a "timeout" (seen at ~0.2 tokens/s)."""
    monkeypatch.setenv("CW_DRAFT_TIME_LIMIT_S", "3600")


@pytest.fixture(scope="module")
def bundled():
    session = sessions.get_session("bundled")
    yield session
    runtime.unload("bundled")


def test_bundled_session_is_the_gguf_on_cpu_fp32(bundled):
    assert (bundled.device, bundled.dtype, bundled.quantisation) == ("cpu", "float32", "none")
    assert bundled.spec.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert 0.4e9 < bundled.memory_bytes() < 0.7e9


def test_estimand_card_task_returns_a_schema_valid_artifact(bundled):
    project, frame = project_for_builtin("retention")
    task = get_task("estimand-card")
    streamed: list[str] = []
    interaction = runtime.run_task(task, task.build_inputs(project, frame), "bundled", on_text=streamed.append)
    assert interaction.schema_valid, (interaction.failure_type, interaction.error, interaction.raw_output[-300:])
    assert interaction.failure_type == ""
    # ``truncated`` records any attempt cut at max_new_tokens: only a repair retry may follow a cut first attempt.
    assert not interaction.truncated or interaction.repair_stage == "model_retry", interaction.repair_stage
    task.schema.model_validate(interaction.parsed)
    EstimandCard.model_validate({key: interaction.parsed[key] for key in EstimandCard.model_fields})
    # The stream shows every attempt; raw_output keeps the first (a repair retry's text follows it in the stream).
    shown = "".join(streamed)
    assert shown == interaction.raw_output or (
        interaction.repair_stage == "model_retry" and shown.startswith(interaction.raw_output)
    )
    assert interaction.model_id == "bundled" and interaction.device == "cpu" and interaction.new_tokens > 20
    assert interaction.user_prompt == task.build_user_prompt(task.build_inputs(project, frame))


def test_threads_on_the_bundled_session_equal_serial_runs(bundled):
    jobs = [
        ({"brief": "Did proactive outreach reduce churn?"}, DecodingSettings(max_new_tokens=80)),
        ({"brief": "Did the AI support assistant reduce handled hours?"}, DecodingSettings(max_new_tokens=80)),
        ({"brief": "Did a price discount raise renewals?"}, DecodingSettings(max_new_tokens=80, temperature=0.8, seed=3)),
    ]
    serial = [runtime.run_task(SMOKE_TASK, inputs, "bundled", settings) for inputs, settings in jobs]
    assert all(result.schema_valid for result in serial), [result.error for result in serial]
    for result in serial:
        SmokeCheck.model_validate(result.parsed)
    outputs: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            outputs[index] = runtime.run_task(SMOKE_TASK, jobs[index][0], "bundled", jobs[index][1]).raw_output
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == []
    assert [outputs[index] for index in range(len(jobs))] == [result.raw_output for result in serial]
    assert len([row for row in runtime.loaded_sessions() if row["model_key"] == "bundled"]) == 1


def test_unload_removes_the_entry(bundled):
    assert sessions.find_session("bundled") is bundled
    assert runtime.unload("bundled") is True
    assert sessions.find_session("bundled") is None and not sessions.is_loaded(bundled)
    assert bundled.model is None
