"""AppTest: the DAG page's "Critique my DAG" expander with a recorded model answer (no model is loaded)."""

from __future__ import annotations

import json

from causal_core import runtime
from causal_core.project import AIInteraction
from tests.rendered import plain
from tests.test_dag_app import graph, open_page, spec_of  # noqa: F401  (graph is a fixture)

RECORDED = {"suggestions": [
    {"kind": "missing_confounder", "node": "account_manager_quality", "source": "", "target": "",
     "rationale": "good managers reach out and keep customers"},
    {"kind": "missing_confounder", "node": "churn", "source": "", "target": "", "rationale": "<b>bold</b> claim"},
    {"kind": "suspicious_edge", "node": "", "source": "region", "target": "churn", "rationale": "region is noise"},
]}


def _answer(task, inputs, model_key, settings=None, on_text=None, should_stop=None):
    assert task.name == "dag-critique" and "outreach" in inputs["names"]
    return AIInteraction(id="crit-1", task=task.name, raw_output=json.dumps(RECORDED), parsed=RECORDED,
                         schema_valid=True, model_id=model_key)


def test_critique_shows_evidence_and_an_accepted_suggestion_goes_through_the_edit_path(graph, monkeypatch):  # noqa: F811
    monkeypatch.setattr(runtime, "run_task", _answer)
    at = open_page()
    before = spec_of(at)
    at.button(key="dag_critique_run_retention").click().run()
    assert not at.exception
    text = plain(" ".join(m.value for m in [*at.markdown, *at.caption]))
    assert "missing confounder: account_manager_quality" in text
    assert "Rejected: the dictionary says churn is outcome" in text
    assert "changes from {" in text and "not identifiable by adjustment" in text
    assert "<b>" not in "".join(m.value for m in at.markdown)  # model text is escaped
    project = at.session_state["cw_projects"][at.session_state["cw_active"]]
    assert project.audit_history("dag_critique")[-1].max_score == 5

    at.button(key="dag_critique_accept_0_retention").click().run()
    assert not at.exception
    after = spec_of(at)
    assert {(e.source, e.target) for e in after.edges} - {(e.source, e.target) for e in before.edges} == {
        ("account_manager_quality", "outreach"), ("account_manager_quality", "churn")}
    project = at.session_state["cw_projects"][at.session_state["cw_active"]]
    assert any("Accepted critique suggestion" in edit.note for edit in project.edit_log)
    at.button(key="dag_undo").click().run()
    assert spec_of(at) == before
