"""No model answer can make a project unreopenable: raw model text is clipped where it is logged.

A 1.38 M-character answer was stored verbatim in the AI log and in lab records; the saved project then
failed to open (each string is limited to 1,000,000 characters). These tests run the real ``run_task``
against an endpoint stand-in that returns such an answer, then save and reopen the project.
"""

from __future__ import annotations

import json

import pytest

from causal_core import lab_bench as lab
from causal_core.ai.structured import DecodingSettings
from causal_core.ai.tasks import get_task
from causal_core.project import Project
from causal_core.project_file import project_from_json, project_to_json
from causal_core.runtime import endpoint, generate, parsing
from causal_core.runtime.types import GenerationOutput

ENDPOINT_KEY = "endpoint:stub-model@http://127.0.0.1:9/v1"
HUGE = 1_380_000


def _huge_answer() -> str:
    """How a looping model answers: the start of a card, then the same clause over and over, never closed."""
    head = '{"business_question": "Did the retention offer reduce churn?", "causal_question": "'
    loop = "the offer the offer the offer "
    return head + loop * (HUGE // len(loop)) + "tail-marker"


@pytest.fixture()
def huge_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    text = _huge_answer()

    def chat(*_args, **_kwargs) -> GenerationOutput:
        return GenerationOutput(text, new_tokens=4096, seconds=2.0, truncated=False)  # finish_reason "stop"

    monkeypatch.setattr(endpoint, "chat", chat)
    return text


def _card_inputs() -> dict:
    return {"brief": "Did the retention offer reduce churn?", "dataset": "demo", "rows": 10,
            "columns": [{"variable": "offer", "timing": "treatment", "description": "", "in_data": True}]}


def test_huge_answer_is_truncated_clipped_and_the_project_reopens(huge_endpoint: str) -> None:
    task = get_task("estimand-card")
    interaction = generate.run_task(task, _card_inputs(), ENDPOINT_KEY, DecodingSettings(repair_retry=False))
    assert interaction.failure_type == "truncated"  # never closed: not repaired into a card
    assert interaction.parsed is None
    assert len(huge_endpoint) > 1_000_000
    assert len(interaction.raw_output) <= parsing.LOG_TEXT_CHARS + 200
    assert interaction.raw_output.startswith('{"business_question"')
    assert interaction.raw_output.endswith("tail-marker")
    assert f"{len(huge_endpoint):,} characters" in interaction.raw_output
    assert any("clipped for the log" in note and f"{len(huge_endpoint):,}" in note for note in interaction.parser_notes)

    project = Project(name="clipping").with_interaction(interaction)
    saved = project_to_json(project)
    reopened = project_from_json(saved)  # raised "holds 1,380,… characters; the limit is 1,000,000" before
    assert reopened.ai_log[-1].raw_output == interaction.raw_output


def test_huge_answer_with_repair_retry_clips_both_outputs(huge_endpoint: str) -> None:
    task = get_task("estimand-card")
    interaction = generate.run_task(task, _card_inputs(), ENDPOINT_KEY, DecodingSettings(repair_retry=True))
    assert interaction.failure_type == "truncated"
    for text in (interaction.raw_output, interaction.repair_raw_output):
        assert len(text) <= parsing.LOG_TEXT_CHARS + 200
    project_from_json(project_to_json(Project().with_interaction(interaction)))


def test_lab_record_of_a_huge_answer_keeps_the_project_reopenable(huge_endpoint: str) -> None:
    task = get_task("estimand-card")
    interaction = generate.run_task(task, _card_inputs(), ENDPOINT_KEY, DecodingSettings(repair_retry=False))
    case = lab.LabCase("demo", Project(), None)
    model = {"key": ENDPOINT_KEY, "label": "stub", "role": "endpoint"}
    # an interaction from a stand-in runtime that did not clip is clipped by the lab itself
    raw = interaction.model_copy(update={"raw_output": huge_endpoint})
    record = lab.record_from_interaction(task, model, case, 0, 209, raw)
    assert len(record["raw_output"]) <= parsing.LOG_TEXT_CHARS + 200
    run = {"id": "lab-1", "task": task.name, "records": [record]}
    project = lab.project_with_lab(Project(), lab.with_run(None, run))
    reopened = project_from_json(project_to_json(project))
    assert reopened.lab["runs"][0]["records"][0]["raw_output"].endswith("tail-marker")


def test_stopped_draft_streamed_text_is_clipped() -> None:
    from causal_core.ui import ai

    task = get_task("estimand-card")
    streamed = "x" * HUGE
    record = ai._stopped_interaction(task, "bundled", DecodingSettings(), _card_inputs(), streamed, 9000, 0.0, "stop")
    assert len(record.raw_output) <= parsing.LOG_TEXT_CHARS + 200
    project_from_json(project_to_json(Project().with_interaction(record)))


def test_short_answers_are_stored_verbatim() -> None:
    record = generate.clipped_record({"raw_output": "{}", "repair_raw_output": "", "parser_notes": []})
    assert record["raw_output"] == "{}" and record["parser_notes"] == []
    assert json.loads(record["raw_output"]) == {}
