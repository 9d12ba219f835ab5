"""AppTest of the Memo page with the runtime patched: example → AI draft → audit → edit → consistency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from causal_core import runtime
from causal_core.project import AIInteraction

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/memo.py"


def good_memo(inputs: dict) -> dict:
    """What a careful model would write from the structured inputs (numbers copied, hedged)."""
    return {
        "question": inputs["question"],
        "estimand": f"The {inputs['estimand_name']} for {inputs['target_population']}.",
        "design": "Observational data: outreach was targeted, so we adjusted for "
        + ", ".join(inputs["adjustment_set"])
        + ".",
        "key_diagnostic": inputs["key_diagnostic"],
        "main_estimate": inputs["main_estimate_sentence"],
        "interpretation": "Under the assumption of no unmeasured confounding, outreach appears to reduce churn.",
        "main_limitation": "Managers may have targeted accounts using information the data do not record.",
        "recommendation": "Keep outreach for high-risk accounts and run a randomized holdout next cycle to validate it.",
    }


class FakeRuntime:
    def __init__(self, edit=None, failure: str = ""):
        self.edit, self.failure, self.calls = edit, failure, []

    def __call__(self, task, inputs, model_key, settings=None, on_text=None, should_stop=None):
        self.calls.append(task.name)
        parsed = good_memo(inputs)
        if self.edit:
            parsed = self.edit(parsed)
        raw = json.dumps(parsed)
        if on_text:
            on_text(raw)
        if self.failure:
            return AIInteraction(
                id="fake-bad",
                task=task.name,
                raw_output=raw[:40],
                schema_valid=False,
                repair_stage="failed",
                failure_type=self.failure,
                model_id="fake/model",
            )
        return AIInteraction(
            id=f"fake-{len(self.calls)}",
            task=task.name,
            raw_output=raw,
            parsed=parsed,
            schema_valid=True,
            model_id="fake/model",
            system_prompt=task.system_prompt,
            user_prompt=task.build_user_prompt(inputs),
        )


def project_of(at: AppTest):
    return at.session_state["cw_projects"]["retention"]


@pytest.fixture(scope="module")
def built_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any("Not yet estimated" in info.value for info in at.info)
    assert project_of(at).memo.deterministic["main_estimate"] == "Main estimate not yet estimated."
    at.button(key="build_example").click().run()
    assert not at.exception, at.exception
    return at


def test_build_example_fills_the_deterministic_memo(built_page):
    project = project_of(built_page)
    assert project.estimation is not None and project.card_status == "approved"
    assert project.memo.deterministic["main_estimate"].startswith(
        "The doubly robust estimate suggests `outreach` changed `churn` risk by"
    )
    texts = " ".join(m.value for m in built_page.markdown)
    assert "**Main estimate.** The doubly robust estimate suggests `outreach` changed `churn` risk by" in texts
    assert "`company_size`" in texts  # a name in a code span: underscores shown literally, never italics
    assert any("Memo rubric: 14 / 14" in c.value for c in built_page.caption)  # incl. robustness_not_overstated (the example carries a curve)
    assert any("All artifacts agree." in s.value for s in built_page.success)
    # the unedited final-memo editor follows the memo it was filled from
    assert (
        built_page.text_area(key="final_retention_main_estimate").value == project.memo.deterministic["main_estimate"]
    )


def test_ai_draft_is_scored_and_shown(built_page, monkeypatch):
    fake = FakeRuntime()
    monkeypatch.setattr(runtime, "run_task", fake, raising=False)
    at = built_page
    at.button(key="draft_memo").click().run()
    assert not at.exception, at.exception
    project = project_of(at)
    assert fake.calls == ["memo"]
    assert project.memo.ai_draft["recommendation"].endswith("run a randomized holdout next cycle to validate it.")
    record = project.audit_history("memo")[-1]
    assert (record.model_id, record.score, record.max_score, record.interaction_id) == ("fake/model", 14, 14, "fake-1")
    assert project.ai_log[-1].id == "fake-1"
    assert {m.label: m.value for m in at.metric}["Score"] == "14 / 14"


def test_overclaiming_draft_fails_its_check(built_page, monkeypatch):
    def overclaim(memo: dict) -> dict:
        return {**memo, "interpretation": memo["interpretation"] + " This proves outreach works."}

    monkeypatch.setattr(runtime, "run_task", FakeRuntime(edit=overclaim), raising=False)
    at = built_page
    at.button(key="draft_memo").click().run()
    record = project_of(at).audit_history("memo")[-1]
    assert (record.score, record.max_score) == (13, 14)
    assert [c.name for c in record.checks if not c.passed] == ["no_overclaiming"]
    assert any("memo: 13/14 (no_overclaiming)" in str(cell) for cell in at.dataframe[-1].value["detail"])


def test_failed_generation_scores_zero_and_keeps_the_draft(built_page, monkeypatch):
    at = built_page
    before = project_of(at).memo.ai_draft
    monkeypatch.setattr(runtime, "run_task", FakeRuntime(failure="invalid_json_or_truncated_output"), raising=False)
    at.button(key="draft_memo").click().run()
    assert not at.exception, at.exception
    project = project_of(at)
    record = project.audit_history("memo")[-1]
    assert (record.schema_valid, record.score, record.max_score) == (False, 0, 14)
    assert project.memo.ai_draft == before
    assert any("could not be used (invalid_json_or_truncated_output)" in e.value for e in at.error)


def test_final_memo_edits_are_logged_and_scored(built_page):
    at = built_page
    at.button(key="start_ai").click().run()
    field = at.text_area(key="final_retention_interpretation")
    assert field.value.endswith("outreach appears to reduce churn. This proves outreach works.")  # the last good draft
    edited = field.value.replace(" This proves outreach works.", " The effect may be larger for fragile accounts.")
    field.set_value(edited)
    at.button(key="FormSubmitter:final_memo_form_retention-Save final memo").click().run()
    assert not at.exception, at.exception
    project = project_of(at)
    assert project.memo.final["interpretation"] == edited
    edits = [e for e in project.edit_log if e.artifact == "memo"]
    assert [(e.field, e.note) for e in edits] == [("interpretation", "final memo started from the ai draft")]
    assert edits[0].before == project.memo.ai_draft["interpretation"] and edits[0].after == edited
    record = project.audit_history("memo")[-1]
    assert (record.model_id, record.score) == ("analyst", 14)
    assert any("Final memo saved: 14 / 14" in s.value for s in at.success)


def test_final_memo_with_an_invented_number_turns_the_panel_red(built_page):
    at = built_page
    at.text_area(key="final_retention_main_estimate").set_value("Outreach changed churn risk by -12.3% points.")
    at.button(key="FormSubmitter:final_memo_form_retention-Save final memo").click().run()
    assert not at.exception, at.exception
    project = project_of(at)
    edits = [e for e in project.edit_log if e.artifact == "memo"]
    assert edits[-1].field == "main_estimate" and edits[-1].after == "Outreach changed churn risk by -12.3% points."
    assert any("Artifacts contradict each other" in e.value for e in at.error)
    table = at.dataframe[-1].value
    assert "CONFLICT red" in list(table["status"])
    assert [c.name for c in project.audit_history("memo")[-1].checks if not c.passed] == ["numbers_match_project"]


def test_four_downloads_are_offered(built_page):
    buttons = built_page.main.get("download_button")
    assert [b.proto.label for b in buttons] == ["Memo (Markdown)", "Report (HTML)", "Project (JSON)", "Bundle (ZIP)",
                                                "Notebook (.ipynb)", "Script (.py)", "Student version (.ipynb)"]


def test_support_page_before_estimation():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.sidebar.selectbox(key="dataset_choice").set_value("support").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    project = at.session_state["cw_projects"]["support"]
    assert project.memo.deterministic["main_estimate"] == "Main estimate not yet estimated."
    assert at.text_area(key="final_support_main_estimate").value == "Main estimate not yet estimated."
    assert not any("Memo rubric" in c.value for c in at.caption)  # nothing to score before estimation
    assert any("Nothing contradicts" in w.value for w in at.warning)
