"""Typed results from estimation to memo (issue 24 item 2): every field declared, nothing guessed.

The fixture tests/fixtures/schema_v1/ was written by the code before this change (commit 36fb9ff): the retention
worked example with a placebo outcome, its project file (schema_version 1, balance inside diagnostics) and the
deterministic memo that code wrote from it. Opening it now must migrate it and give the same memo, word for word.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from causal_core import estimation as est
from causal_core.data.datasets import simulate_retention
from causal_core.data.loading import rebind_data
from causal_core.estimation import sensitivity
from causal_core.memo.deterministic import deterministic_memo
from causal_core.memo.facts import memo_facts, refutation_lines, sensitivity_lines
from causal_core.project import SCHEMA_VERSION, EstimationResult, EstimationSpec, Project
from causal_core.project_file import ProjectFileError, project_from_json, project_to_json
from causal_core.results import (
    BalanceRow,
    Benchmark,
    BenchmarkBound,
    BenchmarkR2,
    EValueResult,
    RefutationVerdict,
    SensemakrResult,
    SensitivityResult,
)

FIXTURES = Path(__file__).parent / "fixtures" / "schema_v1"


def _v1_text() -> str:
    return (FIXTURES / "retention_v1.json").read_text(encoding="utf-8")


# ---- hypothesis: every model survives the project file ------------------------------------------------
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.none() | finite
words = st.text(min_size=0, max_size=30)
balance_rows = st.builds(BalanceRow, covariate=st.text(min_size=1, max_size=20), treated_mean=finite,
                         control_mean=finite, smd_before=finite, weighted_treated_mean=finite,
                         weighted_control_mean=finite, smd_after=finite)
verdicts = st.builds(
    RefutationVerdict,
    test=st.sampled_from(["placebo treatment", "outcome invariance", "random common cause", "data subsets",
                          "placebo outcome", "stopped"]),
    verdict=st.sampled_from(["PASS", "WARN", "NOT RUN"]), sentence=words, method=words, original=maybe,
    observed=maybe, observed_ci=st.none() | st.lists(finite, min_size=2, max_size=2), change=maybe, tolerance=maybe,
    placebo_estimates=st.none() | st.lists(finite, max_size=4), n_used=st.none() | st.integers(0, 10**6),
)
evalues = st.builds(EValueResult, available=st.booleans(), method=words, estimand=st.sampled_from(["ATE", "ATT"]),
                    estimate=maybe, risk_ratio=maybe, rr_ci=st.none() | st.lists(finite, min_size=2, max_size=2),
                    evalue_estimate=maybe, evalue_ci=maybe, sentence=words)
bounds = st.builds(BenchmarkBound, k=st.integers(1, 3), possible=st.booleans(), sentence=words,
                   adjusted_estimate=maybe, adjusted_ci_low=maybe, adjusted_ci_high=maybe)
sensemakrs = st.builds(
    SensemakrResult, estimate=finite, se=finite, t_stat=finite, dof=st.integers(1, 10**6), partial_r2_treatment=finite,
    rv=finite, rv_alpha=finite, rv_sentence=words,
    benchmark_r2=st.dictionaries(st.text(min_size=1, max_size=8), st.builds(BenchmarkR2, r2dxj_x=finite, r2yxj_dx=finite),
                                 max_size=3),
    benchmark=st.none() | st.builds(Benchmark, covariate=st.text(min_size=1, max_size=8),
                                    bounds=st.lists(bounds, max_size=3)),
)
sensitivities = st.builds(SensitivityResult, evalue=st.none() | evalues, sensemakr=st.none() | sensemakrs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balance=st.lists(balance_rows, max_size=4), refutations=st.lists(verdicts, max_size=4), sens=sensitivities)
def test_every_result_model_round_trips_through_the_project_file(balance, refutations, sens):
    result = EstimationResult(spec=EstimationSpec(treatment="t", outcome="y"), balance=balance,
                              refutations=refutations, sensitivity=sens)
    reopened = project_from_json(project_to_json(Project(estimation=result))).estimation
    assert reopened.balance == balance
    assert reopened.refutations == refutations
    assert reopened.sensitivity == sens


# ---- a renamed field fails, it does not empty the memo ---------------------------------------------------
@pytest.fixture(scope="module")
def retention_run():
    frame = simulate_retention(1500, seed=11)
    spec = EstimationSpec(treatment="outreach", outcome="churn", covariates=est.N01_COVARIATES,
                          categorical=est.N01_CATEGORICAL)
    return frame, est.run_estimation(frame, spec, refutations=True)


@pytest.mark.parametrize(
    ("model", "part", "old", "new"),
    [
        (BalanceRow, lambda r: r.balance[0], "smd_before", "smd"),
        (BalanceRow, lambda r: r.balance[0], "covariate", "variable"),
        (RefutationVerdict, lambda r: r.refutations[0], "test", "name"),
        (RefutationVerdict, lambda r: r.refutations[0], "verdict", "status"),
        (EValueResult, lambda r: r.sensitivity.evalue, "evalue_estimate", "e_value"),
        (SensemakrResult, lambda r: r.sensitivity.sensemakr, "rv_sentence", "summary"),
    ],
)
def test_a_renamed_producer_field_fails_validation(retention_run, model, part, old, new):
    record = part(retention_run[1]).model_dump()
    assert model.model_validate(record) == part(retention_run[1])  # the producer's own output validates
    record[new] = record.pop(old)
    with pytest.raises(ValidationError, match=new):
        model.model_validate(record)


def test_a_project_file_with_a_renamed_balance_key_is_refused_not_read_as_no_balance(retention_run):
    payload = json.loads(project_to_json(Project(estimation=retention_run[1])))
    for row in payload["estimation"]["balance"]:
        row["smd"] = row.pop("smd_before")
    with pytest.raises(ProjectFileError, match="estimation.balance.0"):
        project_from_json(json.dumps(payload))


def test_a_renamed_audit_balance_column_fails_in_the_memo():
    """Without an estimation the memo reads the audit's table; a renamed SMD column raises, not "No balance"."""
    project = project_from_json(_v1_text())
    audit = project.data_audit
    renamed = [{("std_mean_difference" if key == "smd" else key): value for key, value in row.items()}
               for row in audit.tables["balance"]]
    broken = project.model_copy(update={"estimation": None, "data_audit": audit.model_copy(
        update={"tables": {"balance": renamed}})})
    with pytest.raises(ValidationError, match="std_mean_difference"):
        memo_facts(broken)


# ---- the memo's key diagnostic against a direct pandas computation --------------------------------------
def _pandas_smd(frame: pd.DataFrame, treatment: str, columns: list[str]) -> pd.Series:
    treated, control = frame[frame[treatment] == 1], frame[frame[treatment] == 0]
    pooled = np.sqrt((treated[columns].var(ddof=1) + control[columns].var(ddof=1)) / 2)
    return (treated[columns].mean() - control[columns].mean()) / pooled


def _shifted_frame(seed: int, shifts: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    t = rng.integers(0, 2, n)
    data = {f"x{i}": rng.normal(size=n) + shift * t for i, shift in enumerate(shifts)}
    y = 0.5 * t + sum(data.values()) + rng.normal(size=n)
    return pd.DataFrame({"t": t, "y": y, **data})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shifts=st.lists(st.floats(-1.2, 1.2), min_size=2, max_size=4))
def test_the_key_diagnostic_names_the_covariate_with_the_largest_smd(seed, shifts):
    frame = _shifted_frame(seed, shifts)
    columns = [f"x{i}" for i in range(len(shifts))]
    spec = EstimationSpec(treatment="t", outcome="y", covariates=columns)
    result = est.run_estimation(frame, spec, sensitivity=False, refutations=False)
    smd = _pandas_smd(frame, "t", columns)
    largest = smd.abs().idxmax()
    diagnostic = memo_facts(Project(treatment="t", outcome="y", estimation=result)).diagnostic
    assert diagnostic.startswith(
        f"Before adjustment the treated and control groups differed most on `{largest}` "
        f"(standardised mean difference {smd[largest]:.3f}); {int((smd.abs() > 0.1).sum())} of {len(columns)} "
        "covariate columns had |SMD| above 0.1."
    )


def test_the_retention_key_diagnostic_matches_pandas(retention_run):
    frame, result = retention_run
    numeric = ["company_size", "tenure_months", "usage_score", "prior_tickets", "health_score"]
    smd = _pandas_smd(frame, "outreach", numeric)
    assert smd.abs().idxmax() == "health_score"
    diagnostic = memo_facts(Project(treatment="outreach", outcome="churn", estimation=result)).diagnostic
    assert f"differed most on `health_score` (standardised mean difference {smd['health_score']:.3f})" in diagnostic


# ---- the schema-1 file: migrated on open, same memo -----------------------------------------------------
def test_a_schema_1_file_opens_migrated_and_gives_the_same_memo():
    assert json.loads(_v1_text())["schema_version"] == 1 and SCHEMA_VERSION == 3
    project = project_from_json(_v1_text())
    result = project.estimation
    assert project.schema_version == 3 and result.diagnostics.n_treated + result.diagnostics.n_control == 6000
    assert [row.covariate for row in result.balance][:2] == ["health_score", "prior_tickets"]
    assert round(result.balance[0].smd_before, 3) == -0.779
    assert result.sensitivity.evalue.estimand == "ATE"  # the migration names the estimate the E-value is about
    aipw = next(row for row in result.estimates if row.method == "aipw")
    assert result.sensitivity.evalue.estimate == aipw.estimate
    assert {item.test for item in result.refutations} >= {"placebo treatment", "placebo outcome"}
    expected = json.loads((FIXTURES / "retention_v1_memo.json").read_text(encoding="utf-8"))
    frame = rebind_data(project)
    assert deterministic_memo(project, frame) == expected
    resaved = project_from_json(project_to_json(project))  # saved again as version 3, reopened
    assert resaved.schema_version == 3 and deterministic_memo(resaved, frame) == expected


def test_a_schema_1_file_without_estimation_reads_the_audit_balance_as_before():
    project = project_from_json(_v1_text()).model_copy(update={"estimation": None})
    expected = json.loads((FIXTURES / "retention_v1_audit_only_memo.json").read_text(encoding="utf-8"))
    assert deterministic_memo(project, None) == expected
    assert "differed most on `health_score` (standardised mean difference -0.779)" in expected["key_diagnostic"]


def test_memo_lines_read_the_typed_fields():
    project = project_from_json(_v1_text())
    lines = sensitivity_lines(project.estimation.sensitivity)
    assert lines[0].startswith("E-value: E-value of the AIPW row (ATE)")
    assert len(lines) == 5 and all(line.startswith("Robustness value (sensemakr): ") for line in lines[1:])
    refutations = refutation_lines(project.estimation.refutations)
    assert refutations[0].startswith("placebo treatment: PASS — Naive difference: with outreach shuffled")
    assert sensitivity_lines(SensitivityResult()) == [] and refutation_lines([]) == []


def test_an_overflowing_evalue_says_so_instead_of_raising():
    """d = 2000 SD: exp(0.91·d) overflows; the E-value is unavailable with the reason, not an OverflowError."""
    out = sensitivity.evalue(2000.0, 1000.0, 3000.0, binary=False, outcome_sd=1.0)
    assert not out.available and "overflows" in out.reason and out.evalue_estimate is None
