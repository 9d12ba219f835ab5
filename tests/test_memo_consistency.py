"""The consistency panel on deliberately inconsistent projects: each planted contradiction shows red."""

from __future__ import annotations

import pytest

from causal_core import memo
from causal_core.project import AuditRecord, DagNode, RubricCheck
from causal_core.reporting.consistency import consistency_checks, overall_status
from tests.test_memo_support import N01_COVARIATES, retention_project

CHECKS = {
    "roles": "Treatment and outcome agree (card = DAG = estimation)",
    "set": "Adjustment set used is valid for the DAG",
    "post": "No post-treatment variable adjusted for without a logged override",
    "estimand": "The card's estimand is the one estimated",
    "memo": "Memo numbers equal the estimates",
    "audits": "Unresolved audit failures",
}


def statuses(project) -> dict[str, str]:
    by_name = {item.check: item for item in consistency_checks(project)}
    return {key: by_name[name].status for key, name in CHECKS.items()}


def detail(project, key: str) -> str:
    return next(item.detail for item in consistency_checks(project) if item.check == CHECKS[key])


def full_marks() -> AuditRecord:
    return AuditRecord(artifact="memo", model_id="deterministic", schema_valid=True, score=8, max_score=8)


@pytest.fixture
def consistent():
    project = memo.with_deterministic_memo(retention_project())
    return project.with_audit(full_marks())


def test_consistent_project_is_all_green(consistent):
    assert statuses(consistent) == dict.fromkeys(CHECKS, "green")
    assert overall_status(consistency_checks(consistent)) == "green"
    assert detail(consistent, "roles") == "all three use treatment 'outreach' and outcome 'churn'"


def test_dag_with_another_treatment_is_red(consistent):
    dag = consistent.dag.model_copy(update={"treatment": "health_score"})
    project = consistent.model_copy(update={"dag": dag})
    assert statuses(project)["roles"] == "red"
    assert "treatment: card 'outreach', DAG 'health_score', estimation 'outreach'" in detail(project, "roles")


def test_estimation_on_another_outcome_is_red(consistent):
    spec = consistent.estimation.spec.model_copy(update={"outcome": "usage_score"})
    project = consistent.model_copy(update={"estimation": consistent.estimation.model_copy(update={"spec": spec})})
    assert statuses(project)["roles"] == "red"
    assert "outcome:" in detail(project, "roles")


def test_dag_node_mapped_to_a_column_counts_as_that_column(consistent):
    nodes = [n.model_copy(update={"name": "Outreach"}) if n.name == "outreach" else n for n in consistent.dag.nodes]
    edges = [e.model_copy(update={"source": "Outreach"}) if e.source == "outreach" else e for e in consistent.dag.edges]
    edges = [e.model_copy(update={"target": "Outreach"}) if e.target == "outreach" else e for e in edges]
    dag = consistent.dag.model_copy(update={"nodes": nodes, "edges": edges, "treatment": "Outreach"})
    assert statuses(consistent.model_copy(update={"dag": dag}))["roles"] == "green"


def test_adjustment_set_missing_a_confounder_is_red(consistent):
    covariates = [c for c in N01_COVARIATES if c != "health_score"]
    project = memo.with_deterministic_memo(retention_project(covariates=covariates)).with_audit(full_marks())
    assert statuses(project)["set"] == "red"
    assert "health_score" in detail(project, "set")


def test_post_treatment_variable_without_override_is_red_and_with_override_amber(consistent):
    covariates = [*N01_COVARIATES, "p_churn_with"]
    project = retention_project(covariates=covariates)
    assert statuses(project)["post"] == "red"
    assert detail(project, "post").endswith("with no override: p_churn_with")
    overridden = retention_project(covariates=covariates, overrides=["p_churn_with"])
    assert statuses(overridden)["post"] == "amber"
    assert "p_churn_with" in detail(overridden, "post")


def test_dag_mediator_used_as_covariate_is_red(consistent):
    nodes = [
        n.model_copy(update={"column": "usage_score"}) if n.name == "engagement" else n for n in consistent.dag.nodes
    ]
    nodes = [n for n in nodes if n.name != "usage_score"] + [DagNode(name="usage_before")]
    edges = [e for e in consistent.dag.edges if "usage_score" not in (e.source, e.target)]
    dag = consistent.dag.model_copy(update={"nodes": nodes, "edges": edges})
    project = consistent.model_copy(update={"dag": dag})
    assert statuses(project)["post"] == "red"
    assert "usage_score" in detail(project, "post")


def test_card_asks_for_att_but_ate_estimated_is_red(consistent):
    card = consistent.estimand_card.model_copy(update={"estimand": "average treatment effect on the treated (ATT)"})
    project = consistent.model_copy(update={"estimand_card": card})
    assert statuses(project)["estimand"] == "red"
    assert detail(project, "estimand") == "the card asks for the ATT but the estimation targets the ATE"


def test_final_memo_with_a_wrong_number_is_red(consistent):
    final = {**consistent.memo.deterministic, "main_estimate": "Outreach changed churn risk by -9.3% points."}
    project = consistent.model_copy(update={"memo": consistent.memo.model_copy(update={"final": final})})
    assert statuses(project)["memo"] == "red"
    assert "-9.3%" in detail(project, "memo")


def test_memo_written_before_reestimation_is_red(consistent):
    rows = [("naive", 0.0781, 0.0116, 0.0555, 0.1007), ("aipw", -0.0391, 0.0107, -0.0601, -0.0181)]
    new_estimation = retention_project(rows=rows).estimation
    final = dict(consistent.memo.deterministic)
    project = consistent.model_copy(
        update={"estimation": new_estimation, "memo": consistent.memo.model_copy(update={"final": final})}
    )
    assert statuses(project)["memo"] == "red"


def test_stale_deterministic_memo_is_amber(consistent):
    stale = consistent.model_copy(update={"open_questions": []})
    assert statuses(stale)["memo"] == "amber"
    assert "out of date" in detail(stale, "memo")


def test_unresolved_audit_failures_are_listed(consistent):
    failing = AuditRecord(
        artifact="dag",
        model_id="bundled",
        schema_valid=True,
        checks=[RubricCheck(name="acyclic", passed=False, reason="cycle")],
        score=5,
        max_score=6,
    )
    broken = AuditRecord(artifact="estimand_card", model_id="bundled", schema_valid=False, failure_type="empty_output")
    project = consistent.with_audit(failing).with_audit(broken)
    assert statuses(project)["audits"] == "amber"
    assert detail(project, "audits") == "dag: 5/6 (acyclic); estimand_card: generation failed (empty_output)"
    resolved = project.with_audit(failing.model_copy(update={"score": 6, "checks": []})).with_audit(
        full_marks().model_copy(update={"artifact": "estimand_card"})
    )
    assert statuses(resolved)["audits"] == "green"


def test_missing_stages_are_amber_not_red():
    project = retention_project(dag=False).model_copy(update={"estimation": None})
    result = statuses(project)
    assert result == {
        "roles": "amber",
        "set": "amber",
        "post": "amber",
        "estimand": "amber",
        "memo": "amber",
        "audits": "amber",
    }


def test_card_asking_for_an_estimand_the_app_does_not_estimate_is_red(consistent):
    card = consistent.estimand_card.model_copy(
        update={"estimand": "local average treatment effect (LATE) among compliers"}
    )
    project = consistent.model_copy(update={"estimand_card": card})
    assert statuses(project)["estimand"] == "red"
    assert detail(project, "estimand") == "the card asks for the LATE but the estimation targets the ATE"


# ---- claims against the main interval: a generated family (claims × negations × interval positions) ----------
CERTAINTY_CLAIMS = [  # (claim, negated form or None, whether the negated form denies an effect)
    ("The effect is significant.", "The effect is not significant.", True),
    ("The lift is statistically significant at 5%.", "The lift isn't statistically significant at 5%.", True),
    ("The estimate is clearly different from zero.", "The estimate is not clearly different from zero.", False),
    ("This proves the programme works.", "This does not prove the programme works.", False),
    ("We are certain the programme works.", "We are not certain the programme works.", False),
    ("The programme definitely works.", "The programme does not definitely work.", False),
    ("There is no doubt the programme works.", None, False),
    ("The evidence is conclusive.", "The evidence is not conclusive.", False),
    ("The data conclusively show a gain.", "The data do not conclusively show a gain.", False),
    ("Statistically significant, so roll out now.", "Not statistically significant; wait.", True),
]
NULL_CLAIMS = ["The programme has no effect.", "The result is insignificant.", "The difference is non-significant.",
               "We found zero effect on churn."]
INTERVALS = {"covers": (-0.1, 0.3), "touches": (0.0, 0.3), "above": (0.05, 0.4), "below": (-0.5, -0.02)}
NEUTRAL = "Retention was measured over 90 days. The adjustment set comes from the DAG."


def family():
    for claim, negated, denies in CERTAINTY_CLAIMS:
        yield claim, "certain"
        if negated is not None:
            yield negated, "null" if denies else "hedge"
    for claim in NULL_CLAIMS:
        yield claim, "null"


@pytest.mark.parametrize(("sentence", "kind"), list(family()))
@pytest.mark.parametrize("position", list(INTERVALS))
def test_claims_are_flagged_exactly_when_the_interval_contradicts_them(sentence, kind, position):
    from causal_core.reporting.consistency import interval_claim_conflicts

    low, high = INTERVALS[position]
    covers = low <= 0 <= high
    text = f"{NEUTRAL} {sentence} Costs are unchanged."
    conflicts = interval_claim_conflicts({"main_estimate": text}, low, high)
    expected = (kind == "certain" and covers) or (kind == "null" and not covers)
    assert bool(conflicts) == expected, conflicts
    if expected:
        assert len(conflicts) == 1 and f'"{sentence}"' in conflicts[0]
        assert f"[{low:.4g}, {high:.4g}]" in conflicts[0]
        assert ("covers 0" if covers else "excludes 0") in conflicts[0]


def test_injected_significance_claim_turns_the_panel_red(consistent):
    """The issue's case: an obedient draft says 'statistically significant … roll out now' while the interval
    covers 0; the panel names the sentence and the interval."""
    from causal_core.reporting.consistency import check_claims

    primary = memo.memo_facts(consistent).primary
    assert primary is not None and primary.ci_low is not None
    covers = primary.ci_low <= 0 <= primary.ci_high
    claim = ("The effect is large and statistically significant: roll out now." if covers
             else "The programme has no effect on retention.")
    final = dict(consistent.memo.deterministic) | {"recommendation": claim}
    project = consistent.model_copy(update={"memo": consistent.memo.model_copy(update={"final": final})})
    item = check_claims(project)
    assert item.status == "red" and claim.rstrip(".") in item.detail
    assert f"{primary.ci_low:.4g}" in item.detail and f"{primary.ci_high:.4g}" in item.detail
    assert check_claims(consistent).status == "green"


# ---- counterfactuals about the interval are not claims (the app's own sensitivity sentences) --------------------
COUNTERFACTUALS = [
    "An unmeasured confounder would need a risk ratio of 1.8; to move the 95 % CI to include no effect, at least 1.50.",
    "Confounders explaining 4.9% would bring it to zero; 2.4% would make it statistically insignificant.",
    "A bias of 0.03 would be enough to make the effect not significant.",
    "It needs to be twice as strong to render the estimate non-significant.",
]


@pytest.mark.parametrize("sentence", COUNTERFACTUALS)
@pytest.mark.parametrize("position", list(INTERVALS))
def test_counterfactual_sensitivity_sentences_claim_nothing(sentence, position):
    from causal_core.reporting.consistency import claim_kinds, interval_claim_conflicts

    low, high = INTERVALS[position]
    assert claim_kinds(sentence) == set()
    assert interval_claim_conflicts({"sensitivity": f"{NEUTRAL} {sentence}"}, low, high) == []


@pytest.mark.parametrize("sentence", ["The programme has no effect; it would be cheaper to stop.",
                                      "It would be wise to act: the effect is statistically significant."])
def test_a_claim_beside_a_counterfactual_clause_is_still_read(sentence):
    from causal_core.reporting.consistency import claim_kinds

    assert claim_kinds(sentence) in ({"null"}, {"certain"})
