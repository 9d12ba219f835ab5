"""Question page: "replay recorded draft" for the estimand card.

No real model's card ships (N01's card is a simulated output), so the button is absent on the
built-ins. Here a test-only recorded draft (labelled as a fixture, never shipped) checks the wiring:
the card is installed through the normal parser and rubric, and the AI log says it was replayed.
"""

from __future__ import annotations

import json

import causal_core.recorded_drafts as recorded
from causal_core.question.examples import N01_CARD
from causal_core.recorded_drafts import RecordedDraft
from tests.test_question_app import open_page


def _fixture_draft(columns: list[str]) -> RecordedDraft:
    return RecordedDraft(
        task="estimand-card", artifact="estimand_card", dataset="retention", dataset_columns=columns,
        model_id="test-fixture-model", recorded_at="2026-12-01", source="test fixture (not a model output)",
        raw_output="```json\n" + json.dumps(N01_CARD) + "\n```",
    )


def test_built_ins_offer_no_recorded_card():
    at = open_page("retention")
    assert not [b for b in at.button if b.key == "replay_card"]
    assert any("No recorded estimand-card draft ships for this dataset" in c.value for c in at.caption)


def test_replaying_a_recorded_card_installs_scores_and_logs_it(monkeypatch, retention):
    _, frame = retention
    draft = _fixture_draft(list(map(str, frame.columns)))
    monkeypatch.setattr(recorded, "_all", lambda: (draft,))
    at = open_page("retention")
    at.button(key="replay_card").click().run()
    assert not at.exception
    project = at.session_state["cw_projects"]["retention"]
    assert project.estimand_card.treatment == N01_CARD["treatment"]
    entry = project.ai_log[-1]
    assert (entry.backend, entry.device, entry.model_id) == ("replay", "recorded, not generated", "test-fixture-model")
    assert entry.repair_stage == "parser" and "stripped markdown code fences" in entry.parser_notes
    record = project.audit_history("estimand_card")[-1]
    assert record.interaction_id == entry.id and record.schema_valid and record.max_score > 0
