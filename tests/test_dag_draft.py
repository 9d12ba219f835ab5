"""AI DAG draft: schema bounds, name mapping, cycle/diff review, accepting edges, the six-check rubric."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from causal_core import dag
from causal_core.ai.tasks import get_task
from causal_core.dag import draft as dag_draft
from causal_core.dag import draft_names


@pytest.fixture()
def retention_project(retention):
    project, frame = retention
    return project.model_copy(update={"dag": dag.default_dag("retention")}), frame


BAD_DRAFT = {
    "edges": [
        {"from": "Outreach", "to": "Churn", "reason": "direct"},
        {"source": "churn", "target": "health_score", "rationale": "reverse"},
        {"source": "health_score", "target": "outreach", "rationale": "ok"},
        {"source": "p_churn_with", "target": "outreach", "rationale": "leak"},
        {"source": "helth_score", "target": "churn", "rationale": "typo"},
        {"source": "customer mood", "target": "churn", "rationale": "unknown"},
        {"source": "outreach", "target": "outreach", "rationale": "self"},
    ]
}


def test_task_registry_and_bounded_schema():
    task = get_task("dag")
    assert task is dag_draft.DAG_TASK and (task.name, task.artifact) == ("dag", "dag")
    schema = task.schema.model_json_schema()
    assert schema["properties"]["edges"]["maxItems"] == dag_draft.MAX_EDGES
    edge = schema["$defs"]["DraftEdge"]["properties"]
    assert edge["source"]["maxLength"] == 80 and edge["rationale"]["maxLength"] == 160
    with pytest.raises(ValidationError):
        task.schema.model_validate({"edges": []})
    with pytest.raises(ValidationError):
        task.schema.model_validate({"edges": [{"source": "a", "target": "b", "rationale": "x" * 161}]})
    parsed = task.schema.model_validate({"edges": [{"from": "a", "to": "b", "reason": "why"}]})
    assert parsed.edges[0].source == "a" and parsed.edges[0].rationale == "why"


def test_prompt_lists_dictionary_variables_but_not_simulation_truth(retention_project):
    project, frame = retention_project
    inputs = dag_draft.DAG_TASK.build_inputs(project, frame)
    prompt = dag_draft.DAG_TASK.build_user_prompt(inputs)
    assert "Treatment variable: outreach" in prompt and "Outcome variable: churn" in prompt
    assert "- health_score | pre-treatment |" in prompt
    assert "post_outreach_engagement | unobserved (no data)" in prompt
    assert "p_churn_with" not in prompt and "account_id" not in prompt


def test_notebook_draft_with_human_names_maps_onto_the_graph(retention_project):
    project, frame = retention_project
    draft = dag_draft.draft_from_spec(project.dag, use_labels=True)
    review = dag_draft.review_draft(draft, project.dag, draft_names.usable_columns(project, frame))
    assert review.problems == [] and review.acyclic
    assert review.mapped["Account health"] == "health_score"
    assert review.mapped["Post-outreach engagement"] == "post_outreach_engagement"
    assert {row.status for row in review.rows} == {"in current DAG"}
    checks = dag_draft.score_dag_draft(draft, project, frame)
    assert [(c.name, c.reason) for c in checks if not c.passed] == []
    assert len(checks) == 9


def test_bad_draft_review_reports_cycle_unknowns_and_diff(retention_project):
    project, frame = retention_project
    columns = draft_names.usable_columns(project, frame)
    review = dag_draft.review_draft(BAD_DRAFT, project.dag, columns)
    assert review.cycles == ["outreach → churn → health_score → outreach"]
    assert review.unknown == ["p_churn_with", "customer mood"]  # simulation truth is not a usable column
    assert review.mapped["helth_score"] == "health_score"
    rows = {(r.raw_source, r.raw_target): r for r in review.rows}
    assert rows[("churn", "health_score")].status == "rejected"
    assert "reverse edge health_score → churn" in rows[("churn", "health_score")].note
    assert rows[("outreach", "outreach")].note.startswith("self-loop")
    assert rows[("Outreach", "Churn")].status == "in current DAG"
    assert rows[("customer mood", "churn")].acceptable and "unobserved node" in rows[("customer mood", "churn")].note
    assert "company_size → outreach" in review.only_in_current
    assert any(p.startswith("the draft is cyclic") for p in review.problems)


def test_accepting_edges_one_by_one_and_all(retention_project):
    project, frame = retention_project
    columns = draft_names.usable_columns(project, frame)
    draft = {
        "edges": [
            {"source": "usage_score", "target": "health_score", "rationale": "usage feeds the health score"},
            {"source": "Customer mood", "target": "churn", "rationale": "unmeasured"},
            {"source": "churn", "target": "usage_score", "rationale": "would close a cycle with usage → churn"},
        ]
    }
    review = dag_draft.review_draft(draft, project.dag, columns)
    first = dag_draft.accept_row(project.dag, review.rows[0], columns)
    assert ("usage_score", "health_score") in {(e.source, e.target) for e in first.edges}
    assert review.rows[2].acceptable is False  # the current DAG has usage_score → churn
    with pytest.raises(dag.DagEditError, match="cannot be accepted"):
        dag_draft.accept_row(project.dag, review.rows[2], columns)
    everything, skipped = dag_draft.accept_all(project.dag, review, columns)
    assert skipped == []
    mood = dag.get_node(everything, "Customer mood")
    assert mood is not None and mood.column is None  # an unknown name becomes an unobserved node
    assert dag.validate_dag(everything) == []
    assert project.dag == dag.default_dag("retention")  # the input spec is untouched


def test_accept_all_skips_edges_that_would_now_close_a_cycle(retention_project):
    project, frame = retention_project
    columns = draft_names.usable_columns(project, frame)
    draft = {"edges": [
        {"source": "usage_score", "target": "tenure_months", "rationale": "a"},
        {"source": "tenure_months", "target": "usage_score", "rationale": "b"},
    ]}
    review = dag_draft.review_draft(draft, project.dag, columns)
    assert review.cycles == ["usage_score → tenure_months → usage_score"] or review.cycles == [
        "tenure_months → usage_score → tenure_months"
    ]
    spec, skipped = dag_draft.accept_all(project.dag, review, columns)
    assert len(skipped) == 1 and "closes the cycle" in skipped[0]
    assert dag.validate_dag(spec) == []


def test_rubric_flags_each_problem(retention_project):
    project, frame = retention_project
    checks = {c.name: c for c in dag_draft.score_dag_draft(BAD_DRAFT, project, frame)}
    assert list(checks) == [
        "acyclic",
        "directed path treatment → outcome",
        "pre-treatment predictors of treatment appear",
        "no post-treatment/future variable → treatment",
        "no outcome → pre-treatment edge",
        "no treatment → pre-treatment edge",
        "no pre-treatment column drawn as a mediator",
        "implied estimate matches the recommended DAG",
        "every node known",
    ]
    assert not checks["acyclic"].passed and "outreach → churn → health_score → outreach" in checks["acyclic"].reason
    assert checks["directed path treatment → outcome"].passed
    predictors = checks["pre-treatment predictors of treatment appear"]
    assert not predictors.passed
    assert "6 pre-treatment column(s) predict the treatment" in predictors.reason
    assert "missing: company_size, tenure_months, usage_score, prior_tickets, segment" in predictors.reason
    assert "p_churn_with → outreach" in checks["no post-treatment/future variable → treatment"].reason
    assert "churn → health_score" in checks["no outcome → pre-treatment edge"].reason
    assert checks["every node known"].reason.startswith("unknown: p_churn_with, customer mood (")
    assert checks["implied estimate matches the recommended DAG"].reason == "not assessed: the draft is cyclic"


def test_treatment_predictors_use_the_data(retention, support):
    for (project, frame), expected in [
        (retention, {"company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "segment"}),
        (support, {"baseline_ticket_volume", "baseline_satisfaction", "team_readiness", "manager_priority"}),
    ]:
        found = {column for column, _ in draft_names.treatment_predictors(project, frame)}
        assert expected <= found
        assert "region" not in found


def test_rubric_without_data_and_with_empty_draft(retention_project):
    project, _ = retention_project
    checks = {c.name: c for c in dag_draft.score_dag_draft({"edges": []}, project, None)}
    assert not checks["acyclic"].passed and checks["acyclic"].reason == "no edges"
    # issue 22: an empty draft earns no "draws nothing wrong" points (it scored 2 / 6 before)
    assert [c.name for c in checks.values() if c.passed] == []
    assert checks["no outcome → pre-treatment edge"].reason == "not assessed: the draft has no edges"
    assert checks["pre-treatment predictors of treatment appear"].severity == "warn"
    assert not checks["every node known"].passed
    good = dag_draft.draft_from_spec(project.dag)
    checks = dag_draft.score_dag_draft(good, project, None)
    assert [c.name for c in checks if not c.passed] == ["implied estimate matches the recommended DAG"]
    assert checks[-2].severity == "warn" and checks[-2].reason.startswith("no data loaded")


C = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score", "region", "segment"]


def _edges(*pairs: tuple) -> dict:
    return {"edges": [{"source": s, "target": t, "rationale": "r"} for s, t in pairs]}


def _failed(draft, project, frame) -> dict[str, str]:
    return {c.name: c.reason for c in dag_draft.score_dag_draft(draft, project, frame) if not c.passed and c.severity == "fail"}


def test_confounders_wired_among_themselves_fail_with_both_estimates(retention_project):
    """Issue 22: every confounder present but chained among themselves says "no adjustment needed": the
    implied estimate is the naive +0.0785 against the adjusted -0.044 (sign flip), both numbers shown."""
    project, frame = retention_project
    draft = _edges(*zip(C, C[1:], strict=False), ("outreach", "churn"))
    failed = _failed(draft, project, frame)
    estimate = failed["implied estimate matches the recommended DAG"]
    assert "adjusts for nothing" in estimate and "+0.0785" in estimate and "-0.0442" in estimate
    assert "sign flips" in estimate
    assert "without a directed path into outreach" in failed["pre-treatment predictors of treatment appear"]


def test_confounder_drawn_as_mediator_fails_three_ways(retention_project):
    project, frame = retention_project
    others = [c for c in C if c != "health_score"]
    draft = _edges(*[(c, t) for c in others for t in ("outreach", "churn")],
                   ("outreach", "health_score"), ("health_score", "churn"), ("outreach", "churn"))
    failed = _failed(draft, project, frame)
    assert "outreach → health_score" in failed["no treatment → pre-treatment edge"]
    assert failed["no pre-treatment column drawn as a mediator"].endswith(": health_score")
    estimate = failed["implied estimate matches the recommended DAG"]
    assert "-0.0189" in estimate and "-0.0442" in estimate and "> 1 SE" in estimate


def test_latent_common_cause_is_known_and_not_scored_against(retention_project):
    """A latent cause marked {"name", "latent": true} is a choice, not an unknown name; when it confounds the
    treatment and the outcome the draft says adjustment cannot identify the effect: shown as a warning."""
    project, frame = retention_project
    good = dag_draft.draft_from_spec(project.dag)
    shock = {"name": "demand_shock", "latent": True}
    for targets in (("health_score", "churn"), ("outreach", "churn")):
        draft = {"edges": good["edges"] + [{"source": shock, "target": t, "rationale": "r"} for t in targets]}
        checks = {c.name: c for c in dag_draft.score_dag_draft(draft, project, frame)}
        assert checks["every node known"].passed and "latent by choice: demand_shock" in checks["every node known"].reason
        assert _failed(draft, project, frame) == {}
    assert checks["implied estimate matches the recommended DAG"].severity == "warn"
    unmarked = {"edges": good["edges"] + [{"source": "demand_shock", "target": "churn", "rationale": "r"}]}
    assert "every node known" in _failed(unmarked, project, frame)


def test_scoring_is_fast_once_the_data_is_fitted(retention_project):
    import time

    project, frame = retention_project
    draft = dag_draft.draft_from_spec(project.dag)
    dag_draft.score_dag_draft(draft, project, frame)
    start = time.perf_counter()
    for _ in range(5):
        dag_draft.score_dag_draft(draft, project, frame)
    assert (time.perf_counter() - start) / 5 < 1.0
