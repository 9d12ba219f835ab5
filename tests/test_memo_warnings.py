"""Issue 17 §15: the memo carries the app's own warnings, and contradicting estimators are a consistency failure.

Real numbers: LaLonde's NSW treated + CPS controls (PyPI `causaldata`). With the linear specification the ATE
estimators contradict each other (regression 699 [−516, 1,914] against IPW −7,111 [−9,109, −5,113]); the ATT
estimators agree (regression 699, IPW 1,180, AIPW 1,271, all intervals overlapping). The issue's own case (an
IPW ATT of −23,460 next to an AIPW of +1,242) is checked with the rows as reported.
"""

from __future__ import annotations

import pandas as pd
import pytest

from causal_core import memo
from causal_core.data import analysis_frame, project_for_builtin
from causal_core.estimation import run_estimation
from causal_core.project import EstimateRow, EstimationSpec, Project
from causal_core.reporting.consistency import check_estimators_agree, consistency_checks, overall_status

causaldata = pytest.importorskip("causaldata")
LINEAR = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def nsw_cps() -> pd.DataFrame:
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    return pd.concat([nsw[nsw["treat"] == 1], cps]).drop(columns="data_id").astype(float).reset_index(drop=True)


def _project(frame: pd.DataFrame, estimand: str) -> Project:
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR, estimand=estimand)
    result = run_estimation(frame, spec, sensitivity=False, refutations=False)
    project = Project(
        name="NSW + CPS", brief="Did the NSW job training program raise 1978 earnings?", treatment="treat",
        outcome="re78", estimation=result,
    )
    return memo.with_deterministic_memo(project, frame)


@pytest.fixture(scope="module")
def ate(nsw_cps) -> Project:
    return _project(nsw_cps, "ATE")


@pytest.fixture(scope="module")
def att(nsw_cps) -> Project:
    return _project(nsw_cps, "ATT")


def _rows(project: Project) -> dict[str, EstimateRow]:
    return {row.method: row for row in project.estimation.estimates}


def test_contradicting_ate_estimators_fail_the_rubric_and_turn_the_panel_red(ate, nsw_cps):
    rows = _rows(ate)
    assert round(rows["regression"].estimate) == 699 and round(rows["ipw"].estimate) == -7111
    assert rows["regression"].ci_low > rows["ipw"].ci_high  # the intervals do not overlap
    checks = memo.score_memo(ate.memo.deterministic, ate, nsw_cps)
    agreement = next(c for c in checks if c.name == "estimators_agree")
    assert not agreement.passed and "regression adjustment ATE 699.13" in agreement.reason
    assert sum(c.passed for c in checks) < len(checks)  # never full marks
    item = check_estimators_agree(ate)
    assert item.status == "red" and "IPW ATE -7111.13 units (95% interval -9108.88 to -5113.38 units)" in item.detail
    assert overall_status(consistency_checks(ate)) == "red"


def test_the_memo_says_the_estimators_disagree(ate):
    sections = ate.memo.deterministic
    assert "The estimators disagree beyond their 95% intervals: regression adjustment ATE 699.13" in sections[
        "key_diagnostic"
    ]
    assert sections["recommendation"].startswith("Do not act on a single estimate")
    assert "no single number here should be read as the effect" in sections["interpretation"]
    assert "Estimators disagree beyond their 95% intervals" in sections["warnings"]


def test_agreeing_att_estimators_pass(att, nsw_cps):
    rows = _rows(att)
    assert (round(rows["ipw"].estimate), round(rows["aipw"].estimate)) == (1180, 1271)
    checks = memo.score_memo(att.memo.deterministic, att, nsw_cps)
    assert "estimators_agree" not in [c.name for c in checks]
    assert [c.name for c in checks if not c.passed] == []
    assert check_estimators_agree(att).status == "green"


def test_the_issue_s_ipw_minus_23460_next_to_aipw_1242(att, nsw_cps):
    """The reported table: IPW ATT −23,460 (SE 4,800) and AIPW +1,242 [−26, 2,510] must not score full marks."""
    rows = [r for r in att.estimation.estimates if r.method not in ("ipw", "aipw")] + [
        EstimateRow(method="ipw", estimand="ATT", estimate=-23460.0, std_error=4800.0, ci_low=-32868.0,
                    ci_high=-14052.0, n_used=16177, se_type="influence function"),
        EstimateRow(method="aipw", estimand="ATT", estimate=1242.0, std_error=647.0, ci_low=-26.0, ci_high=2510.0,
                    n_used=16177, se_type="influence function"),
    ]
    broken = att.model_copy(update={"estimation": att.estimation.model_copy(update={"estimates": rows})})
    broken = memo.with_deterministic_memo(broken, nsw_cps)
    checks = memo.score_memo(broken.memo.deterministic, broken, nsw_cps)
    assert [c.name for c in checks if not c.passed] == ["estimators_agree"]
    assert "IPW ATT -23460.00" in next(c.reason for c in checks if not c.passed)
    assert overall_status(consistency_checks(broken)) == "red"


def test_estimation_warnings_reach_the_memo(ate):
    """Poor overlap, as the estimation reported it, verbatim in the memo's Warnings."""
    warnings = ate.estimation.warnings
    assert any(w.startswith("Poor overlap: 94.3% of rows have an estimated propensity outside") for w in warnings)
    for warning in warnings:
        assert warning in ate.memo.deterministic["warnings"]
    assert "The analysis raised" in ate.memo.deterministic["key_diagnostic"]


def test_trimming_statement_reaches_the_memo(nsw_cps):
    spec = EstimationSpec(treatment="treat", outcome="re78", covariates=LINEAR, estimand="ATE", trim="crump")
    result = run_estimation(nsw_cps, spec, sensitivity=False, refutations=False)
    project = memo.with_deterministic_memo(Project(name="t", estimation=result), nsw_cps)
    statement = next(w for w in result.warnings if w.startswith("Trimming by Crump"))
    assert statement in project.memo.deterministic["warnings"]


def test_dedup_clustering_guardrails_and_dropped_rows_reach_the_memo():
    """support: de-duplicated on (team_id, week_start), clustered on team_id, a guardrail outcome named in the
    brief, and an outcome with missing values (rows dropped)."""
    project, raw = project_for_builtin("support")
    project = project.model_copy(update={"dedup": "keep_first"})
    frame = analysis_frame(project, raw)
    assert len(raw) - len(frame) == 8  # the duplicated unit-weeks
    frame = frame.assign(human_handled_hours=frame["human_handled_hours"].mask(frame.index % 50 == 0))
    spec = EstimationSpec(treatment="assistant_enabled", outcome="human_handled_hours",
                          covariates=["team_readiness", "manager_priority"], cluster="team_id")
    result = run_estimation(frame, spec, sensitivity=False, refutations=False)
    project = memo.with_deterministic_memo(project.model_copy(update={"estimation": result}), frame)
    warnings = project.memo.deterministic["warnings"]
    dropped = next(count for reason, count in result.dropped.items() if "outcome" in reason)
    assert dropped == 26
    assert f"{dropped} rows dropped before estimation:" in warnings
    assert "Rows were de-duplicated on `team_id`, `week_start` (first row kept per unit)" in warnings
    assert "the raw data had 1,268 rows" in warnings
    clusters = result.diagnostics.n_clusters
    assert f"Standard errors are clustered on `team_id` ({clusters} clusters)." in warnings
    assert (
        "The guardrail outcome named in the brief was not estimated here: `customer_satisfaction_score`. Check it "
        "before scaling the decision." in warnings
    )
    checks = memo.score_memo(project.memo.deterministic, project, frame)
    assert [c.name for c in checks if not c.passed and c.name != "estimators_agree"] == []


def test_unclustered_estimate_on_a_clustered_project_is_flagged():
    project, raw = project_for_builtin("support")
    spec = EstimationSpec(treatment="assistant_enabled", outcome="human_handled_hours", covariates=["team_readiness"])
    result = run_estimation(raw, spec, sensitivity=False, refutations=False)
    sections = memo.deterministic_memo(project.model_copy(update={"estimation": result}), raw)
    assert "names `team_id` as the cluster column, but the estimation did not cluster" in sections["warnings"]
